package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/scopegate/scopegate/cloudassembly"
	"github.com/scopegate/scopegate/contract"
)

var localLimit = flag.Duration("local-limit", 10*time.Minute, "bound on the whole local section (bin/local is stopped when it passes)")

// The local section's sizes.
const (
	localStarts = 5   // timed starts of bin/local, after one warm-up start
	localWarmup = 20  // requests of each method before the timed ones
	localRuns   = 300 // timed GETs, then as many POSTs
	// localStack and localClient: the seed walkthrough's stack and client.
	localStack  = "WeatherEvents"
	localClient = "weather-service"
)

// localRows measures make local: how long bin/local takes to be ready to
// serve on a synthesized assembly with warm caches (the function builds
// under its state directory and Go's build cache), and the latency of GET /
// and POST / through the local token check, authorizer, function and
// dynalite with a cached token. bin/local is stopped by its pid (SIGTERM,
// which stops dynalite and the functions) before it returns, on errors, on
// Ctrl-C and when -local-limit passes.
func localRows() []row {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeoutCause(ctx, *localLimit, fmt.Errorf("the section ran past -local-limit %v", *localLimit))
	defer cancel()
	rows, err := measureLocal(ctx)
	if err != nil {
		fail("local: " + err.Error())
	}
	return rows
}

func measureLocal(ctx context.Context) ([]row, error) {
	// What make local runs, on an assembly of the bench's own (the user's
	// cdk.out is left alone).
	if _, err := tryRun([]string{"make", "bin/scopegate", "bin/local", "node_modules/.package-lock.json"}, nil); err != nil {
		return nil, err
	}
	assembly, err := filepath.Abs(filepath.Join(*outDir, "cdk.out-local"))
	if err != nil {
		return nil, err
	}
	if _, err := tryRun([]string{cdkCLI, "synth", "--quiet", "--app", "bin/scopegate", "-o", assembly}, nil); err != nil {
		return nil, err
	}
	state := filepath.Join(*outDir, "local-state")
	// The warm-up start builds the functions for this machine into the state
	// directory; the timed ones find them there.
	warm, err := startLocal(ctx, assembly, state)
	if err != nil {
		return nil, err
	}
	warm.stop()
	var ready, reported []time.Duration
	var last *localRun
	for i := range localStarts {
		r, err := startLocal(ctx, assembly, state)
		if err != nil {
			return nil, err
		}
		ready, reported = append(ready, r.ready), append(reported, r.reported)
		if i < localStarts-1 {
			r.stop()
		} else {
			last = r
		}
	}
	defer last.stop()
	startCmd := fmt.Sprintf("bin/local -assembly %s -port-base 0 -state %s -quiet", filepath.Join(*outDir, "cdk.out-local"), state)
	rows := []row{{
		"make local: ready to serve, warm",
		fmt.Sprintf("median %s (min %s, max %s; bin/local's own \"ready in\" median %s; target <= 5 s)",
			ms(percentile(ready, 50)), ms(slices.Min(ready)), ms(slices.Max(ready)), ms(percentile(reported, 50))),
		fmt.Sprintf("%s, from exec to its \"ready in\" line; %d starts after one warm-up start (function builds cached in the state directory)", startCmd, localStarts),
	}}

	api, creds, err := last.walkthroughClient()
	if err != nil {
		return nil, err
	}
	// The stage's throttle caps the rate for all clients together (and
	// make local applies it): the requests are paced just under it, so
	// what is timed is a request's latency, not a 429.
	rate, err := stageRate(assembly)
	if err != nil {
		return nil, err
	}
	var pace time.Duration
	if rate > 0 {
		pace = time.Duration(float64(time.Second) / rate * 1.1)
	}
	token, err := localToken(ctx, creds)
	if err != nil {
		return nil, err
	}
	for _, m := range []struct {
		method string
		status int
		body   func(i int) string
	}{
		{"GET", http.StatusOK, func(int) string { return "" }},
		{"POST", http.StatusCreated, func(i int) string {
			return fmt.Sprintf(`{"name":"bench event %d","dateStart":"2022-02-16","dateEnd":"2022-02-21"}`, i)
		}},
	} {
		began := time.Now()
		for i := range localWarmup {
			time.Sleep(time.Until(began.Add(time.Duration(i) * pace)))
			if _, err := localCall(ctx, m.method, api, token, m.body(-1-i), m.status); err != nil {
				return nil, err
			}
		}
		var samples []time.Duration
		began = time.Now()
		for i := range localRuns {
			time.Sleep(time.Until(began.Add(time.Duration(i) * pace)))
			d, err := localCall(ctx, m.method, api, token, m.body(i), m.status)
			if err != nil {
				return nil, err
			}
			samples = append(samples, d)
		}
		value := fmt.Sprintf("p50 %s, p99 %s (max %s; target p99 < 20 ms)", ms(percentile(samples, 50)), ms(percentile(samples, 99)), ms(slices.Max(samples)))
		fmt.Fprintf(os.Stderr, "bench: local: %s /: %s\n", m.method, value)
		rows = append(rows, row{"make local: " + m.method + " / through token check, authorizer, function and dynalite", value,
			fmt.Sprintf("%d sequential %ss to %s's ApiUrl, one every %s (under the stage's throttle of %v/s), with one cached %s token after %d not timed, on the bin/local above (the POSTs add events: GET runs first, on %d)",
				localRuns, m.method, localStack, ms(pace), rate, localClient, localWarmup, localWarmup)})
	}
	return rows, nil
}

