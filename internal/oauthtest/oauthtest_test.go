package oauthtest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/oauthtest"
	"github.com/scopegate/scopegate/routetable"
)

func token(t *testing.T, s *oauthtest.TokenServer, id, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Add-new, both accepted, retire-old: as Cognito's client secrets.
func TestSecretRotation(t *testing.T) {
	s := oauthtest.NewTokenServer(map[string]oauthtest.Client{"c": {Secret: "one", Scopes: []string{"api/get"}}})
	defer s.Close()
	require.NoError(t, s.AddSecret("c", "two"))
	for _, secret := range []string{"one", "two"} {
		status, _ := token(t, s, "c", secret)
		assert.Equal(t, http.StatusOK, status, secret)
	}
	assert.ErrorContains(t, s.AddSecret("c", "three"), `client "c" already has 2 secrets`)
	assert.ErrorContains(t, s.AddSecret("c", "two"), "already has 2 secrets")
	assert.ErrorContains(t, s.AddSecret("nobody", "x"), `no client "nobody"`)

	require.NoError(t, s.RetireSecret("c", "one"))
	status, body := token(t, s, "c", "one")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `"error":"invalid_client"`)
	status, _ = token(t, s, "c", "two")
	assert.Equal(t, http.StatusOK, status)
	assert.ErrorContains(t, s.RetireSecret("c", "two"), "the last secret")
	assert.ErrorContains(t, s.RetireSecret("c", "one"), "no such secret")
	assert.ErrorContains(t, s.AddSecret("c", "two"), "already has that secret")
}

// A client that must send an API key gets API Gateway's 403 without it.
func TestRequireAPIKey(t *testing.T) {
	s := oauthtest.NewTokenServer(map[string]oauthtest.Client{
		"keyed": {Secret: "s", Scopes: []string{"api/get"}},
		"free":  {Secret: "s", Scopes: []string{"api/get"}},
	})
	defer s.Close()
	api := oauthtest.NewAPI(routetable.Table{{Method: "GET", Path: "/", Scopes: []string{"api/get"}}}, s)
	defer api.Close()
	api.RequireAPIKey("keyed", "k")

	call := func(client, key string) (int, string, string) {
		_, body := token(t, s, client, "s")
		tok := strings.Split(strings.Split(body, `"access_token":"`)[1], `"`)[0]
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if key != "" {
			req.Header.Set("x-api-key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("WWW-Authenticate")
	}
	status, body, challenge := call("keyed", "")
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, `{"message":"Forbidden"}`, body)
	assert.Empty(t, challenge)
	status, _, _ = call("keyed", "wrong")
	assert.Equal(t, http.StatusForbidden, status)
	status, _, _ = call("keyed", "k")
	assert.Equal(t, http.StatusOK, status)
	status, _, _ = call("free", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"", "wrong", "k", ""}, []string{api.Received()[0].APIKey, api.Received()[1].APIKey, api.Received()[2].APIKey, api.Received()[3].APIKey})

	api.RequireAPIKey("keyed", "")
	status, _, _ = call("keyed", "")
	assert.Equal(t, http.StatusOK, status)
}
