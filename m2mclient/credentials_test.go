package m2mclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/oauthtest"
	"github.com/scopegate/scopegate/m2mclient"
)

const secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:weather-service"

// fakeSecretsManager holds one secret whose current value a test can change,
// as a rotation's "switch" step does, and counts the reads.
type fakeSecretsManager struct {
	reads  atomic.Int64
	mu     sync.Mutex
	value  *string // nil: a binary secret
	err    error
	stages []string
}

func newSecret(value string) *fakeSecretsManager {
	return &fakeSecretsManager{value: aws.String(value)}
}

func credentialsJSON(secret, tokenURL string, extra ...string) string {
	v := map[string]string{"client_id": "weather-service", "client_secret": secret, "token_url": tokenURL}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (f *fakeSecretsManager) Set(value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value = aws.String(value)
}

func (f *fakeSecretsManager) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeSecretsManager) Reads() int64 { return f.reads.Load() }

func (f *fakeSecretsManager) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stages = append(f.stages, aws.ToString(in.VersionStage))
	if f.err != nil {
		return nil, f.err
	}
	if aws.ToString(in.SecretId) != secretARN {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: f.value}, nil
}

func fromSecret(sm *fakeSecretsManager) m2mclient.Config {
	return m2mclient.Config{Credentials: m2mclient.SecretsManagerCredentials{Client: sm, SecretID: secretARN}}
}

