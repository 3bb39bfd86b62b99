package m2mclient_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/oauthtest"
	"github.com/scopegate/scopegate/m2mclient"
	"github.com/scopegate/scopegate/routetable"
)

var weatherRoutes = routetable.Table{
	{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}},
	{Method: "POST", Path: "/", Scopes: []string{"weather-api/post"}},
	{Method: "DELETE", Path: "/{id}", Scopes: []string{"weather-api/delete"}},
}

func servers(t *testing.T) (*oauthtest.TokenServer, *oauthtest.API) {
	t.Helper()
	tokens := oauthtest.NewTokenServer(map[string]oauthtest.Client{
		"weather-service": {Secret: "s3cret", Scopes: []string{"weather-api/get", "weather-api/post"}},
	})
	api := oauthtest.NewAPI(weatherRoutes, tokens)
	t.Cleanup(func() { api.Close(); tokens.Close() })
	return tokens, api
}

func config(tokens *oauthtest.TokenServer) m2mclient.Config {
	return m2mclient.Config{TokenURL: tokens.TokenURL(), ClientID: "weather-service", ClientSecret: "s3cret"}
}

func get(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// One token request for 1,000 calls from 50 goroutines within its lifetime.
func TestOneTokenRequestForManyConcurrentCalls(t *testing.T) {
	tokens, api := servers(t)
	c, err := m2mclient.New(config(tokens))
	require.NoError(t, err)

	var wg sync.WaitGroup
	statuses := make(chan int, 1000)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				resp, err := c.Get(api.URL + "/")
				if err != nil {
					statuses <- -1
					continue
				}
				resp.Body.Close()
				statuses <- resp.StatusCode
			}
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		require.Equal(t, http.StatusOK, s)
	}
	assert.EqualValues(t, 1000, api.Calls())
	assert.EqualValues(t, 1, tokens.Requests(), "token requests for 1,000 calls within one token lifetime")
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// A token is reused until RefreshBefore its expiry, then replaced.
func TestRefreshesShortlyBeforeExpiry(t *testing.T) {
	tokens, api := servers(t)
	clk := &clock{now: time.Now()}
	tokens.ExpiresIn, tokens.Now = 5*time.Minute, clk.Now
	cfg := config(tokens)
	cfg.Now, cfg.RefreshBefore = clk.Now, time.Minute
	transport, err := m2mclient.NewTransport(cfg)
	require.NoError(t, err)
	c := &http.Client{Transport: transport}

	require.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	first, err := transport.Token()
	require.NoError(t, err)
	clk.Advance(3*time.Minute + 59*time.Second) // 61 s left: still good
	require.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	assert.EqualValues(t, 1, tokens.Requests())

	clk.Advance(2 * time.Second) // 59 s left: inside RefreshBefore
	require.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	assert.EqualValues(t, 2, tokens.Requests())
	second, err := transport.Token()
	require.NoError(t, err)
	assert.NotEqual(t, first.AccessToken, second.AccessToken)
}

