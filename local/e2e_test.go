package local

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/config"
	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
	"github.com/scopegate/scopegate/internal/verify"
	"github.com/scopegate/scopegate/stacks"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

var (
	synthOnce sync.Once
	assembly  string
	synthErr  string
)

// The stacks of the shared assembly: the two of make synth, and
// WeatherEvents with rate-limit tiers and a suspended client.
var (
	seedStacks   = []string{"WeatherEvents", "ThirdPartyProxy"}
	tieredStacks = []string{"WeatherEventsTiered"}
)

// bronzeRate and bronzeBurst are cdktest.TieredWeatherConfig's bronze tier.
const (
	bronzeRate  = 5.0
	bronzeBurst = 10
)

// synth synthesizes the package's stacks once, in one app, as make synth
// does them (the project's cdk.json), without bundling: make local builds
// the functions from their source.
func synth(t *testing.T) string {
	t.Helper()
	synthOnce.Do(func() {
		dir, err := os.MkdirTemp("", "scopegate-local-*")
		if err != nil {
			synthErr = err.Error()
			return
		}
		synthErr = cdktest.Recover(func() {
			ctx := cdktest.ProjectContext()
			ctx["aws:cdk:bundling-stacks"] = []string{}
			app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(dir)})
			stacks.NewWeatherEventsStack(app, "WeatherEvents", nil)
			stacks.NewThirdPartyProxyStack(app, "ThirdPartyProxy", nil)
			cfg, err := config.Read(cdktest.TieredWeatherConfig)
			if err != nil {
				panic(err)
			}
			tiered, _, err := cfg.StackProps()
			if err != nil {
				panic(err)
			}
			stacks.NewWeatherEventsStack(app, tieredStacks[0], tiered)
			app.Synth(nil)
		})
		assembly = dir
	})
	if synthErr != "" {
		t.Fatal("synthesis failed:", synthErr)
	}
	return assembly
}

// start runs the seed stacks of the shared assembly.
func start(t *testing.T) *Emulator { t.Helper(); return startStacks(t, t.TempDir(), seedStacks) }

