package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/local"
)

// localToken asks the local token endpoint for a token: its status and
// body.
func localToken(t *testing.T, creds contract.ClientSecret, scope string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, err := http.NewRequest(http.MethodPost, creds.TokenURL, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(creds.ClientID, creds.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func localCall(t *testing.T, method, u, token string) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// buildVerifier builds scopegate's cmd/verify into dir, from wherever the
// scopegate module is (this repository, through go.mod's replace): internal/
// is not importable from this module, the command is.
func buildVerifier(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/scopegate/scopegate").Output()
	require.NoError(t, err, "go list -m github.com/scopegate/scopegate")
	bin := filepath.Join(dir, "verify")
	build := exec.Command("go", "build", "-o", bin, "./cmd/verify")
	build.Dir = strings.TrimSpace(string(out))
	msg, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./cmd/verify: %s", msg)
	return bin
}

// The consumer's app runs under make local's emulator from its own cloud
// assembly: tokens from its user pool, its routes through the Cognito
// authorizer to its own function (built from this module), and scopegate's
// verifier, in -local mode, finds its whole access matrix as configured.
func TestLocally(t *testing.T) {
	_, assembly := orders(t)
	e, err := local.Start(context.Background(), local.Options{Assembly: assembly, StateDir: t.TempDir()})
	require.NoError(t, err)
	defer e.Stop()

	outputs := e.Outputs["Orders"]
	api := strings.TrimSuffix(outputs[contract.APIURL], "/")
	require.True(t, strings.HasPrefix(api, "http://127.0.0.1:"), "ApiUrl output %q is not local", api)
	var records []contract.ClientRecord
	require.NoError(t, json.Unmarshal([]byte(outputs[contract.Clients(contract.DefaultAuthPrefix)]), &records))
	creds := map[string]contract.ClientSecret{}
	for _, r := range records {
		creds[r.Name] = e.Secrets[r.SecretArn]
	}
	require.Contains(t, creds, "billing")
	require.Contains(t, creds, "fulfilment")

	status, body := localToken(t, creds["fulfilment"], "")
	require.Equal(t, 200, status, "fulfilment's token: %v", body)
	fulfilment := body["access_token"].(string)
	for _, method := range []string{"GET", "POST"} {
		status, answer := localCall(t, method, api+"/orders", fulfilment)
		assert.Equal(t, 200, status, "fulfilment %s /orders: %v", method, answer)
		assert.Equal(t, creds["fulfilment"].ClientID, answer["client"], "the function sees the token's client_id")
		assert.Equal(t, method+" /orders", answer["route"], "the function sees the method and resource path")
	}

	status, body = localToken(t, creds["billing"], "orders/write")
	assert.Equal(t, 400, status)
	assert.Equal(t, "invalid_scope", body["error"], "billing may not have orders/write")
	status, body = localToken(t, creds["billing"], "")
	require.Equal(t, 200, status, "billing's token: %v", body)
	billing := body["access_token"].(string)
	status, _ = localCall(t, "GET", api+"/orders", billing)
	assert.Equal(t, 200, status, "billing GET /orders")
	status, _ = localCall(t, "POST", api+"/orders", billing)
	assert.Equal(t, 401, status, "billing POST /orders: the authorizer refuses a token without orders/write")
	status, _ = localCall(t, "GET", api+"/orders", "not-a-token")
	assert.Equal(t, 401, status, "a bad token")

	verifier := buildVerifier(t, t.TempDir())
	out, err := exec.Command(verifier, "-local", filepath.Dir(e.OutputsFile), "-stack", "Orders").CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("bin/verify -local exited %d:\n%s", exit.ExitCode(), out)
	}
	require.NoError(t, err)
	assert.Contains(t, string(out), "billing")
	assert.Contains(t, string(out), "fulfilment")
}
