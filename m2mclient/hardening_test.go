package m2mclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/m2mclient"
)

// noNetwork is a Base that fails the test if anything is sent through it.
type noNetwork struct{ t *testing.T }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("a request to %s was sent", r.URL)
	return nil, errors.New("no network in this test")
}

func TestRefusesAPlainTextTokenURL(t *testing.T) {
	for _, raw := range []string{
		"http://example.com/oauth2/token",
		"HTTP://example.com/oauth2/token",
		"http://localhost.example.com/oauth2/token",
		"http://127.0.0.1.nip.io/oauth2/token",
		"http://10.0.0.1/oauth2/token",
		"ftp://example.com/oauth2/token",
		"example.com/oauth2/token",
		"https:///oauth2/token",
	} {
		t.Run(raw, func(t *testing.T) {
			_, err := m2mclient.New(m2mclient.Config{
				TokenURL: raw, ClientID: "weather-service", ClientSecret: "s3cret", Base: noNetwork{t}})
			require.Error(t, err)
			assert.ErrorContains(t, err, "is not https: the client secret would cross the network in clear text")
			var insecure *m2mclient.InsecureURLError
			assert.ErrorAs(t, err, &insecure)
		})
	}
	_, err := m2mclient.New(m2mclient.Config{
		TokenURL: "http://example.com/oauth2/token", ClientID: "weather-service", ClientSecret: "s3cret"})
	assert.EqualError(t, err, `m2mclient: TokenURL "http://example.com/oauth2/token" is not https: the client secret would cross the network in clear text (plain http is allowed only to a loopback host: 127.0.0.0/8, ::1 or localhost)`)

	// The URL is named without what may be secret in it.
	_, err = m2mclient.New(m2mclient.Config{
		TokenURL: "http://user:pa55@example.com/oauth2/token?key=k3y#frag", ClientID: "weather-service", ClientSecret: "s3cret"})
	assert.ErrorContains(t, err, `"http://example.com/oauth2/token" is not https`)
	assert.NotContains(t, err.Error(), "pa55")
	assert.NotContains(t, err.Error(), "k3y")
}

func TestAcceptsHTTPSAndLoopbackTokenURLs(t *testing.T) {
	for _, raw := range []string{
		"https://weather.auth.eu-west-1.amazoncognito.com/oauth2/token",
		"http://127.0.0.1:8080/oauth2/token",
		"http://127.9.8.7/oauth2/token",
		"http://localhost:8080/oauth2/token",
		"http://LOCALHOST/oauth2/token",
		"http://[::1]:8080/oauth2/token",
	} {
		_, err := m2mclient.NewTransport(m2mclient.Config{
			TokenURL: raw, ClientID: "weather-service", ClientSecret: "s3cret", Base: noNetwork{t}})
		assert.NoError(t, err, raw)
		assert.NoError(t, m2mclient.CheckAPIURL(strings.TrimSuffix(raw, "oauth2/token")), raw)
	}
}

// Plain http to localhost works end to end, token endpoint and API alike.
func TestWorksOverLoopbackByName(t *testing.T) {
	tokens, api := servers(t)
	cfg := config(tokens)
	cfg.TokenURL = strings.Replace(cfg.TokenURL, "127.0.0.1", "localhost", 1)
	c, err := m2mclient.New(cfg)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, get(t, c, strings.Replace(api.URL, "127.0.0.1", "localhost", 1)+"/"))
	assert.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
}

// The bearer token is not sent to a plain-http API, and not even fetched.
func TestRefusesAPlainTextAPIURL(t *testing.T) {
	tokens, _ := servers(t)
	c, err := m2mclient.New(config(tokens))
	require.NoError(t, err)
	c.Transport.(*m2mclient.Transport).Token() // nothing to refuse here: the token URL is loopback
	before := tokens.Requests()

	_, err = c.Post("http://example.com/weather/?page=s3cret", "application/json", strings.NewReader(`{}`))
	require.Error(t, err)
	assert.ErrorContains(t, err, `m2mclient: request URL "http://example.com/weather/" is not https: the bearer token would cross the network in clear text`)
	assert.NotContains(t, err.Error(), "tok_")
	assert.Equal(t, before, tokens.Requests())

	// Through a bare Transport, before any token request or network use.
	cfg := config(tokens)
	cfg.Base = noNetwork{t}
	transport, err := m2mclient.NewTransport(cfg)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, "http://api.example.com/", nil)
	_, err = transport.RoundTrip(req)
	var insecure *m2mclient.InsecureURLError
	require.ErrorAs(t, err, &insecure)
	assert.Equal(t, "bearer token", insecure.Credential)
}