// startStacks runs some stacks of the shared assembly with state in dir (a
// second run in the same dir reuses the function builds).
func startStacks(t *testing.T, dir string, names []string) *Emulator {
	t.Helper()
	e, err := Start(context.Background(), Options{Assembly: synth(t), StateDir: dir, Stacks: names})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

func token(t *testing.T, tokenURL string, creds contract.ClientSecret, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(creds.ClientID, creds.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func call(t *testing.T, method, u, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = strings.NewReader("").WriteTo(b)
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	return resp.StatusCode, string(buf[:n])
}

// clientOf finds a client's local secret through the stack's outputs, as a
// consumer would: AuthClients names the secret, secrets.json holds it.
func clientOf(t *testing.T, e *Emulator, stack, name string) contract.ClientSecret {
	t.Helper()
	var clients []contract.ClientRecord
	if err := json.Unmarshal([]byte(e.Outputs[stack][contract.Clients(contract.DefaultAuthPrefix)]), &clients); err != nil {
		t.Fatalf("%s clients output: %v", stack, err)
	}
	for _, c := range clients {
		if c.Name == name {
			return e.Secrets[c.SecretArn]
		}
	}
	t.Fatalf("%s has no client %s", stack, name)
	return contract.ClientSecret{}
}

// The seed walkthrough, as a client runs it against make local, then the
// verifier's whole matrix against the local outputs, for both stacks.
func TestWalkthrough(t *testing.T) {
	e := start(t)
	api := e.Outputs["WeatherEvents"][contract.APIURL]
	creds := clientOf(t, e, "WeatherEvents", "weather-service")
	if creds.TokenURL != e.Outputs["WeatherEvents"][contract.TokenURL(contract.DefaultAuthPrefix)] || !strings.HasPrefix(creds.TokenURL, "http://127.0.0.1:") {
		t.Fatalf("secret's token_url %q is not the local token endpoint", creds.TokenURL)
	}
	status, body := token(t, creds.TokenURL, creds, "")
	if status != 200 {
		t.Fatalf("token: %d %v", status, body)
	}
	full := body["access_token"].(string)
	if s, b := call(t, "GET", api, full, ""); s != 200 || !strings.Contains(b, `"events"`) {
		t.Errorf("GET / = %d %s, want 200 with events", s, b)
	}
	if s, b := call(t, "POST", api, full, `{"name":"Storms Dudley, Eunice and Franklin","dateStart":"2022-02-16","dateEnd":"2022-02-21"}`); s != 201 {
		t.Errorf("POST / = %d %s, want 201", s, b)
	}
	if s, b := call(t, "GET", api, full, ""); s != 200 || !strings.Contains(b, "Dudley") {
		t.Errorf("GET / after POST = %d %s, want the stored event (dynalite)", s, b)
	}
	if s, b := call(t, "POST", api, full, `{"name":"no dates"}`); s != 400 || !strings.Contains(b, "invalid_body") {
		t.Errorf("POST / without dates = %d %s, want the validator's 400", s, b)
	}
	// DELETE: refused at the token endpoint, and at the gateway for a token
	// without the scope.
	if status, body := token(t, creds.TokenURL, creds, "weather-api/delete"); status != 400 || body["error"] != "invalid_scope" {
		t.Errorf("token for weather-api/delete = %d %v, want 400 invalid_scope", status, body)
	}
	status, body = token(t, creds.TokenURL, creds, "weather-api/post")
	if status != 200 {
		t.Fatalf("token for weather-api/post: %d %v", status, body)
	}
	postOnly := body["access_token"].(string)
	if s, b := call(t, "DELETE", api+"some-id", postOnly, ""); s != 401 || !strings.Contains(b, `"unauthorized"`) {
		t.Errorf("DELETE /{id} = %d %s, want the UNAUTHORIZED gateway response", s, b)
	}
	if s, _ := call(t, "GET", api, postOnly, ""); s != 401 {
		t.Errorf("GET / with a post-only token = %d, want 401", s)
	}
	// Another pool's token is refused too.
	proxyCreds := clientOf(t, e, "ThirdPartyProxy", "ThirdPartyAppClient")
	if _, b := token(t, proxyCreds.TokenURL, proxyCreds, ""); b["access_token"] != nil {
		if s, _ := call(t, "GET", api, b["access_token"].(string), ""); s != 401 {
			t.Errorf("GET / with another pool's token = %d, want 401", s)
		}
	}
	for _, stack := range []string{"WeatherEvents", "ThirdPartyProxy"} {
		l, err := verify.ReadLocal(filepath.Dir(e.OutputsFile))
		if err != nil {
			t.Fatal(err)
		}
		report, err := (&verify.Verifier{CloudFormation: l, SecretsManager: l}).Run(context.Background(), stack)
		if err != nil {
			t.Fatalf("verify %s: %v", stack, err)
		}
		if report.Mismatches != 0 || len(report.Rows) == 0 {
			var b strings.Builder
			_ = report.WriteTable(&b)
			t.Errorf("verify %s: %d mismatches\n%s", stack, report.Mismatches, b.String())
		}
	}
	for _, line := range []string{"AWS::IAM::Role", "AWS::Lambda::Function: no API method reaches it", "AWS::CloudWatch::Dashboard: no CloudWatch locally", "AWS::CloudWatch::InsightRule: no Contributor Insights locally"} {
		if !strings.Contains(strings.Join(e.NotEmulated, "\n"), line) {
			t.Errorf("the not-emulated list lacks %q", line)
		}
	}
}

// Stop ends every process Start started; a second run on the same ports
// names the process that holds them.
func TestStopAndBusyPorts(t *testing.T) {
	e := start(t)
	pids := e.Pids()
	if len(pids) < 2 {
		t.Fatalf("pids = %v, want dynalite and the functions", pids)
	}
	ep := e.Endpoints[0].URL
	port := strings.Split(strings.TrimPrefix(ep, "http://127.0.0.1:"), "/")[0]
	_, err := Start(context.Background(), Options{Assembly: synth(t), StateDir: t.TempDir(), Stacks: seedStacks, PortBase: atoi(port)})
	if err == nil || !strings.Contains(err.Error(), "port "+port) || !strings.Contains(err.Error(), "pid ") {
		t.Errorf("a second start on held ports: %v; want the port and its holder's pid", err)
	}
	e.Stop()
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
}
