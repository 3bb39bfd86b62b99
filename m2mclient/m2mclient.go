// Package m2mclient is the caller's side of scopegate: an *http.Client that
// obtains OAuth 2.0 access tokens with the client-credentials grant, reuses
// each token until shortly before it expires, and attaches it to every
// request.
//
// Every token request is billed and the token endpoint has a per-account rate
// quota, so a token is fetched once per lifetime however many goroutines call
// the API, and never per request.
//
// It sends the client secret and bearer tokens only over https: a token URL or
// a request URL with another scheme is refused, except plain http to a
// loopback host (127.0.0.0/8, ::1, localhost), which tests use.
//
// The credentials are given in Config, or read from a CredentialsProvider
// such as SecretsManagerCredentials (the client's Secrets Manager secret).
// With a provider it follows rotation: when the token endpoint refuses the
// credentials as invalid_client, it reads them again once and, if they
// changed, retries the token request with the new ones.
package m2mclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultRefreshBefore is how long before its expiry a token is replaced.
const DefaultRefreshBefore = time.Minute

// TokenRequestTimeout bounds one token fetch (reading the credentials when
// they come from a provider, the request to the token endpoint and, after a
// rotation, the re-read and the retry), however long the callers waiting for
// it are prepared to wait.
const TokenRequestTimeout = 30 * time.Second

// IdempotencyKeyHeader is the header (IETF httpapi idempotency-key draft) the
// Transport puts on every POST that has none, so that its retry after a 401
// is recognised by the API as the same request.
const IdempotencyKeyHeader = "Idempotency-Key"

// Config says where and as whom to get tokens: either TokenURL, ClientID and
// ClientSecret (and APIKey, if the API needs one), or Credentials.
type Config struct {
	// TokenURL is the token endpoint, e.g. a stack's AuthTokenUrl output. It
	// must be https (plain http only to a loopback host).
	TokenURL string
	// ClientID and ClientSecret are the app client's credentials.
	ClientID, ClientSecret string
	// APIKey, when set, is sent as x-api-key with every API request (an API
	// Gateway API key, for an API with usage plans).
	APIKey string
	// Credentials, instead of the four fields above, supplies them, e.g.
	// SecretsManagerCredentials. They are read when the first token is
	// needed, not by New, and read again (fresh) when the token endpoint
	// refuses them as invalid_client: a rotated secret is followed. The token
	// URL they name must be https (plain http only to a loopback host), like
	// TokenURL.
	Credentials CredentialsProvider
	// Scopes to request. Empty asks for every scope the client may have.
	Scopes []string
	// RefreshBefore replaces a token this long before it expires.
	// Default (zero): DefaultRefreshBefore. Negative is an error.
	//
	// A token whose lifetime (the endpoint's expires_in) is not longer than
	// RefreshBefore would be due for replacement the moment it arrives, and
	// be fetched again on every call. The lifetime is set on the server (a
	// Cognito client's access-token validity, 5 minutes to 1 day) and can
	// change under a running client, so such a token is not an error: it is
	// used until 90% of its lifetime has passed, one token request per
	// lifetime rather than one per call.
	RefreshBefore time.Duration
	// Base sends the token and API requests. Default: http.DefaultTransport.
	Base http.RoundTripper
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// New returns an *http.Client that authenticates every request with a bearer
// token for cfg.
//
// New does no I/O and takes no context: a token is fetched when a request
// needs one, on behalf of that request (see Transport.TokenContext).
func New(cfg Config) (*http.Client, error) {
	t, err := NewTransport(cfg)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t, CheckRedirect: sameHostRedirect}, nil
}

// sameHostRedirect follows redirects only within the host the request was
// sent to: the Transport adds the bearer token to every request it sends,
// and a token for this API must not reach another host.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("m2mclient: stopped after 10 redirects")
	}
	if origin := via[0].URL; req.URL.Host != origin.Host {
		return fmt.Errorf("m2mclient: refusing to follow a redirect from %s to %s: the bearer token belongs to %s", origin.Host, req.URL.Host, origin.Host)
	}
	return nil
}