// A token endpoint that redirects to plain http does not get the secret sent there.
func TestRefusesATokenRedirectToPlainText(t *testing.T) {
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://example.com/oauth2/token", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	transport, err := m2mclient.NewTransport(m2mclient.Config{
		TokenURL: redirector.URL + "/oauth2/token", ClientID: "weather-service", ClientSecret: "s3cret"})
	require.NoError(t, err)
	_, err = transport.Token()
	require.Error(t, err)
	assert.ErrorContains(t, err, `redirected to "http://example.com/oauth2/token" is not https: the client secret`)
	assert.NotContains(t, err.Error(), "s3cret")
}

// A caller's deadline bounds its own wait for a token, but not the token
// request, whose token (already issued, and billed) is kept for the next call.
func TestACallersDeadlineBoundsItsWaitNotTheTokenRequest(t *testing.T) {
	tokens, api := servers(t)
	release := tokens.Hold()
	defer release()
	c, err := m2mclient.New(config(tokens))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.URL+"/", nil)
	start := time.Now()
	_, err = c.Do(req)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.EqualValues(t, 0, api.Calls())

	release()
	assert.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	assert.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	assert.EqualValues(t, 1, tokens.Requests(), "the abandoned token request's token was used")
}

func TestNegativeRefreshBeforeIsAConfigError(t *testing.T) {
	tokens, _ := servers(t)
	cfg := config(tokens)
	cfg.RefreshBefore = -time.Second
	_, err := m2mclient.New(cfg)
	assert.EqualError(t, err, "m2mclient: RefreshBefore is -1s; it must be zero (the default, 1m0s) or positive")
}

// A token that lives no longer than RefreshBefore would be due for
// replacement on arrival. It is used until 90% of its lifetime has passed:
// one token request per lifetime, not one per call.
func TestATokenShorterThanRefreshBeforeIsFetchedOncePerLifetime(t *testing.T) {
	for _, early := range []time.Duration{5 * time.Minute, 10 * time.Minute} {
		t.Run(early.String(), func(t *testing.T) {
			tokens, api := servers(t)
			clk := &clock{now: time.Now()}
			tokens.ExpiresIn, tokens.Now = 5*time.Minute, clk.Now
			cfg := config(tokens)
			cfg.Now, cfg.RefreshBefore = clk.Now, early
			c, err := m2mclient.New(cfg)
			require.NoError(t, err)

			// 180 calls, one every 5 s, over three token lifetimes (15 min).
			var fetchedAt []time.Duration
			for i := range 180 {
				before := tokens.Requests()
				require.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
				if tokens.Requests() > before {
					fetchedAt = append(fetchedAt, time.Duration(i)*5*time.Second)
				}
				clk.Advance(5 * time.Second)
			}
			assert.Equal(t, []time.Duration{0, 270 * time.Second, 540 * time.Second, 810 * time.Second}, fetchedAt,
				"each 5-minute token replaced after 4.5 minutes")
		})
	}
}

func TestInvalidScopeNamesTheScopesAskedFor(t *testing.T) {
	tokens, api := servers(t)
	for _, tc := range []struct {
		scopes []string
		want   string
	}{
		{[]string{"weather-api/delete"}, `m2mclient: token endpoint refused scope "weather-api/delete": invalid_scope: Scope weather-api/delete is not allowed for this client`},
		{[]string{"weather-api/get", "weather-api/delete"}, `m2mclient: token endpoint refused scopes "weather-api/get", "weather-api/delete": invalid_scope`},
	} {
		cfg := config(tokens)
		cfg.Scopes = tc.scopes
		c, err := m2mclient.New(cfg)
		require.NoError(t, err)
		_, err = c.Get(api.URL + "/")
		require.Error(t, err)
		assert.ErrorContains(t, err, tc.want)
		assert.ErrorIs(t, err, m2mclient.ErrInvalidScope)
		var te *m2mclient.TokenError
		require.ErrorAs(t, err, &te)
		assert.Equal(t, tc.scopes, te.Scopes)
		assert.NotContains(t, err.Error(), "s3cret")
	}

	// Cognito's own answer names nothing: {"error":"invalid_scope"}.
	bare := &m2mclient.TokenError{StatusCode: 400, Code: "invalid_scope", Scopes: []string{"weather-api/delete"}}
	assert.Equal(t, `m2mclient: token endpoint refused scope "weather-api/delete": invalid_scope`, bare.Error())
	bare.Scopes = nil
	assert.Equal(t, `m2mclient: token endpoint refused the client's scopes (none named in the request): invalid_scope`, bare.Error())
}

