// Package cognito plays, on 127.0.0.1, a Cognito user pool's token endpoint
// for machine clients (the client-credentials grant) as make local serves it:
// POST /oauth2/token issuing RS256 JWT access tokens shaped like Cognito's,
// the key set at /.well-known/jwks.json, and the check API Gateway's Cognito
// authorizer makes of those tokens (Verify).
//
// What it follows, from the Amazon Cognito developer guide:
//   - "The token issuer endpoint" (token-endpoint.html): POST with
//     Content-Type application/x-www-form-urlencoded; the client authenticates
//     with HTTP Basic (client_id:client_secret) or with client_id and
//     client_secret in the form; scope is optional and, left out, the token
//     carries every custom scope the app client allows; errors are JSON
//     {"error": ...} with status 400: invalid_request, invalid_client,
//     invalid_grant, unauthorized_client, unsupported_grant_type and
//     invalid_scope. The page documents no other status for a failed Basic
//     authentication, so invalid_client is a 400 here too (RFC 6749 section
//     5.2 would allow 401; the first deploy's bin/verify -conformance run
//     sees the real one).
//   - "Understanding the access token": the claims sub, token_use ("access"),
//     scope (space-separated), auth_time, iss
//     (https://cognito-idp.<region>.amazonaws.com/<pool id> in AWS; the local
//     pool URL here), exp, iat, version, jti and client_id.
//   - The app client's AllowedOAuthFlowsUserPoolClient must be true: the
//     CreateUserPoolClient API reference says the OAuth 2.0 features
//     (AllowedOAuthFlows, AllowedOAuthScopes) need it, which is how
//     clients[].suspended cuts a client off (constructs/m2mauth). Which
//     error the token endpoint answers such a client is not documented; the
//     token endpoint page's unauthorized_client ("the client is not allowed
//     the grant") is what is answered here, a 400 like every error of that
//     page. (A public report has Cognito answer invalid_grant in this case;
//     the first deploy's bin/verify -conformance run settles it.)
//   - The app client's AllowedOAuthFlows must hold client_credentials
//     (unauthorized_client otherwise) and AccessTokenValidity with
//     TokenValidityUnits.AccessToken (CloudFormation's
//     AWS::Cognito::UserPoolClient: hours when no unit is given; 60 minutes
//     when no validity is given) sets exp.
package cognito

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultAccessTokenValidity is Cognito's access token lifetime when the app
// client sets none.
const DefaultAccessTokenValidity = time.Hour

// GrantClientCredentials is the only grant machine clients use.
const GrantClientCredentials = "client_credentials"

// Client is one app client of the pool.
type Client struct {
	ID, Name string
	// Secret is its client secret; "" for a client without one, which the
	// client-credentials grant refuses.
	Secret string
	// Scopes are its AllowedOAuthScopes, Flows its AllowedOAuthFlows.
	Scopes, Flows []string
	// OAuthDisabled is AllowedOAuthFlowsUserPoolClient false (or absent):
	// the client gets no token whatever its flows (a suspended client).
	OAuthDisabled bool
	// AccessTokenValidity is the issued tokens' lifetime; 0 means
	// DefaultAccessTokenValidity.
	AccessTokenValidity time.Duration
}

// Pool is one user pool's token endpoint and key.
type Pool struct {
	// ID is the user pool id, e.g. us-east-1_Ab12Cd34E.
	ID string
	// Issuer is the iss of the tokens it issues and expects; set it to the
	// pool's local URL before serving.
	Issuer string
	// Now is the pool's clock. Default: time.Now.
	Now func() time.Time

	key     *Key
	mu      sync.Mutex
	clients map[string]Client
}

// NewPool makes a pool with a fresh signing key.
func NewPool(id string, clients []Client) (*Pool, error) {
	key, err := NewKey(id + "-local")
	if err != nil {
		return nil, err
	}
	p := &Pool{ID: id, Now: time.Now, key: key, clients: map[string]Client{}}
	for _, c := range clients {
		p.clients[c.ID] = c
	}
	return p, nil
}

// AddClient adds or replaces an app client.
func (p *Pool) AddClient(c Client) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients[c.ID] = c
}

// Clients lists the pool's app clients, sorted by name.
func (p *Pool) Clients() []Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Client, 0, len(p.clients))
	for _, c := range p.clients {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Client) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Handler serves POST /oauth2/token and the key set at
// /.well-known/jwks.json and /<pool id>/.well-known/jwks.json (the path
// under the issuer, as in AWS).
func (p *Pool) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth2/token", p.token)
	jwks := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(p.key.JWKS())
	}
	mux.HandleFunc("GET /.well-known/jwks.json", jwks)
	mux.HandleFunc("GET /"+p.ID+"/.well-known/jwks.json", jwks)
	return mux
}

// TokenRequest is a client-credentials token request as read from the form.
type TokenRequest struct {
	ClientID, ClientSecret string
	// Scopes are the requested scopes; none means all the client allows.
	Scopes []string
}