// A client built from the secret reads it once, when the first token is
// needed: 1,000 calls cost one secret read and one token request.
func TestCredentialsFromASecret(t *testing.T) {
	tokens, api := servers(t)
	sm := newSecret(credentialsJSON("s3cret", tokens.TokenURL(), "client_secret_id", "abc123"))
	c, err := m2mclient.New(fromSecret(sm))
	require.NoError(t, err)
	assert.EqualValues(t, 0, sm.Reads(), "New does no I/O")

	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 50 {
		wg.Go(func() {
			for range 20 {
				resp, err := c.Get(api.URL + "/")
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if err == nil {
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	assert.Zero(t, failed.Load())
	assert.EqualValues(t, 1000, api.Calls())
	assert.EqualValues(t, 1, sm.Reads())
	assert.EqualValues(t, 1, tokens.Requests())
	assert.Equal(t, []string{"AWSCURRENT"}, sm.stages)
	for _, r := range api.Received()[:3] {
		assert.Empty(t, r.APIKey, "no api_key in the secret, no x-api-key")
	}
}

// rotation plays the rotation of weather-service's secret: a caller built
// from the secret, a token server and API that know the first secret, and a
// clock both share.
type rotation struct {
	tokens *oauthtest.TokenServer
	api    *oauthtest.API
	sm     *fakeSecretsManager
	clk    *clock
	client *http.Client
}

func newRotation(t *testing.T) *rotation {
	t.Helper()
	tokens, api := servers(t)
	clk := &clock{now: time.Now()}
	tokens.ExpiresIn, tokens.Now = 5*time.Minute, clk.Now
	sm := newSecret(credentialsJSON("s3cret", tokens.TokenURL()))
	cfg := fromSecret(sm)
	cfg.Now = clk.Now
	c, err := m2mclient.New(cfg)
	require.NoError(t, err)
	return &rotation{tokens: tokens, api: api, sm: sm, clk: clk, client: c}
}

// step makes a call and reports how many secret reads and token requests it
// cost.
func (r *rotation) step(t *testing.T) (reads, tokenRequests int64) {
	t.Helper()
	r0, t0 := r.sm.Reads(), r.tokens.Requests()
	require.Equal(t, http.StatusOK, get(t, r.client, r.api.URL+"/"))
	return r.sm.Reads() - r0, r.tokens.Requests() - t0
}

type cost struct{ reads, tokenRequests int64 }

func (r *rotation) cost(t *testing.T) cost {
	t.Helper()
	reads, reqs := r.step(t)
	return cost{reads, reqs}
}

// The caller keeps working across add-new, switch and retire-old. The old
// secret's retirement costs one secret read and one token request more than
// an ordinary token refresh: the refused request is retried once with the
// credentials read again.
func TestFollowsARotatedSecret(t *testing.T) {
	r := newRotation(t)
	assert.Equal(t, cost{1, 1}, r.cost(t), "first call: read the secret, get a token")
	assert.Equal(t, cost{0, 0}, r.cost(t))

	// 1. Add the new secret to the client: both work.
	require.NoError(t, r.tokens.AddSecret("weather-service", "n3w-s3cret"))
	assert.Equal(t, cost{0, 0}, r.cost(t))

	// 2. Switch the secret's current value to it. The caller keeps the old
	// one, which still works, token refreshes included.
	r.sm.Set(credentialsJSON("n3w-s3cret", r.tokens.TokenURL()))
	assert.Equal(t, cost{0, 0}, r.cost(t))
	r.clk.Advance(5 * time.Minute)
	assert.Equal(t, cost{0, 1}, r.cost(t), "an ordinary refresh, with the old secret")

	// 3. Retire the old secret. The token in hand is still good.
	require.NoError(t, r.tokens.RetireSecret("weather-service", "s3cret"))
	assert.Equal(t, cost{0, 0}, r.cost(t))
	// The next refresh is refused (invalid_client), the secret is read
	// again, and the request retried with the new secret.
	r.clk.Advance(5 * time.Minute)
	assert.Equal(t, cost{1, 2}, r.cost(t), "one extra secret read, one extra token request")

	// From then on, the new secret: ordinary refreshes again.
	assert.Equal(t, cost{0, 0}, r.cost(t))
	r.clk.Advance(5 * time.Minute)
	assert.Equal(t, cost{0, 1}, r.cost(t))
	assert.Equal(t, []string{"AWSCURRENT", "AWSCURRENT"}, r.sm.stages)
}

// Callers waiting for the refused token request share its re-read and its
// retry: 1,000 calls from 50 goroutines at the retirement cost one secret
// read and two token requests.
func TestConcurrentCallersShareOneReread(t *testing.T) {
	r := newRotation(t)
	assert.Equal(t, cost{1, 1}, r.cost(t))
	require.NoError(t, r.tokens.AddSecret("weather-service", "n3w-s3cret"))
	r.sm.Set(credentialsJSON("n3w-s3cret", r.tokens.TokenURL()))
	require.NoError(t, r.tokens.RetireSecret("weather-service", "s3cret"))
	r.clk.Advance(5 * time.Minute)

	// Hold the first token request until every goroutine is waiting for it.
	release := r.tokens.Hold()
	defer release()
	reads, requests := r.sm.Reads(), r.tokens.Requests()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 50 {
		wg.Go(func() {
			for range 20 {
				resp, err := r.client.Get(r.api.URL + "/")
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if err == nil {
					resp.Body.Close()
				}
			}
		})
	}
	require.Eventually(t, func() bool { return r.tokens.Requests() > requests }, 5*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	release()
	wg.Wait()
	assert.Zero(t, failed.Load())
	assert.Equal(t, reads+1, r.sm.Reads(), "one re-read for every waiting caller")
	assert.Equal(t, requests+2, r.tokens.Requests(), "the refused request and its one retry")
}

// A secret that did not change is not retried: the refusal stands, after
// one fresh read.
func TestAnUnchangedSecretIsNotRetried(t *testing.T) {
	tokens, api := servers(t)
	sm := newSecret(credentialsJSON("wr0ng-s3cret", tokens.TokenURL()))
	c, err := m2mclient.New(fromSecret(sm))
	require.NoError(t, err)
	_, err = c.Get(api.URL + "/")
	require.Error(t, err)
	assert.ErrorIs(t, err, m2mclient.ErrInvalidClient)
	assert.ErrorContains(t, err, "400 invalid_client")
	assert.NotContains(t, err.Error(), "s3cret")
	assert.EqualValues(t, 2, sm.Reads(), "the first read and the fresh one")
	assert.EqualValues(t, 1, tokens.Requests())
	assert.EqualValues(t, 0, api.Calls())
}

// Static credentials cannot change: invalid_client is returned at once.
func TestStaticCredentialsAreNotReread(t *testing.T) {
	tokens, api := servers(t)
	cfg := config(tokens)
	cfg.ClientSecret = "wr0ng"
	c, err := m2mclient.New(cfg)
	require.NoError(t, err)
	_, err = c.Get(api.URL + "/")
	assert.ErrorIs(t, err, m2mclient.ErrInvalidClient)
	assert.EqualValues(t, 1, tokens.Requests())
}

// recordingProvider returns its credentials in turn and records each call's
// fresh flag.
type recordingProvider struct {
	mu     sync.Mutex
	creds  []m2mclient.Credentials
	errs   []error
	called []bool
}

func (p *recordingProvider) Credentials(_ context.Context, fresh bool) (m2mclient.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i := min(len(p.called), len(p.creds)-1)
	p.called = append(p.called, fresh)
	var err error
	if i < len(p.errs) {
		err = p.errs[i]
	}
	return p.creds[i], err
}

// The first read may come from a cache; the re-read after invalid_client
// asks for fresh credentials.
func TestTheRereadAsksForFreshCredentials(t *testing.T) {
	tokens, api := servers(t)
	old := m2mclient.Credentials{ClientID: "weather-service", ClientSecret: "cached", TokenURL: tokens.TokenURL()}
	current := old
	current.ClientSecret = "s3cret"
	p := &recordingProvider{creds: []m2mclient.Credentials{old, current}}
	c, err := m2mclient.New(m2mclient.Config{Credentials: p})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	assert.Equal(t, []bool{false, true}, p.called)
	assert.EqualValues(t, 2, tokens.Requests())
}

// A failed read is not kept: the next call reads again.
func TestAFailedReadIsTriedAgainByTheNextCall(t *testing.T) {
	tokens, api := servers(t)
	good := m2mclient.Credentials{ClientID: "weather-service", ClientSecret: "s3cret", TokenURL: tokens.TokenURL()}
	p := &recordingProvider{creds: []m2mclient.Credentials{{}, good}, errs: []error{errors.New("ThrottlingException: Rate exceeded")}}
	c, err := m2mclient.New(m2mclient.Config{Credentials: p})
	require.NoError(t, err)
	_, err = c.Get(api.URL + "/")
	assert.ErrorContains(t, err, "m2mclient: reading the credentials: ThrottlingException: Rate exceeded")
	assert.EqualValues(t, 0, tokens.Requests())
	assert.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	assert.Equal(t, []bool{false, false}, p.called)
}

// When the re-read itself fails, the token endpoint's refusal is returned,
// with the reason the credentials could not be read again.
func TestAFailedRereadKeepsTheRefusal(t *testing.T) {
	tokens, api := servers(t)
	sm := newSecret(credentialsJSON("s3cret", tokens.TokenURL()))
	c, err := m2mclient.New(fromSecret(sm))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))

	require.NoError(t, tokens.AddSecret("weather-service", "n3w"))
	require.NoError(t, tokens.RetireSecret("weather-service", "s3cret"))
	tok, err := c.Transport.(*m2mclient.Transport).Token()
	require.NoError(t, err)
	tokens.Revoke(tok.AccessToken) // the next call needs a new token
	sm.Fail(errors.New("AccessDeniedException: not allowed"))
	resp, err := c.Get(api.URL + "/")
	require.NoError(t, err, "the API's 401 is kept when no fresh token can be had")
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	_, err = c.Transport.(*m2mclient.Transport).Token()
	assert.ErrorIs(t, err, m2mclient.ErrInvalidClient)
	assert.ErrorContains(t, err, "invalid_client: Client authentication failed (and reading the credentials again failed: m2mclient: reading secret "+secretARN+": AccessDeniedException: not allowed)")
}

// The secret must hold the three fields; what is wrong is named, what the
// secret holds never is.
func TestRefusesAnUnusableSecret(t *testing.T) {
	tokens, _ := servers(t)
	for _, tc := range []struct {
		name, value, want string
	}{
		{"not JSON", "s3cret", "m2mclient: secret " + secretARN + " is not client credentials JSON"},
		{"not an object", `["s3cret"]`, "is not client credentials JSON"},
		{"a number for a string", `{"client_id":"weather-service","client_secret":7,"token_url":"x"}`, "is not client credentials JSON"},
		{"no secret", `{"client_id":"weather-service","token_url":"` + tokens.TokenURL() + `"}`, "m2mclient: secret " + secretARN + " lacks client_secret"},
		{"empty", `{}`, "lacks client_id, client_secret and token_url"},
		{"no id or URL", `{"client_secret":"s3cret"}`, "lacks client_id and token_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fromSecret(newSecret(tc.value))
			cfg.Base = noNetwork{t}
			c, err := m2mclient.New(cfg)
			require.NoError(t, err)
			_, err = c.Get("https://api.example.com/")
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.want)
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}

	t.Run("binary", func(t *testing.T) {
		sm := newSecret("")
		sm.value = nil
		_, err := m2mclient.SecretsManagerCredentials{Client: sm, SecretID: secretARN}.Credentials(context.Background(), false)
		assert.EqualError(t, err, "m2mclient: secret "+secretARN+" has no string value")
	})
	t.Run("unknown secret", func(t *testing.T) {
		_, err := m2mclient.SecretsManagerCredentials{Client: newSecret("{}"), SecretID: "nope"}.Credentials(context.Background(), false)
		var nf *smtypes.ResourceNotFoundException
		assert.ErrorAs(t, err, &nf)
		assert.ErrorContains(t, err, "m2mclient: reading secret nope: ResourceNotFoundException")
	})
	t.Run("another stage", func(t *testing.T) {
		sm := newSecret(`{"client_id":"a"}`)
		_, err := m2mclient.ReadSecret(context.Background(), sm, secretARN, "AWSPREVIOUS")
		assert.EqualError(t, err, "m2mclient: secret "+secretARN+" (AWSPREVIOUS) lacks client_secret and token_url")
		assert.Equal(t, []string{"AWSPREVIOUS"}, sm.stages)
	})
}

// A provider's token URL is held to the same rule as Config.TokenURL: the
// secret is not sent in clear text.
func TestAProvidersTokenURLMustBeHTTPS(t *testing.T) {
	cfg := fromSecret(newSecret(credentialsJSON("s3cret", "http://auth.example.com/oauth2/token?k=v")))
	cfg.Base = noNetwork{t}
	c, err := m2mclient.New(cfg)
	require.NoError(t, err)
	_, err = c.Get("https://api.example.com/")
	var insecure *m2mclient.InsecureURLError
	require.ErrorAs(t, err, &insecure)
	assert.ErrorContains(t, err, `m2mclient: TokenURL of the credentials "http://auth.example.com/oauth2/token" is not https: the client secret would cross the network in clear text`)

	// From any provider, and after a rotation too.
	tokens, api := servers(t)
	good := m2mclient.Credentials{ClientID: "weather-service", ClientSecret: "wr0ng", TokenURL: tokens.TokenURL()}
	bad := m2mclient.Credentials{ClientID: "weather-service", ClientSecret: "s3cret", TokenURL: "http://auth.example.com/oauth2/token"}
	c, err = m2mclient.New(m2mclient.Config{Credentials: &recordingProvider{creds: []m2mclient.Credentials{good, bad}}})
	require.NoError(t, err)
	_, err = c.Get(api.URL + "/")
	assert.ErrorAs(t, err, &insecure)
	assert.ErrorIs(t, err, m2mclient.ErrInvalidClient)
	assert.EqualValues(t, 1, tokens.Requests())

	// A provider's credentials must be complete.
	c, err = m2mclient.New(m2mclient.Config{Base: noNetwork{t},
		Credentials: &recordingProvider{creds: []m2mclient.Credentials{{ClientID: "x"}}}})
	require.NoError(t, err)
	_, err = c.Get("https://api.example.com/")
	assert.ErrorContains(t, err, "m2mclient: the credentials lack ClientSecret and TokenURL")
}

func TestCredentialsOneWayOrTheOther(t *testing.T) {
	sm := newSecret("{}")
	for _, cfg := range []m2mclient.Config{
		{Credentials: m2mclient.SecretsManagerCredentials{Client: sm, SecretID: secretARN}, ClientSecret: "s3cret"},
		{Credentials: m2mclient.SecretsManagerCredentials{Client: sm, SecretID: secretARN}, TokenURL: "https://x/oauth2/token"},
		{Credentials: m2mclient.SecretsManagerCredentials{Client: sm, SecretID: secretARN}, APIKey: "k"},
	} {
		_, err := m2mclient.New(cfg)
		assert.EqualError(t, err, "m2mclient: set either Credentials or TokenURL, ClientID and ClientSecret (and APIKey), not both")
	}
	for _, p := range []m2mclient.CredentialsProvider{
		m2mclient.SecretsManagerCredentials{SecretID: secretARN},
		&m2mclient.SecretsManagerCredentials{Client: sm},
	} {
		_, err := m2mclient.New(m2mclient.Config{Credentials: p})
		assert.EqualError(t, err, "m2mclient: SecretsManagerCredentials needs a Client and a SecretID")
	}
	_, err := m2mclient.New(m2mclient.Config{})
	assert.EqualError(t, err, "m2mclient: TokenURL, ClientID and ClientSecret are required, or Credentials")
	assert.EqualValues(t, 0, sm.Reads())
}

// Credentials printed by mistake show neither the secret nor the API key.
func TestCredentialsDoNotPrintTheirSecrets(t *testing.T) {
	c := m2mclient.Credentials{ClientID: "weather-service", ClientSecret: "s3cret", TokenURL: "https://x/oauth2/token", APIKey: "k3y-value"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, c)
		assert.NotContains(t, out, "s3cret", format)
		assert.NotContains(t, out, "k3y-value", format)
		assert.Contains(t, out, "weather-service", format)
	}
	assert.Equal(t, `{ClientID:weather-service TokenURL:https://x/oauth2/token ClientSecret:<redacted> APIKey:<redacted>}`, c.String())
}

// tokenHeaders records the headers of the requests sent to the token endpoint.
type tokenHeaders struct {
	mu   sync.Mutex
	seen []http.Header
}

func (h *tokenHeaders) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/oauth2/token") {
		h.mu.Lock()
		h.seen = append(h.seen, r.Header.Clone())
		h.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// With an api_key in the secret, every API request carries it as
// x-api-key, the retry after a 401 too; the token endpoint never sees it.
func TestSendsTheAPIKey(t *testing.T) {
	tokens, api := servers(t)
	api.RequireAPIKey("weather-service", "k3y-value")
	seen := &tokenHeaders{}
	cfg := fromSecret(newSecret(credentialsJSON("s3cret", tokens.TokenURL(), "api_key", "k3y-value")))
	cfg.Base = seen
	transport, err := m2mclient.NewTransport(cfg)
	require.NoError(t, err)
	c := &http.Client{Transport: transport}

	require.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	tok, err := transport.Token()
	require.NoError(t, err)
	tokens.Revoke(tok.AccessToken)
	req, _ := http.NewRequest(http.MethodPost, api.URL+"/", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("x-api-key", "another")
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "another", req.Header.Get("x-api-key"), "the caller's request is not changed")

	got := api.Received()
	require.Len(t, got, 3, "GET, refused POST, retried POST")
	for _, r := range got {
		assert.Equal(t, "k3y-value", r.APIKey)
	}
	assert.Equal(t, []int{200, 401, 200}, []int{got[0].Status, got[1].Status, got[2].Status})
	require.Len(t, seen.seen, 2)
	for _, h := range seen.seen {
		assert.Empty(t, h.Get("x-api-key"))
	}
}

// Without the key, API Gateway answers 403 {"message":"Forbidden"}: not
// retried, and no further token request.
func TestWithoutTheAPIKeyTheAPIForbids(t *testing.T) {
	tokens, api := servers(t)
	api.RequireAPIKey("weather-service", "k3y-value")
	c, err := m2mclient.New(config(tokens))
	require.NoError(t, err)
	resp, err := c.Get(api.URL + "/")
	require.NoError(t, err)
	var body struct{ Message string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "Forbidden", body.Message)
	assert.Empty(t, resp.Header.Get("WWW-Authenticate"))
	assert.EqualValues(t, 1, api.Calls())
	assert.EqualValues(t, 1, tokens.Requests())

	// Static credentials can carry the key too.
	cfg := config(tokens)
	cfg.APIKey = "k3y-value"
	c, err = m2mclient.New(cfg)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, get(t, c, api.URL+"/"))
	assert.Equal(t, "k3y-value", api.Received()[1].APIKey)
}

// A rotation that also changes the API key: the calls after it carry the
// new key.
func TestARotatedSecretBringsItsAPIKey(t *testing.T) {
	r := newRotation(t)
	r.sm.Set(credentialsJSON("s3cret", r.tokens.TokenURL(), "api_key", "k3y-1"))
	// Rebuild the caller so its first read has the key.
	cfg := fromSecret(r.sm)
	cfg.Now = r.clk.Now
	c, err := m2mclient.New(cfg)
	require.NoError(t, err)
	r.client = c
	r.api.RequireAPIKey("weather-service", "k3y-1")
	assert.Equal(t, cost{1, 1}, r.cost(t))

	require.NoError(t, r.tokens.AddSecret("weather-service", "n3w-s3cret"))
	r.sm.Set(credentialsJSON("n3w-s3cret", r.tokens.TokenURL(), "api_key", "k3y-2"))
	require.NoError(t, r.tokens.RetireSecret("weather-service", "s3cret"))
	r.api.RequireAPIKey("weather-service", "k3y-2")
	r.clk.Advance(5 * time.Minute)
	assert.Equal(t, cost{1, 2}, r.cost(t))
	got := r.api.Received()
	assert.Equal(t, "k3y-2", got[len(got)-1].APIKey)
}
