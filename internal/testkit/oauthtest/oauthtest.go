// Package oauthtest plays, on 127.0.0.1, the two servers a machine client
// talks to: a token endpoint that implements the client-credentials grant
// (RFC 6749 section 4.4) as Cognito does, client secret rotation included
// (AddSecret, RetireSecret), and an API that checks bearer tokens against a
// route table as API Gateway's Cognito authorizer does, and API keys when
// told to (RequireAPIKey).
package oauthtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scopegate/scopegate/gatewayresponse"
	"github.com/scopegate/scopegate/local/cognito"
	"github.com/scopegate/scopegate/routetable"
)

// Client is an app client the token endpoint knows.
type Client struct {
	Secret string   // its first secret; AddSecret and RetireSecret rotate it
	Scopes []string // what it may request
}

// MaxSecrets is how many secrets a client may have at once, as in Cognito.
const MaxSecrets = 2

// Grant is an issued token.
type Grant struct {
	ClientID string
	Scopes   []string
	Expiry   time.Time
}

// TokenServer is a client-credentials token endpoint.
type TokenServer struct {
	*httptest.Server
	// ExpiresIn is the lifetime of issued tokens. Default: one hour.
	ExpiresIn time.Duration
	// Now is the server's clock. Default: time.Now.
	Now func() time.Time

	requests  atomic.Int64
	throttled atomic.Bool
	mu        sync.Mutex
	clients   map[string]Client
	secrets   map[string][]string // by client id: the secrets it accepts
	grants    map[string]Grant
	held      chan struct{} // while non-nil, token answers wait for it to close
}

// NewTokenServer starts a token endpoint for clients (by client id).
func NewTokenServer(clients map[string]Client) *TokenServer {
	s := &TokenServer{clients: map[string]Client{}, secrets: map[string][]string{}, ExpiresIn: time.Hour, Now: time.Now, grants: map[string]Grant{}}
	for id, c := range clients {
		s.clients[id] = c
		s.secrets[id] = []string{c.Secret}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// TokenURL is the endpoint's URL, as a stack's AuthTokenUrl output names it.
func (s *TokenServer) TokenURL() string { return s.URL + "/oauth2/token" }

// Requests counts token requests so far, refused ones included.
func (s *TokenServer) Requests() int64 { return s.requests.Load() }

// Throttle makes the endpoint answer 429 until called with false.
func (s *TokenServer) Throttle(on bool) { s.throttled.Store(on) }

// Hold makes the endpoint keep every token request (counted at once) waiting,
// as a slow endpoint would, until release is called or the client gives up.
func (s *TokenServer) Hold() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.held = gate
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.held == gate {
				s.held = nil
			}
			s.mu.Unlock()
			close(gate)
		})
	}
}

// AddSecret gives a client a further secret, as Cognito's
// AddUserPoolClientSecret does: both the old and the new one are accepted
// until RetireSecret. A client has at most MaxSecrets.
func (s *TokenServer) AddSecret(clientID, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	have, ok := s.secrets[clientID]
	switch {
	case !ok:
		return fmt.Errorf("oauthtest: no client %q", clientID)
	case len(have) >= MaxSecrets:
		return fmt.Errorf("oauthtest: client %q already has %d secrets", clientID, MaxSecrets)
	case slices.Contains(have, secret):
		return fmt.Errorf("oauthtest: client %q already has that secret", clientID)
	}
	s.secrets[clientID] = append(have, secret)
	return nil
}

// RetireSecret stops accepting one of a client's secrets, as Cognito's
// DeleteUserPoolClientSecret does: a token request with it is refused with
// invalid_client. Tokens already issued stay valid until they expire (they
// are JWTs, checked by their signature).
func (s *TokenServer) RetireSecret(clientID, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	have := s.secrets[clientID]
	i := slices.Index(have, secret)
	switch {
	case i < 0:
		return fmt.Errorf("oauthtest: client %q has no such secret", clientID)
	case len(have) == 1:
		return fmt.Errorf("oauthtest: the last secret of client %q cannot be retired", clientID)
	}
	s.secrets[clientID] = slices.Delete(slices.Clone(have), i, i+1)
	return nil
}

// Lookup returns the grant behind an access token.
func (s *TokenServer) Lookup(token string) (Grant, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.grants[token]
	return g, ok && s.Now().Before(g.Expiry)
}

// Revoke makes a token invalid, as deleting a client's secret would.
func (s *TokenServer) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.grants, token)
}

func (s *TokenServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	gate := s.held
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	if r.URL.Path != "/oauth2/token" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	if s.throttled.Load() {
		w.Header().Set("Retry-After", "1")
		cognito.WriteError(w, &cognito.Error{Status: http.StatusTooManyRequests, Code: "slow_down", Description: "Rate exceeded"})
		return
	}
	// The request is read and answered as make local's token endpoint
	// does; what differs is only what this one issues (opaque tokens it can
	// hold, throttle, revoke and rotate).
	req, e := cognito.ReadTokenRequest(r)
	if e != nil {
		cognito.WriteError(w, e)
		return
	}
	s.mu.Lock()
	client, known := s.clients[req.ClientID]
	accepted := known && slices.Contains(s.secrets[req.ClientID], req.ClientSecret)
	s.mu.Unlock()
	if !accepted {
		cognito.WriteError(w, &cognito.Error{Status: http.StatusBadRequest, Code: "invalid_client", Description: "Client authentication failed"})
		return
	}
	scopes := req.Scopes
	if len(scopes) == 0 {
		scopes = client.Scopes // none asked: every scope the client may have
	}
	for _, sc := range scopes {
		if !slices.Contains(client.Scopes, sc) {
			cognito.WriteError(w, &cognito.Error{Status: http.StatusBadRequest, Code: "invalid_scope", Description: fmt.Sprintf("Scope %s is not allowed for this client", sc)})
			return
		}
	}
	token := newToken()
	s.mu.Lock()
	s.grants[token] = Grant{ClientID: req.ClientID, Scopes: scopes, Expiry: s.Now().Add(s.ExpiresIn)}
	s.mu.Unlock()
	cognito.WriteToken(w, token, s.ExpiresIn)
}

