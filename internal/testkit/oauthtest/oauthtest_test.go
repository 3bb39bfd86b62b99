package oauthtest_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/oauthtest"
	"github.com/scopegate/scopegate/routetable"
)

func token(t *testing.T, s *oauthtest.TokenServer, id, secret string) (int, string) {
	t.Helper()
	return tokenFor(t, s, id, secret, "")
}

// tokenFor requests a token for scope ("" for every scope of the client).
func tokenFor(t *testing.T, s *oauthtest.TokenServer, id, secret, scope string) (int, string) {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	req, _ := http.NewRequest(http.MethodPost, s.TokenURL(), strings.NewReader(form.Encode()))
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
	status, body, _ = call("keyed", "wrong")
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, body, `"error":"invalid_api_key"`)
	status, _, _ = call("keyed", "k")
	assert.Equal(t, http.StatusOK, status)
	status, _, _ = call("free", "")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, []string{"", "wrong", "k", ""}, []string{api.Received()[0].APIKey, api.Received()[1].APIKey, api.Received()[2].APIKey, api.Received()[3].APIKey})

	api.RequireAPIKey("keyed", "")
	status, _, _ = call("keyed", "")
	assert.Equal(t, http.StatusOK, status)
}

// A scope miss is the same 401 as a bad token, as API Gateway's Cognito
// authorizer answers it ("Integrate a REST API with an Amazon Cognito user
// pool"), and its answer does not call the token invalid.
func TestScopeMissIs401LikeABadToken(t *testing.T) {
	s := oauthtest.NewTokenServer(map[string]oauthtest.Client{"c": {Secret: "s", Scopes: []string{"api/get", "api/post"}}})
	defer s.Close()
	api := oauthtest.NewAPI(routetable.Table{{Method: "GET", Path: "/", Scopes: []string{"api/get"}}}, s)
	defer api.Close()
	status, body := tokenFor(t, s, "c", "s", "api/post")
	require.Equal(t, http.StatusOK, status, body)
	postOnly := strings.Split(strings.Split(body, `"access_token":"`)[1], `"`)[0]

	for name, tok := range map[string]string{"scope miss": postOnly, "unknown token": "tok_nope", "no token": ""} {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, name)
		assert.Equal(t, `Bearer realm="scopegate"`, resp.Header.Get("WWW-Authenticate"), name)
		assert.JSONEq(t, `{"error":"unauthorized","message":"Unauthorized","error_description":"no access token, or one that is malformed, expired, issued by another user pool, or carries none of the scopes this method requires"}`, string(b), name)
	}
}