// NewTransport returns the RoundTripper behind New, for callers who compose
// their own http.Client.
func NewTransport(cfg Config) (*Transport, error) {
	provider, rotates := cfg.Credentials, true
	switch {
	case provider != nil:
		if cfg.TokenURL != "" || cfg.ClientID != "" || cfg.ClientSecret != "" || cfg.APIKey != "" {
			return nil, errors.New("m2mclient: set either Credentials or TokenURL, ClientID and ClientSecret (and APIKey), not both")
		}
		if v, ok := provider.(interface{ validate() error }); ok {
			if err := v.validate(); err != nil {
				return nil, err
			}
		}
	case cfg.TokenURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("m2mclient: TokenURL, ClientID and ClientSecret are required, or Credentials")
	default:
		if err := CheckTokenURL(cfg.TokenURL); err != nil {
			return nil, fmt.Errorf("m2mclient: TokenURL %w", err)
		}
		provider, rotates = staticCredentials{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL, APIKey: cfg.APIKey}, false
	}
	if cfg.RefreshBefore < 0 {
		return nil, fmt.Errorf("m2mclient: RefreshBefore is %s; it must be zero (the default, %s) or positive", cfg.RefreshBefore, DefaultRefreshBefore)
	}
	base := cfg.Base
	if base == nil {
		base = http.DefaultTransport
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	early := cfg.RefreshBefore
	if early == 0 {
		early = DefaultRefreshBefore
	}
	return &Transport{
		provider:  provider,
		rotates:   rotates,
		tokenHTTP: &http.Client{Transport: base, CheckRedirect: checkTokenRedirect},
		scopes:    append([]string(nil), cfg.Scopes...),
		base:      base, early: early, now: now,
	}, nil
}

// checkTokenRedirect keeps a redirect of the token request from carrying the
// client secret (HTTP Basic authentication) in clear text.
func checkTokenRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if err := CheckTokenURL(req.URL.String()); err != nil {
		return fmt.Errorf("m2mclient: token endpoint redirected to %w", err)
	}
	return nil
}

// Transport attaches bearer tokens (and the API key, if the credentials
// carry one), fetching a new token only when the cached one is about to
// expire or the API has refused it.
type Transport struct {
	provider  CredentialsProvider
	rotates   bool // provider can change: re-read it after invalid_client
	tokenHTTP *http.Client
	scopes    []string
	base      http.RoundTripper
	early     time.Duration
	now       func() time.Time

	// creds is written by fetch only, and only one fetch runs at a time.
	creds *Credentials // the credentials last read; nil before the first read

	mu        sync.Mutex
	token     *oauth2.Token
	apiKey    string     // the API key of the credentials token was issued to
	refreshAt time.Time  // when token is due for replacement; zero: never
	inflight  *fetchCall // the token fetch under way, if any
	// refused marks the fetch that replaces a token the API refused with a
	// 401; the token it brings is recorded as proven: the API's next 401
	// for it is a refusal of its scopes, not of its age, and buys no other.
	refused bool
	proven  *oauth2.Token
}

// fetchCall is one token fetch, shared by every caller that needs a token
// while it runs: one credentials read, one token request and, after a
// rotation, one re-read and one retry serve them all.
type fetchCall struct {
	done   chan struct{} // closed when tok or err is set
	tok    *oauth2.Token
	apiKey string
	err    error
}

// Token is TokenContext without a deadline of the caller's own; the token
// request is still bounded by TokenRequestTimeout.
func (t *Transport) Token() (*oauth2.Token, error) {
	return t.TokenContext(context.Background())
}

// TokenContext returns the cached token, or fetches one when there is none or
// it is due for replacement (RefreshBefore its expiry). Concurrent callers
// share one token request.
//
// ctx bounds how long this caller waits, not the token request itself: the
// request runs under context.WithoutCancel(ctx) (the caller's values, such as
// trace ids, without its cancellation) and TokenRequestTimeout. A caller whose
// deadline passes gets its context's error at once, while the request goes on
// and its token is cached for the next caller. Cancelling the request with
// the first caller instead would throw away a token the endpoint has already
// issued and billed, and under short deadlines every caller would start and
// abandon another one.
func (t *Transport) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	tok, _, err := t.tokenAndKey(ctx)
	return tok, err
}

// tokenAndKey is TokenContext with the API key of the credentials the token
// was issued to ("" when they have none).
func (t *Transport) tokenAndKey(ctx context.Context) (*oauth2.Token, string, error) {
	t.mu.Lock()
	if t.token != nil && (t.refreshAt.IsZero() || t.now().Before(t.refreshAt)) {
		tok, key := t.token, t.apiKey
		t.mu.Unlock()
		return tok, key, nil
	}
	call := t.inflight
	if call == nil {
		if ctx.Err() != nil { // nobody is waiting: start no billed request
			t.mu.Unlock()
			return nil, "", fmt.Errorf("m2mclient: no token requested: %w", context.Cause(ctx))
		}
		call = &fetchCall{done: make(chan struct{})}
		t.inflight = call
		go t.fetch(context.WithoutCancel(ctx), call)
	}
	t.mu.Unlock()
	select {
	case <-call.done:
		return call.tok, call.apiKey, call.err
	case <-ctx.Done():
		return nil, "", fmt.Errorf("m2mclient: gave up waiting for a token: %w", context.Cause(ctx))
	}
}