// stageRate is the ThrottlingRateLimit of localStack's stage for every
// method ("*" on "/*"); 0 for none.
func stageRate(assembly string) (float64, error) {
	a, err := cloudassembly.Read(assembly, []string{localStack})
	if err != nil {
		return 0, err
	}
	for _, t := range a.Stacks[0].Templates {
		for _, id := range t.IDs() {
			r := t.Resources[id]
			if r.Type != "AWS::ApiGateway::Stage" {
				continue
			}
			settings, _ := r.Properties["MethodSettings"].([]any)
			for _, s := range settings {
				m, _ := s.(map[string]any)
				if rate, ok := m["ThrottlingRateLimit"].(float64); ok && m["HttpMethod"] == "*" && m["ResourcePath"] == "/*" {
					return rate, nil
				}
			}
		}
	}
	return 0, nil
}

// localRun is one running bin/local.
type localRun struct {
	cmd      *exec.Cmd
	state    string
	ready    time.Duration // exec to its "ready in" line
	reported time.Duration // what that line says
	exited   chan struct{}
}

// startLocal starts bin/local on free ports and waits for its "ready in"
// line.
func startLocal(ctx context.Context, assembly, state string) (*localRun, error) {
	cmd := exec.Command("bin/local", "-assembly", assembly, "-port-base", "0", "-state", state, "-quiet")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := &localRun{cmd: cmd, state: state, exited: make(chan struct{})}
	// Buffered past what bin/local prints before it is ready, so the reader
	// never blocks once nobody listens; after that line, the rest of its
	// output is drained.
	lines := make(chan string, 4096)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
			if strings.HasPrefix(sc.Text(), "ready in ") {
				break
			}
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { _ = cmd.Wait(); close(r.exited) }()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				<-r.exited
				return nil, fmt.Errorf("bin/local exited before it was ready: %s", strings.TrimSpace(stderr.String()))
			}
			if rest, found := strings.CutPrefix(line, "ready in "); found {
				r.ready = time.Since(began)
				took, _, _ := strings.Cut(rest, ";")
				if r.reported, err = time.ParseDuration(took); err != nil {
					r.stop()
					return nil, fmt.Errorf("bin/local's line %q: %w", line, err)
				}
				return r, nil
			}
		case <-ctx.Done():
			r.stop()
			return nil, context.Cause(ctx)
		}
	}
}

// stop ends bin/local by its pid with SIGTERM (it stops dynalite and the
// functions by theirs) and waits for it.
func (r *localRun) stop() {
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// walkthroughClient reads the walkthrough's API URL and client secret from
// the files bin/local wrote, as a client would.
func (r *localRun) walkthroughClient() (string, contract.ClientSecret, error) {
	var outputs map[string]map[string]string
	var secrets map[string]contract.ClientSecret
	for file, into := range map[string]any{contract.LocalOutputsFile: &outputs, contract.LocalSecretsFile: &secrets} {
		data, err := os.ReadFile(filepath.Join(r.state, file))
		if err != nil {
			return "", contract.ClientSecret{}, err
		}
		if err := json.Unmarshal(data, into); err != nil {
			return "", contract.ClientSecret{}, fmt.Errorf("%s: %w", file, err)
		}
	}
	var records []contract.ClientRecord
	if err := json.Unmarshal([]byte(outputs[localStack][contract.Clients(contract.DefaultAuthPrefix)]), &records); err != nil {
		return "", contract.ClientSecret{}, fmt.Errorf("%s's clients output: %w", localStack, err)
	}
	for _, c := range records {
		if c.Name == localClient {
			return outputs[localStack][contract.APIURL], secrets[c.SecretArn], nil
		}
	}
	return "", contract.ClientSecret{}, fmt.Errorf("%s has no client %s", localStack, localClient)
}

func localToken(ctx context.Context, creds contract.ClientSecret) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, creds.TokenURL, strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(creds.ClientID, creds.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("token endpoint answered %s", resp.Status)
	}
	return body.AccessToken, nil
}

// localCall times one call and checks its status.
func localCall(ctx context.Context, method, u, token, body string, want int) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(began)
	if resp.StatusCode != want {
		return 0, errors.New(method + " " + u + ": " + resp.Status + " " + strings.TrimSpace(string(answer)))
	}
	return took, nil
}