// A 401 (a revoked token, say) gets one retry with a fresh token.
func TestRetriesOnceWithAFreshTokenAfter401(t *testing.T) {
	tokens, api := servers(t)
	transport, err := m2mclient.NewTransport(config(tokens))
	require.NoError(t, err)
	c := &http.Client{Transport: transport}
	require.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	old, _ := transport.Token()
	tokens.Revoke(old.AccessToken)

	// POST: the body must be sent again with the retry.
	resp, err := c.Post(api.URL+"/", "application/json", strings.NewReader(`{"name":"x"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 2, tokens.Requests())
	assert.EqualValues(t, 3, api.Calls(), "first GET, refused POST, retried POST")
}

// Not more than once: an API that trusts none of this endpoint's tokens
// gets two calls, and the refusal of the fresh token is an
// InsufficientScopeError, not a 401 to retry again.
func TestGivesUpAfterOneRetry(t *testing.T) {
	tokens, _ := servers(t)
	stranger := oauthtest.NewTokenServer(nil)
	api := oauthtest.NewAPI(weatherRoutes, stranger)
	t.Cleanup(func() { api.Close(); stranger.Close() })
	c, err := m2mclient.New(config(tokens))
	require.NoError(t, err)
	_, err = c.Get(api.URL + "/")
	assert.ErrorIs(t, err, m2mclient.ErrInsufficientScope)
	assert.EqualValues(t, 2, api.Calls())
	assert.EqualValues(t, 2, tokens.Requests())
}

// A route outside the client's scopes answers 401, as API Gateway's Cognito
// authorizer does. 1,000 calls to it cost one extra token request per token
// lifetime, not one per call, and each call returns a typed error that names
// the request and the scopes asked for. Calls to routes the token opens keep
// working with the same token.
func TestAScopeMissBuysAtMostOneExtraTokenPerLifetime(t *testing.T) {
	tokens, api := servers(t)
	clk := &clock{now: time.Now()}
	tokens.ExpiresIn, tokens.Now = time.Hour, clk.Now
	cfg := config(tokens)
	cfg.Scopes, cfg.Now = []string{"weather-api/post"}, clk.Now
	c, err := m2mclient.New(cfg)
	require.NoError(t, err)

	for lifetime := 1; lifetime <= 3; lifetime++ {
		for i := 0; i < 1000; i++ {
			_, err := c.Get(api.URL + "/?page=" + strings.Repeat("x", i%3))
			require.ErrorIs(t, err, m2mclient.ErrInsufficientScope, "call %d", i)
			var refusal *m2mclient.InsufficientScopeError
			require.ErrorAs(t, err, &refusal)
			assert.Equal(t, "GET", refusal.Method)
			assert.Equal(t, api.URL+"/", refusal.URL, "no query in the error")
			assert.Equal(t, []string{"weather-api/post"}, refusal.Scopes)
			assert.Equal(t, `Bearer realm="scopegate"`, refusal.Challenge)
		}
		resp, err := c.Post(api.URL+"/", "application/json", strings.NewReader(`{}`))
		require.NoError(t, err, "the token opens POST /")
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		// One token for the lifetime and one bought after the first 401.
		assert.EqualValues(t, 2*lifetime, tokens.Requests(), "lifetime %d", lifetime)
		clk.Advance(time.Hour)
	}
	assert.EqualValues(t, 3*1002, api.Calls(), "each lifetime: the first call twice, 999 more, one POST")
}

func TestTokenEndpointErrorsAreTyped(t *testing.T) {
	tokens, api := servers(t)
	for _, tc := range []struct {
		name     string
		mutate   func(*m2mclient.Config)
		throttle bool
		want     error
		message  string
	}{
		{"wrong secret", func(c *m2mclient.Config) { c.ClientSecret = "wrong" }, false, m2mclient.ErrInvalidClient, "400 invalid_client: Client authentication failed"},
		{"unknown client", func(c *m2mclient.Config) { c.ClientID = "nobody" }, false, m2mclient.ErrInvalidClient, "invalid_client"},
		{"scope not allowed", func(c *m2mclient.Config) { c.Scopes = []string{"weather-api/delete"} }, false, m2mclient.ErrInvalidScope, "invalid_scope: Scope weather-api/delete is not allowed for this client"},
		{"throttled", func(*m2mclient.Config) {}, true, m2mclient.ErrThrottled, "429 slow_down: Rate exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokens.Throttle(tc.throttle)
			defer tokens.Throttle(false)
			cfg := config(tokens)
			tc.mutate(&cfg)
			c, err := m2mclient.New(cfg)
			require.NoError(t, err)
			_, err = c.Get(api.URL + "/")
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			assert.ErrorContains(t, err, tc.message)
			var te *m2mclient.TokenError
			require.True(t, errors.As(err, &te))
			if tc.throttle {
				assert.Equal(t, "1", te.RetryAfter)
			}
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestConfigNeedsCredentials(t *testing.T) {
	_, err := m2mclient.New(m2mclient.Config{TokenURL: "https://x/oauth2/token"})
	assert.ErrorContains(t, err, "TokenURL, ClientID and ClientSecret are required")
}