// fetch runs one token fetch and caches its token.
func (t *Transport) fetch(ctx context.Context, call *fetchCall) {
	ctx, cancel := context.WithTimeout(ctx, TokenRequestTimeout)
	defer cancel()
	start := t.now()
	tok, creds, err := t.obtain(ctx)

	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		call.err = err
	} else {
		call.tok, call.apiKey = tok, creds.APIKey
		t.token, t.apiKey, t.refreshAt = tok, creds.APIKey, t.replaceAt(start, tok)
		if t.refused {
			t.proven, t.refused = tok, false
		}
	}
	t.inflight = nil
	close(call.done)
}

// obtain requests a token with the credentials last read (reading them
// first, the first time). When the endpoint answers invalid_client and the
// credentials come from a provider, it reads them again, fresh, once: if
// they changed (the secret was rotated and the old one retired), it retries
// with the new ones once, and keeps them; if not, the refusal stands.
func (t *Transport) obtain(ctx context.Context) (*oauth2.Token, Credentials, error) {
	if t.creds == nil {
		creds, err := t.read(ctx, false)
		if err != nil {
			return nil, Credentials{}, err
		}
		t.creds = &creds
	}
	creds := *t.creds
	tok, err := t.request(ctx, creds)
	if err == nil || !t.rotates || !errors.Is(err, ErrInvalidClient) {
		return tok, creds, err
	}
	fresh, rerr := t.read(ctx, true)
	if rerr != nil {
		return nil, creds, fmt.Errorf("%w (and reading the credentials again failed: %w)", err, rerr)
	}
	t.creds = &fresh
	if fresh.sameClient(creds) {
		return nil, fresh, err
	}
	tok, err = t.request(ctx, fresh)
	return tok, fresh, err
}

// read asks the provider for credentials and checks them.
func (t *Transport) read(ctx context.Context, fresh bool) (Credentials, error) {
	creds, err := t.provider.Credentials(ctx, fresh)
	if err != nil {
		var own *secretError
		if errors.As(err, &own) { // already says what it is
			return Credentials{}, err
		}
		return Credentials{}, fmt.Errorf("m2mclient: reading the credentials: %w", err)
	}
	if err := creds.check(); err != nil {
		return Credentials{}, err
	}
	return creds, nil
}

// request makes one request to the token endpoint.
func (t *Transport) request(ctx context.Context, creds Credentials) (*oauth2.Token, error) {
	cc := &clientcredentials.Config{
		ClientID:     creds.ClientID,
		ClientSecret: creds.ClientSecret,
		TokenURL:     creds.TokenURL,
		Scopes:       t.scopes,
		// Cognito wants the credentials as HTTP Basic authentication.
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, t.tokenHTTP))
	if err != nil {
		return nil, tokenError(err, t.scopes)
	}
	return tok, nil
}

// replaceAt is when a token requested at start (by t.now) is due for
// replacement: RefreshBefore its expiry or, when its lifetime is not longer
// than RefreshBefore, once 90% of its lifetime has passed. A token without
// expires_in is kept until the API refuses it.
func (t *Transport) replaceAt(start time.Time, tok *oauth2.Token) time.Time {
	if tok.Expiry.IsZero() {
		return time.Time{}
	}
	// x/oauth2 turns expires_in into Expiry by the wall clock (and its
	// clientcredentials package leaves Token.ExpiresIn empty): read the
	// lifetime back from it at once, and count it from start on t.now.
	lifetime := time.Until(tok.Expiry).Round(time.Second)
	if lifetime <= 0 {
		return start
	}
	early := t.early
	if early >= lifetime {
		early = lifetime / 10
	}
	return start.Add(lifetime - early)
}

// forgetRefused drops tok, which the API refused with a 401, from the cache
// unless another goroutine already replaced it, and marks the fetch that
// replaces it. It reports false, and drops nothing, when tok was itself
// bought to replace a refused token: the API refused a token it had seconds
// to age, so the refusal is not about expiry, and another token would be
// refused the same way (a scope miss is a 401 at API Gateway's Cognito
// authorizer, like a bad token).
func (t *Transport) forgetRefused(tok *oauth2.Token) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tok == t.proven {
		return false
	}
	if t.token == tok {
		t.token, t.refreshAt, t.refused = nil, time.Time{}, true
	}
	return true
}

