package local

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/verify"
)

// callKeyed is call with the client's API key in x-api-key ("" for none).
func callKeyed(t *testing.T, method, u, tok, key, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func accessToken(t *testing.T, creds contract.ClientSecret) string {
	t.Helper()
	status, body := token(t, creds.TokenURL, creds, "")
	tok, _ := body["access_token"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("token for %s: %d %v", creds.ClientID, status, body)
	}
	return tok
}

// The tiered configuration end to end: every client's secret carries its
// API key, calls need it, a bronze client is throttled past its tier's
// burst, the suspended client gets no token and its key is disabled, and
// the verifier's matrix holds on the local outputs. Then, in a second run
// (a fresh function, which has read nobody's suspension yet), an item put
// in the suspended-clients table refuses that client's calls.
func TestTiered(t *testing.T) {
	stack := tieredStacks[0]
	state := t.TempDir()
	t.Run("walkthrough", func(t *testing.T) {
		e := startStacks(t, state, tieredStacks)
		defer e.Stop()
		api := e.Outputs[stack][contract.APIURL]
		service := clientOf(t, e, stack, "weather-service")
		if service.APIKey == "" || service.APIKeyID == "" {
			t.Fatalf("weather-service's local secret has no api_key/api_key_id: %+v", service)
		}
		tok := accessToken(t, service)
		if s, b := callKeyed(t, "GET", api, tok, service.APIKey, ""); s != 200 {
			t.Errorf("GET / with the key = %d %s, want 200", s, b)
		}
		if s, b := callKeyed(t, "POST", api, tok, service.APIKey, `{"name":"Storm Ciarán","dateStart":"2023-11-01","dateEnd":"2023-11-03"}`); s != 201 {
			t.Errorf("POST / with the key = %d %s, want 201", s, b)
		}
		if s, b := callKeyed(t, "GET", api, tok, "", ""); s != 403 {
			t.Errorf("GET / without a key = %d %s, want 403", s, b)
		}
		retired := clientOf(t, e, stack, "retired")
		if status, body := token(t, retired.TokenURL, retired, ""); status != 400 || body["error"] != "unauthorized_client" {
			t.Errorf("token for the suspended client = %d %v, want 400 unauthorized_client", status, body)
		}
		if retired.APIKey == "" {
			t.Fatal("the suspended client's secret has no api_key")
		}
		if s, b := callKeyed(t, "GET", api, tok, retired.APIKey, ""); s != 403 || !strings.Contains(b, "Forbidden") {
			t.Errorf("GET / with the suspended client's (disabled) key = %d %s, want 403", s, b)
		}

		l, err := verify.ReadLocal(filepath.Dir(e.OutputsFile))
		if err != nil {
			t.Fatal(err)
		}
		report, err := (&verify.Verifier{CloudFormation: l, SecretsManager: l}).Run(context.Background(), stack)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if report.Mismatches != 0 || len(report.Rows) == 0 {
			var b strings.Builder
			_ = report.WriteTable(&b)
			t.Errorf("verify: %d mismatches\n%s", report.Mismatches, b.String())
		}

		// janitor is bronze: 10 at once, then 5 a second. Past the burst
		// (and what the rate refilled meanwhile) comes THROTTLED 429.
		janitor := clientOf(t, e, stack, "janitor")
		jtok := accessToken(t, janitor)
		began := time.Now()
		passed, throttled := 0, false
		for i := 0; i < 4*bronzeBurst && !throttled; i++ {
			switch s, b := callKeyed(t, "GET", api, jtok, janitor.APIKey, ""); s {
			case 200:
				passed++
			case 429:
				throttled = true
				if !strings.Contains(b, "Too Many Requests") {
					t.Errorf("429 body %s", b)
				}
			default:
				t.Fatalf("janitor GET / = %d %s", s, b)
			}
		}
		// The bucket may have started part-empty (the verifier's calls) and
		// refilled at the rate while these ran.
		most := bronzeBurst + int(time.Since(began).Seconds()*bronzeRate) + 1
		if !throttled || passed > most {
			t.Errorf("janitor: %d passed, throttled %v; want a 429 after at most %d (bronze: burst %d, rate %v/s)", passed, throttled, most, bronzeBurst, bronzeRate)
		}
	})
	t.Run("suspended without a deploy", func(t *testing.T) {
		e := startStacks(t, state, tieredStacks)
		defer e.Stop()
		api := e.Outputs[stack][contract.APIURL]
		table := e.Outputs[stack][contract.SuspendedClientsTable(contract.DefaultAuthPrefix)]
		if table == "" {
			t.Fatalf("no %s output", contract.SuspendedClientsTable(contract.DefaultAuthPrefix))
		}
		service, reporting := clientOf(t, e, stack, "weather-service"), clientOf(t, e, stack, "reporting")
		if s, b := callKeyed(t, "GET", api, accessToken(t, service), service.APIKey, ""); s != 200 {
			t.Fatalf("weather-service GET / = %d %s, want 200", s, b)
		}
		// What bin/clients suspend writes: an item keyed by the client id.
		_, err := e.dynamo.Client().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table),
			Item: map[string]types.AttributeValue{
				contract.SuspensionKey: &types.AttributeValueMemberS{Value: reporting.ClientID},
				"clientName":           &types.AttributeValueMemberS{Value: "reporting"},
				"reason":               &types.AttributeValueMemberS{Value: "local test"},
			}})
		if err != nil {
			t.Fatalf("put the suspension: %v", err)
		}
		rtok := accessToken(t, reporting) // its token is still issued: only the function reads the table
		if s, b := callKeyed(t, "GET", api, rtok, reporting.APIKey, ""); s != 403 || !strings.Contains(b, "access_denied") {
			t.Errorf("reporting GET / after its suspension = %d %s, want the function's 403 access_denied", s, b)
		}
		if s, b := callKeyed(t, "GET", api, accessToken(t, service), service.APIKey, ""); s != 200 {
			t.Errorf("weather-service GET / after reporting's suspension = %d %s, want 200", s, b)
		}
	})
}
