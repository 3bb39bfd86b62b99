// Package m2mclient is the caller's side of scopegate: an *http.Client that
// obtains OAuth 2.0 access tokens with the client-credentials grant, reuses
// each token until shortly before it expires, and attaches it to every
// request.
//
// Every token request is billed and the token endpoint has a per-account rate
// quota, so a token is fetched once per lifetime however many goroutines call
// the API, and never per request.
package m2mclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultRefreshBefore is how long before its expiry a token is replaced.
const DefaultRefreshBefore = time.Minute

// Config says where and as whom to get tokens.
type Config struct {
	// TokenURL is the token endpoint, e.g. a stack's AuthTokenUrl output.
	TokenURL string
	// ClientID and ClientSecret are the app client's credentials.
	ClientID, ClientSecret string
	// Scopes to request. Empty asks for every scope the client may have.
	Scopes []string
	// RefreshBefore replaces a token this long before it expires.
	// Default: DefaultRefreshBefore.
	RefreshBefore time.Duration
	// Base sends the token and API requests. Default: http.DefaultTransport.
	Base http.RoundTripper
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// New returns an *http.Client that authenticates every request with a bearer
// token for cfg. ctx bounds the token requests (not the API requests, which
// carry their own contexts).
func New(ctx context.Context, cfg Config) (*http.Client, error) {
	t, err := NewTransport(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: t}, nil
}

// NewTransport returns the RoundTripper behind New, for callers who compose
// their own http.Client.
func NewTransport(ctx context.Context, cfg Config) (*Transport, error) {
	if cfg.TokenURL == "" || cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("m2mclient: TokenURL, ClientID and ClientSecret are required")
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
	if early <= 0 {
		early = DefaultRefreshBefore
	}
	cc := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     cfg.TokenURL,
		Scopes:       cfg.Scopes,
		// Cognito wants the credentials as HTTP Basic authentication.
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	tokenCtx := context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: base})
	return &Transport{
		fetch: func() (*oauth2.Token, error) { return cc.Token(tokenCtx) },
		base:  base, early: early, now: now,
	}, nil
}

// Transport attaches bearer tokens, fetching a new one only when the cached
// one is about to expire or the API has refused it.
type Transport struct {
	fetch func() (*oauth2.Token, error)
	base  http.RoundTripper
	early time.Duration
	now   func() time.Time

	mu    sync.Mutex
	token *oauth2.Token
}

// Token returns the cached token, or fetches one when there is none or it
// expires within RefreshBefore. Concurrent callers wait for one fetch.
func (t *Transport) Token() (*oauth2.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != nil && (t.token.Expiry.IsZero() || t.now().Add(t.early).Before(t.token.Expiry)) {
		return t.token, nil
	}
	tok, err := t.fetch()
	if err != nil {
		return nil, tokenError(err)
	}
	t.token = tok
	return tok, nil
}

// forget drops tok from the cache unless another goroutine already replaced it.
func (t *Transport) forget(tok *oauth2.Token) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == tok {
		t.token = nil
	}
}

// RoundTrip sends req with a bearer token. On a 401 it fetches a fresh token
// and tries once more, when the request body can be sent again.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.Token()
	if err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(withToken(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	if req.Body != nil && req.GetBody == nil {
		return resp, nil // the body is spent and cannot be replayed
	}
	retry := req.Clone(req.Context())
	if req.GetBody != nil {
		if retry.Body, err = req.GetBody(); err != nil {
			return resp, nil
		}
	}
	t.forget(tok)
	fresh, err := t.Token()
	if err != nil {
		return resp, nil // keep the API's 401; the token error would hide it
	}
	resp.Body.Close()
	return t.base.RoundTrip(withToken(retry, fresh))
}

func withToken(req *http.Request, tok *oauth2.Token) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return r
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
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("m2mclient: token endpoint answered %d", e.StatusCode)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
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

func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return fmt.Errorf("m2mclient: token request failed: %w", err)
	}
	te := &TokenError{
		StatusCode:  re.Response.StatusCode,
		Code:        re.ErrorCode,
		Description: re.ErrorDescription,
		RetryAfter:  re.Response.Header.Get("Retry-After"),
	}
	if te.Code == "" && te.Description == "" {
		te.Description = string(re.Body)
		if len(te.Description) > 200 {
			te.Description = te.Description[:200]
		}
	}
	return te
}