// RoundTrip sends req with a bearer token, and with the credentials' API key
// as x-api-key when they carry one (replacing any the request had).
//
// A 401 may mean that the token expired or was revoked, or that it carries
// none of the route's scopes: API Gateway's Cognito authorizer answers both
// with 401 ("Integrate a REST API with an Amazon Cognito user pool", API
// Gateway developer guide). So after a 401 it fetches a fresh token and
// tries once more, when the request body can be sent again; if the API
// refuses the fresh token too, RoundTrip returns an *InsufficientScopeError
// (errors.Is(err, ErrInsufficientScope)) and keeps that token: later 401s
// with it return the same error at once, without another token request.
// Every token request is billed and counts against the account's rate, so a
// client calling a route outside its scopes buys at most one extra token per
// token lifetime, not one per call. A 403 is returned as it is.
//
// A POST without an Idempotency-Key header gets one, a random 128-bit value,
// before the first attempt, so the retry carries the same key and an API
// that honours the header stores the request once. A key set by the caller is
// kept. The token request runs for req's context (see TokenContext).
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := CheckAPIURL(req.URL.String()); err != nil {
		closeBody(req)
		return nil, fmt.Errorf("m2mclient: request URL %w", err)
	}
	if req.Method == http.MethodPost && req.Header.Get(IdempotencyKeyHeader) == "" {
		req = cloneWithHeader(req) // a RoundTripper must not change the caller's request
		req.Header.Set(IdempotencyKeyHeader, NewIdempotencyKey())
	}
	tok, key, err := t.tokenAndKey(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(withToken(req, tok, key))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if !t.forgetRefused(tok) {
		return nil, t.refusal(req, resp)
	}
	if req.Body != nil && req.GetBody == nil {
		return resp, nil // the body is spent and cannot be replayed
	}
	retry := cloneWithHeader(req)
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	fresh, key, err := t.tokenAndKey(req.Context())
	if err != nil {
		closeBody(retry)
		return resp, nil // keep the API's 401; the token error would hide it
	}
	resp.Body.Close()
	resp, err = t.base.RoundTrip(withToken(retry, fresh, key))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	return nil, t.refusal(req, resp)
}

// ErrInsufficientScope: the API refused a freshly issued access token with
// a 401, so the client most likely lacks the scope the route requires. Test
// for it with errors.Is; the error is an *InsufficientScopeError.
var ErrInsufficientScope = errors.New("insufficient_scope")

// InsufficientScopeError is a 401 from the API for a token issued moments
// before, or for one that already got such a 401. API Gateway's Cognito
// authorizer gives a token without any of a method's scopes the same 401 as
// an invalid one, so this is the likely reason; the other is an API that
// does not trust this token endpoint's user pool.
type InsufficientScopeError struct {
	Method, URL string // the request, without query or fragment
	// Scopes are the scopes the tokens were requested with (Config.Scopes);
	// empty when every scope of the client was asked for.
	Scopes []string
	// Challenge is the API's WWW-Authenticate header, if any.
	Challenge string
}

func (e *InsufficientScopeError) Error() string {
	return fmt.Sprintf("m2mclient: %s %s answered 401 to an access token issued moments before, for %s: the client most likely lacks the scope this route requires "+
		"(API Gateway answers a missing scope with 401), or the API does not trust this token endpoint; no new token was requested",
		e.Method, e.URL, describeScopes(e.Scopes))
}

// Is lets errors.Is match ErrInsufficientScope.
func (e *InsufficientScopeError) Is(target error) bool { return target == ErrInsufficientScope }

// refusal closes the 401's body and describes it.
func (t *Transport) refusal(req *http.Request, resp *http.Response) error {
	challenge := resp.Header.Get("WWW-Authenticate")
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	shown := *req.URL
	shown.User, shown.RawQuery, shown.ForceQuery, shown.Fragment, shown.RawFragment = nil, "", false, "", ""
	return &InsufficientScopeError{Method: req.Method, URL: shown.String(), Scopes: append([]string(nil), t.scopes...), Challenge: challenge}
}

// NewIdempotencyKey returns a fresh Idempotency-Key value: 128 random bits in
// hex, as a structured-field string (quoted), the form the draft specifies.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return `"` + hex.EncodeToString(b[:]) + `"`
}

func withToken(req *http.Request, tok *oauth2.Token, apiKey string) *http.Request {
	r := cloneWithHeader(req)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if apiKey != "" {
		r.Header.Set(APIKeyHeader, apiKey)
	}
	return r
}