func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "tok_" + hex.EncodeToString(b[:])
}

// API answers each route of a table as API Gateway with a Cognito
// authorizer and scopegate's gateway responses (package gatewayresponse)
// does: 401 UNAUTHORIZED without a valid token AND for a valid token that
// carries none of the route's scopes (API Gateway developer guide,
// "Integrate a REST API with an Amazon Cognito user pool"), 403 without the
// API key its client must send (RequireAPIKey), 200 otherwise.
type API struct {
	*httptest.Server
	calls    atomic.Int64
	mu       sync.Mutex
	received []Request
	apiKeys  map[string]string // by client id: the x-api-key it must send
}

// Request is what the API saw of one request.
type Request struct {
	Method, Path string
	// IdempotencyKey is the Idempotency-Key header as sent, "" without one.
	IdempotencyKey string
	// Body is the request body as received.
	Body string
	// APIKey is the x-api-key header as sent, "" without one.
	APIKey string
	Status int
}

// WeatherRoutes is the walkthrough's route table (GET /, POST /, DELETE
// /{id}), the one the verifier's tests replay.
var WeatherRoutes = routetable.Table{
	{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}},
	{Method: "POST", Path: "/", Scopes: []string{"weather-api/post"}},
	{Method: "DELETE", Path: "/{id}", Scopes: []string{"weather-api/delete"}},
}

// NewAPI starts an API for the table, trusting tokens from tokens. Open
// lists routes ("METHOD /path") it wrongly lets any valid token through, to
// play a misconfigured deployment.
func NewAPI(table routetable.Table, tokens *TokenServer, open ...string) *API {
	a := &API{apiKeys: map[string]string{}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.calls.Add(1)
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		status := a.answer(w, r, table, tokens, open)
		a.mu.Lock()
		a.received = append(a.received, Request{Method: r.Method, Path: r.URL.Path,
			IdempotencyKey: r.Header.Get("Idempotency-Key"), Body: string(body), APIKey: r.Header.Get("x-api-key"), Status: status})
		a.mu.Unlock()
	}))
	return a
}

func (a *API) answer(w http.ResponseWriter, r *http.Request, table routetable.Table, tokens *TokenServer, open []string) int {
	route, ok := match(table, r.Method, r.URL.Path)
	if !ok {
		http.Error(w, `{"message":"Missing Authentication Token"}`, http.StatusForbidden)
		return http.StatusForbidden
	}
	token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	grant, valid := tokens.Lookup(token)
	if !found || !valid || (!route.Opens(grant.Scopes) && !slices.Contains(open, route.Key())) {
		return writeGatewayResponse(w, gatewayresponse.Unauthorized, "Unauthorized")
	}
	a.mu.Lock()
	key, keyed := a.apiKeys[grant.ClientID]
	a.mu.Unlock()
	switch sent := r.Header.Get("x-api-key"); {
	case keyed && sent == "":
		// API Gateway's documented answer to a missing key ("Choose an
		// API key source"): a plain 403, no Bearer challenge.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(gatewayresponse.ForbiddenMessage))
		return http.StatusForbidden
	case keyed && sent != key:
		return writeGatewayResponse(w, gatewayresponse.InvalidAPIKey, "Forbidden")
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
	return http.StatusOK
}

// RequireAPIKey makes the API, like a method with apiKeyRequired and a usage
// plan per client tier, answer 403 to a request with a valid token of
// clientID that does not send key as x-api-key: {"message":"Forbidden"}
// without a key, the INVALID_API_KEY response with a wrong one. It checks
// the key after the token and its scopes (it needs the token's client to know
// which key); either way the caller gets a 403. "" lifts the requirement.
func (a *API) RequireAPIKey(clientID, key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if key == "" {
		delete(a.apiKeys, clientID)
		return
	}
	a.apiKeys[clientID] = key
}

// writeGatewayResponse answers as API Gateway does with the gateway response
// g, message standing for $context.error.messageString.
func writeGatewayResponse(w http.ResponseWriter, g gatewayresponse.Response, message string) int {
	for name, value := range g.Headers() {
		w.Header().Set(name, value)
	}
	w.WriteHeader(g.Status)
	_, _ = w.Write([]byte(g.Body(message)))
	return g.Status
}

// Received lists the requests the API has answered, in order.
func (a *API) Received() []Request {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.received)
}

// Calls counts requests to the API.
func (a *API) Calls() int64 { return a.calls.Load() }

// match finds the route whose path template matches path: "{x}" matches one
// segment, "{proxy+}" one or more.
func match(table routetable.Table, method, path string) (routetable.Route, bool) {
	for _, r := range table {
		if r.Method != method && r.Method != routetable.AnyMethod {
			continue
		}
		if pathMatches(r.Path, path) {
			return r, true
		}
	}
	return routetable.Route{}, false
}

func pathMatches(template, path string) bool {
	if template == "/" || path == "/" {
		return template == path
	}
	want, got := strings.Split(template[1:], "/"), strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i, w := range want {
		if w == "{proxy+}" {
			return i < len(got)
		}
		if i >= len(got) || (got[i] != w && !(strings.HasPrefix(w, "{") && got[i] != "")) {
			return false
		}
	}
	return len(want) == len(got)
}