var keyFormat = regexp.MustCompile(`^"[0-9a-f]{32}"$`)

// The first attempt and its retry after a 401 carry the same key, so an API
// that honours Idempotency-Key stores the event once.
func TestAPostAndItsRetryCarryTheSameIdempotencyKey(t *testing.T) {
	tokens, api := servers(t)
	transport, err := m2mclient.NewTransport(config(tokens))
	require.NoError(t, err)
	c := &http.Client{Transport: transport}
	old, err := transport.Token()
	require.NoError(t, err)
	tokens.Revoke(old.AccessToken)

	req, _ := http.NewRequest(http.MethodPost, api.URL+"/", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Empty(t, req.Header.Get(m2mclient.IdempotencyKeyHeader), "the caller's request is not changed")

	got := api.Received()
	require.Len(t, got, 2)
	assert.Equal(t, http.StatusUnauthorized, got[0].Status)
	assert.Equal(t, http.StatusOK, got[1].Status)
	assert.Regexp(t, keyFormat, got[0].IdempotencyKey)
	assert.Equal(t, got[0].IdempotencyKey, got[1].IdempotencyKey)
	assert.Equal(t, `{"name":"x"}`, got[1].Body)
}

func TestSeparatePostsCarryDifferentIdempotencyKeys(t *testing.T) {
	tokens, api := servers(t)
	c, err := m2mclient.New(config(tokens))
	require.NoError(t, err)
	for range 2 {
		resp, err := c.Post(api.URL+"/", "application/json", strings.NewReader(`{"name":"x"}`))
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))

	got := api.Received()
	require.Len(t, got, 3)
	assert.Regexp(t, keyFormat, got[0].IdempotencyKey)
	assert.Regexp(t, keyFormat, got[1].IdempotencyKey)
	assert.NotEqual(t, got[0].IdempotencyKey, got[1].IdempotencyKey)
	assert.Empty(t, got[2].IdempotencyKey, "only POST gets a key")
}

func TestACallersIdempotencyKeyIsKept(t *testing.T) {
	tokens, api := servers(t)
	transport, err := m2mclient.NewTransport(config(tokens))
	require.NoError(t, err)
	c := &http.Client{Transport: transport}
	old, err := transport.Token()
	require.NoError(t, err)
	tokens.Revoke(old.AccessToken)

	req, _ := http.NewRequest(http.MethodPost, api.URL+"/", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Idempotency-Key", `"order-42"`)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	got := api.Received()
	require.Len(t, got, 2, "a refused attempt and its retry")
	assert.Equal(t, `"order-42"`, got[0].IdempotencyKey)
	assert.Equal(t, `"order-42"`, got[1].IdempotencyKey)
}

// A caller that has already given up starts no (billed) token request.
func TestNoTokenRequestForACancelledCall(t *testing.T) {
	tokens, api := servers(t)
	c, err := m2mclient.New(config(tokens))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api.URL+"/", nil)
	_, err = c.Do(req)
	assert.ErrorIs(t, err, context.Canceled)
	assert.EqualValues(t, 0, tokens.Requests())
}

// A redirect to another host is not followed, so the bearer token never
// reaches it.
func TestDoesNotCarryTheTokenToAnotherHost(t *testing.T) {
	tokens, _ := servers(t)
	var leaked []string
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = append(leaked, r.Header.Get("Authorization"))
	}))
	t.Cleanup(elsewhere.Close)
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/collect", http.StatusFound)
	}))
	t.Cleanup(redirecting.Close)
	c, err := m2mclient.New(config(tokens))
	require.NoError(t, err)
	_, err = c.Get(redirecting.URL + "/")
	assert.ErrorContains(t, err, "refusing to follow a redirect from "+strings.TrimPrefix(redirecting.URL, "http://"))
	assert.Empty(t, leaked, "the other host received a request")
}