// cloneWithHeader is req.Clone with a header map that can be written.
func cloneWithHeader(req *http.Request) *http.Request {
	r := req.Clone(req.Context())
	if r.Header == nil {
		r.Header = http.Header{}
	}
	return r
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// InsecureURLError refuses a URL that would carry a credential in clear text.
type InsecureURLError struct {
	URL        string // the URL, without user info, query or fragment
	Credential string // what would be exposed: "client secret" or "bearer token"
}

func (e *InsecureURLError) Error() string {
	return fmt.Sprintf("%q is not https: the %s would cross the network in clear text (plain http is allowed only to a loopback host: 127.0.0.0/8, ::1 or localhost)", e.URL, e.Credential)
}

// CheckTokenURL returns an *InsecureURLError unless rawURL may carry the
// client secret: https, or plain http to a loopback host.
func CheckTokenURL(rawURL string) error { return checkURL(rawURL, "client secret") }

// CheckAPIURL returns an *InsecureURLError unless rawURL may carry a bearer
// token: https, or plain http to a loopback host.
func CheckAPIURL(rawURL string) error { return checkURL(rawURL, "bearer token") }

func checkURL(rawURL, credential string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return &InsecureURLError{URL: rawURL, Credential: credential}
	}
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	shown := *u
	shown.User, shown.RawQuery, shown.ForceQuery, shown.Fragment, shown.RawFragment = nil, "", false, "", ""
	return &InsecureURLError{URL: shown.String(), Credential: credential}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	addr, err := netip.ParseAddr(host)
	return err == nil && addr.Unmap().IsLoopback()
}

// Errors a token request can end in; test them with errors.Is.
var (
	// ErrInvalidClient: unknown client id or wrong secret.
	ErrInvalidClient = errors.New("invalid_client")
	// ErrInvalidScope: a scope the client is not allowed, or that does not exist.
	ErrInvalidScope = errors.New("invalid_scope")
	// ErrUnauthorizedClient: the client may not use the client-credentials grant.
	ErrUnauthorizedClient = errors.New("unauthorized_client")
	// ErrThrottled: the token endpoint's rate quota was exceeded (HTTP 429).
	ErrThrottled = errors.New("token endpoint throttled the request")
)

// TokenError is a refusal from the token endpoint, with its own words.
type TokenError struct {
	StatusCode  int
	Code        string // the OAuth 2.0 "error", e.g. invalid_scope
	Description string // the OAuth 2.0 "error_description", if any
	RetryAfter  string // the Retry-After header of a throttled request, if any
	// Scopes are the scopes the request asked for (Config.Scopes); empty when
	// it asked for none, i.e. for every scope the client may have. An
	// invalid_scope error names them, since Cognito's answer does not.
	Scopes []string
}

func (e *TokenError) Error() string {
	var msg string
	if e.Code == "invalid_scope" {
		msg = "m2mclient: token endpoint refused " + describeScopes(e.Scopes) + ": " + e.Code
	} else {
		msg = fmt.Sprintf("m2mclient: token endpoint answered %d", e.StatusCode)
		if e.Code != "" {
			msg += " " + e.Code
		}
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

func describeScopes(scopes []string) string {
	if len(scopes) == 0 {
		return "the client's scopes (none named in the request)"
	}
	quoted := make([]string, len(scopes))
	for i, s := range scopes {
		quoted[i] = fmt.Sprintf("%q", s)
	}
	if len(quoted) == 1 {
		return "scope " + quoted[0]
	}
	return "scopes " + strings.Join(quoted, ", ")
}

// Is lets errors.Is match the sentinel errors above.
func (e *TokenError) Is(target error) bool {
	switch target {
	case ErrInvalidClient:
		return e.Code == "invalid_client"
	case ErrInvalidScope:
		return e.Code == "invalid_scope"
	case ErrUnauthorizedClient:
		return e.Code == "unauthorized_client"
	case ErrThrottled:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

func tokenError(err error, scopes []string) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("m2mclient: token request failed: %w", err)
	}
	te := &TokenError{
		StatusCode:  re.Response.StatusCode,
		Code:        re.ErrorCode,
		Description: re.ErrorDescription,
		RetryAfter:  re.Response.Header.Get("Retry-After"),
		Scopes:      append([]string(nil), scopes...),
	}
	if te.Code == "" && te.Description == "" {
		te.Description = string(re.Body)
		if len(te.Description) > 200 {
			te.Description = te.Description[:200]
		}
	}
	return te
}