// Error is a token endpoint error (RFC 6749 section 5.2).
type Error struct {
	Status      int
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

// ReadTokenRequest reads a client-credentials token request: a POST form
// with grant_type=client_credentials and the client's credentials in HTTP
// Basic or in the form (client_secret_basic or client_secret_post).
func ReadTokenRequest(r *http.Request) (TokenRequest, *Error) {
	if r.Method != http.MethodPost {
		return TokenRequest{}, &Error{http.StatusBadRequest, "invalid_request", "the token endpoint takes POST"}
	}
	if err := r.ParseForm(); err != nil {
		return TokenRequest{}, &Error{http.StatusBadRequest, "invalid_request", "unreadable form body"}
	}
	switch grant := r.PostForm.Get("grant_type"); grant {
	case GrantClientCredentials:
	case "":
		return TokenRequest{}, &Error{http.StatusBadRequest, "invalid_request", "grant_type is missing"}
	default:
		return TokenRequest{}, &Error{http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported for machine clients", grant)}
	}
	req := TokenRequest{Scopes: strings.Fields(r.PostForm.Get("scope"))}
	var ok bool
	if req.ClientID, req.ClientSecret, ok = r.BasicAuth(); !ok {
		req.ClientID, req.ClientSecret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if req.ClientID == "" {
		return TokenRequest{}, &Error{http.StatusBadRequest, "invalid_request", "no client_id (HTTP Basic or form)"}
	}
	return req, nil
}

// WriteError answers with a token endpoint error.
func WriteError(w http.ResponseWriter, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	body := map[string]string{"error": e.Code}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	_ = json.NewEncoder(w).Encode(body)
}

// WriteToken answers with an issued access token.
func WriteToken(w http.ResponseWriter, token string, expiresIn time.Duration) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": token, "token_type": "Bearer", "expires_in": int(expiresIn.Seconds()),
	})
}

func (p *Pool) token(w http.ResponseWriter, r *http.Request) {
	req, e := ReadTokenRequest(r)
	if e != nil {
		WriteError(w, e)
		return
	}
	token, validity, e := p.Issue(req)
	if e != nil {
		WriteError(w, e)
		return
	}
	WriteToken(w, token, validity)
}

// Issue checks a token request against the pool's clients and returns a
// signed access token and its lifetime.
func (p *Pool) Issue(req TokenRequest) (string, time.Duration, *Error) {
	p.mu.Lock()
	client, known := p.clients[req.ClientID]
	p.mu.Unlock()
	if !known || client.Secret == "" || client.Secret != req.ClientSecret {
		return "", 0, &Error{http.StatusBadRequest, "invalid_client", "Client authentication failed"}
	}
	if client.OAuthDisabled {
		return "", 0, &Error{http.StatusBadRequest, "unauthorized_client", "the app client's OAuth 2.0 features are off (AllowedOAuthFlowsUserPoolClient is false)"}
	}
	if !slices.Contains(client.Flows, GrantClientCredentials) {
		return "", 0, &Error{http.StatusBadRequest, "unauthorized_client", "the app client does not allow the client_credentials flow"}
	}
	scopes := req.Scopes
	if len(scopes) == 0 {
		scopes = client.Scopes
	}
	for _, s := range scopes {
		if !slices.Contains(client.Scopes, s) {
			return "", 0, &Error{http.StatusBadRequest, "invalid_scope", fmt.Sprintf("scope %s is not allowed for client %s", s, client.Name)}
		}
	}
	if len(scopes) == 0 {
		return "", 0, &Error{http.StatusBadRequest, "invalid_scope", "the app client allows no custom scope"}
	}
	validity := client.AccessTokenValidity
	if validity == 0 {
		validity = DefaultAccessTokenValidity
	}
	now := p.Now()
	var jti [16]byte
	_, _ = rand.Read(jti[:])
	token, err := p.key.Sign(map[string]any{
		"sub": client.ID, "client_id": client.ID, "token_use": "access",
		"scope": strings.Join(scopes, " "), "auth_time": now.Unix(), "iat": now.Unix(),
		"exp": now.Add(validity).Unix(), "iss": p.Issuer, "version": 2, "jti": hex.EncodeToString(jti[:]),
	})
	if err != nil {
		return "", 0, &Error{http.StatusInternalServerError, "server_error", err.Error()}
	}
	return token, validity, nil
}

// Verify checks an access token as API Gateway's Cognito authorizer does:
// signed by this pool, not expired, issued by it, an access token. It
// returns the token's claims.
func (p *Pool) Verify(token string) (map[string]any, error) {
	claims, err := p.key.Verify(token, p.Now())
	if err != nil {
		return nil, err
	}
	if iss, _ := claims["iss"].(string); iss != p.Issuer {
		return nil, fmt.Errorf("%w: issuer %q", ErrSignature, iss)
	}
	if use, _ := claims["token_use"].(string); use != "access" {
		return nil, fmt.Errorf("%w: token_use %q", ErrMalformed, use)
	}
	return claims, nil
}
