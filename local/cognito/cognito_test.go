package cognito

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func testPool(t *testing.T, id string) (*Pool, *httptest.Server) {
	t.Helper()
	p, err := NewPool(id, []Client{
		{ID: "c1", Name: "weather-service", Secret: "s1", Scopes: []string{"weather-api/get", "weather-api/post"}, Flows: []string{GrantClientCredentials}, AccessTokenValidity: time.Minute},
		{ID: "c2", Name: "code-flow", Secret: "s2", Scopes: []string{"weather-api/get"}, Flows: []string{"code"}},
		// A client whose OAuth features are off (a suspended one) keeps its
		// flow here, so only OAuthDisabled refuses it.
		{ID: "c3", Name: "suspended", Secret: "s3", Scopes: []string{"weather-api/get"}, Flows: []string{GrantClientCredentials}, OAuthDisabled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	p.Issuer = srv.URL + "/" + id
	return p, srv
}

type answer struct {
	status int
	body   map[string]any
}

func post(t *testing.T, srv *httptest.Server, form url.Values, basic ...string) answer {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return answer{resp.StatusCode, body}
}

func TestTokenEndpoint(t *testing.T) {
	p, srv := testPool(t, "us-east-1_Pool1")
	cc := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {GrantClientCredentials}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	// Basic auth, no scope: every scope the client allows.
	a := post(t, srv, cc(), "c1", "s1")
	if a.status != 200 || a.body["token_type"] != "Bearer" || a.body["expires_in"] != float64(60) {
		t.Fatalf("Basic, no scope: %+v", a)
	}
	claims, err := p.Verify(a.body["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"sub": "c1", "client_id": "c1", "token_use": "access", "scope": "weather-api/get weather-api/post", "iss": p.Issuer, "version": float64(2)} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	for _, k := range []string{"exp", "iat", "auth_time", "jti"} {
		if claims[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	// Form credentials and one scope.
	a = post(t, srv, cc("client_id", "c1", "client_secret", "s1", "scope", "weather-api/post"))
	if a.status != 200 {
		t.Fatalf("form credentials: %+v", a)
	}
	if claims, _ := p.Verify(a.body["access_token"].(string)); claims["scope"] != "weather-api/post" {
		t.Errorf("scope = %v", claims["scope"])
	}
	for name, c := range map[string]struct {
		form  url.Values
		basic []string
		code  string
	}{
		"scope the client may not have": {cc("scope", "weather-api/delete"), []string{"c1", "s1"}, "invalid_scope"},
		"wrong secret":                  {cc(), []string{"c1", "nope"}, "invalid_client"},
		"unknown client":                {cc("client_id", "zz", "client_secret", "s1"), nil, "invalid_client"},
		"no client":                     {cc(), nil, "invalid_request"},
		"another grant":                 {url.Values{"grant_type": {"password"}}, []string{"c1", "s1"}, "unsupported_grant_type"},
		"no grant":                      {url.Values{}, []string{"c1", "s1"}, "invalid_request"},
		"client without the flow":       {cc(), []string{"c2", "s2"}, "unauthorized_client"},
		"client with OAuth off":         {cc(), []string{"c3", "s3"}, "unauthorized_client"},
	} {
		a := post(t, srv, c.form, c.basic...)
		if a.status != 400 || a.body["error"] != c.code {
			t.Errorf("%s: got %d %v, want 400 %s", name, a.status, a.body["error"], c.code)
		}
	}
	resp, err := http.Get(srv.URL + "/us-east-1_Pool1/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var jwks struct{ Keys []map[string]string }
	_ = json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if len(jwks.Keys) != 1 || jwks.Keys[0]["kid"] != p.key.ID || jwks.Keys[0]["alg"] != "RS256" || jwks.Keys[0]["n"] == "" {
		t.Errorf("jwks = %+v", jwks)
	}
}

// What the authorizer refuses: expired, tampered, another pool's token.
func TestVerifyRefuses(t *testing.T) {
	p, _ := testPool(t, "us-east-1_Pool1")
	other, _ := testPool(t, "us-east-1_Pool2")
	token, _, e := p.Issue(TokenRequest{ClientID: "c1", ClientSecret: "s1"})
	if e != nil {
		t.Fatal(e)
	}
	if _, err := other.Verify(token); err == nil {
		t.Error("another pool's token was accepted")
	}
	parts := strings.Split(token, ".")
	forged := parts[0] + "." + b64.EncodeToString([]byte(`{"scope":"weather-api/delete","exp":9999999999,"iss":"`+p.Issuer+`","token_use":"access"}`)) + "." + parts[2]
	if _, err := p.Verify(forged); err == nil {
		t.Error("a token with changed claims was accepted")
	}
	if _, err := p.Verify("not.a.token"); err == nil {
		t.Error("garbage was accepted")
	}
	p.Now = func() time.Time { return time.Now().Add(time.Minute) }
	if _, err := p.Verify(token); err == nil {
		t.Error("an expired token was accepted")
	}
}
