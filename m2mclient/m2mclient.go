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
package m2mclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
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

// TokenRequestTimeout bounds one request to the token endpoint, however long
// the callers waiting for it are prepared to wait.
const TokenRequestTimeout = 30 * time.Second

// IdempotencyKeyHeader is the header (IETF httpapi idempotency-key draft) the
// Transport puts on every POST that has none, so that its retry after a 401
// is recognised by the API as the same request.
const IdempotencyKeyHeader = "Idempotency-Key"

// Config says where and as whom to get tokens.
type Config struct {
	// TokenURL is the token endpoint, e.g. a stack's AuthTokenUrl output. It
	// must be https (plain http only to a loopback host).
	TokenURL string
	// ClientID and ClientSecret are the app client's credentials.
	ClientID, ClientSecret string
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
// New does no I/O and does not keep ctx: a token is fetched when a request
// needs one, on behalf of that request (see Transport.TokenContext), so
// cancelling ctx after New returns changes nothing.
func New(ctx context.Context, cfg Config) (*http.Client, error) {
	t, err := NewTransport(ctx, cfg)
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
// their own http.Client. Like New, it does not keep ctx.
func NewTransport(_ context.Context, cfg Config) (*Transport, error) {
	if cfg.TokenURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("m2mclient: TokenURL, ClientID and ClientSecret are required")
	}
	if err := CheckTokenURL(cfg.TokenURL); err != nil {
		return nil, fmt.Errorf("m2mclient: TokenURL %w", err)
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
		cc: &clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.TokenURL,
			Scopes:       cfg.Scopes,
			// Cognito wants the credentials as HTTP Basic authentication.
			AuthStyle: oauth2.AuthStyleInHeader,
		},
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

// Transport attaches bearer tokens, fetching a new one only when the cached
// one is about to expire or the API has refused it.
type Transport struct {
	cc        *clientcredentials.Config
	tokenHTTP *http.Client
	scopes    []string
	base      http.RoundTripper
	early     time.Duration
	now       func() time.Time

	mu        sync.Mutex
	token     *oauth2.Token
	refreshAt time.Time  // when token is due for replacement; zero: never
	inflight  *fetchCall // the token request under way, if any
}

// fetchCall is one token request, shared by every caller that needs a token
// while it runs.
type fetchCall struct {
	done chan struct{} // closed when tok or err is set
	tok  *oauth2.Token
	err  error
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
// abandon another one. No context given to New or NewTransport is involved,
// so none can break later refreshes.
func (t *Transport) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	t.mu.Lock()
	if t.token != nil && (t.refreshAt.IsZero() || t.now().Before(t.refreshAt)) {
		tok := t.token
		t.mu.Unlock()
		return tok, nil
	}
	call := t.inflight
	if call == nil {
		if ctx.Err() != nil { // nobody is waiting: start no billed request
			t.mu.Unlock()
			return nil, fmt.Errorf("m2mclient: no token requested: %w", context.Cause(ctx))
		}
		call = &fetchCall{done: make(chan struct{})}
		t.inflight = call
		go t.fetch(context.WithoutCancel(ctx), call)
	}
	t.mu.Unlock()
	select {
	case <-call.done:
		return call.tok, call.err
	case <-ctx.Done():
		return nil, fmt.Errorf("m2mclient: gave up waiting for a token: %w", context.Cause(ctx))
	}
}

// fetch runs one token request and caches its token.
func (t *Transport) fetch(ctx context.Context, call *fetchCall) {
	ctx, cancel := context.WithTimeout(ctx, TokenRequestTimeout)
	defer cancel()
	start := t.now()
	tok, err := t.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, t.tokenHTTP))

	t.mu.Lock()
	defer t.mu.Unlock()
	if err != nil {
		call.err = tokenError(err, t.scopes)
	} else {
		call.tok = tok
		t.token, t.refreshAt = tok, t.replaceAt(start, tok)
	}
	t.inflight = nil
	close(call.done)
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

// forget drops tok from the cache unless another goroutine already replaced it.
func (t *Transport) forget(tok *oauth2.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == tok {
		t.token, t.refreshAt = nil, time.Time{}
	}
}

// RoundTrip sends req with a bearer token. On a 401 it fetches a fresh token
// and tries once more, when the request body can be sent again.
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
	tok, err := t.TokenContext(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(withToken(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
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
	t.forget(tok)
	fresh, err := t.TokenContext(req.Context())
	if err != nil {
		closeBody(retry)
		return resp, nil // keep the API's 401; the token error would hide it
	}
	resp.Body.Close()
	return t.base.RoundTrip(withToken(retry, fresh))
}

// NewIdempotencyKey returns a fresh Idempotency-Key value: 128 random bits in
// hex, as a structured-field string (quoted), the form the draft specifies.
func NewIdempotencyKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return `"` + hex.EncodeToString(b[:]) + `"`
}

func withToken(req *http.Request, tok *oauth2.Token) *http.Request {
	r := cloneWithHeader(req)
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
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
