package routeauth_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/lambda/routeauth"
	"github.com/scopegate/scopegate/routetable"
)

func TestAuthorize(t *testing.T) {
	table := routetable.Table{{Method: "POST", Path: "/", Scopes: []string{"weather-api/post", "weather-api/admin"}}}
	rc := func(claims any) events.APIGatewayProxyRequestContext {
		return events.APIGatewayProxyRequestContext{HTTPMethod: "POST", ResourcePath: "/", Authorizer: map[string]any{"claims": claims}}
	}
	c, err := routeauth.Authorize(table, rc(map[string]any{"token_use": "access", "client_id": "abc", "scope": "weather-api/get weather-api/post"}))
	require.NoError(t, err)
	assert.Equal(t, routeauth.Claims{TokenUse: "access", ClientID: "abc", Scopes: []string{"weather-api/get", "weather-api/post"}}, c)

	for _, tc := range []struct {
		name   string
		claims any
		want   error
		status int
	}{
		{"nil claims", nil, routeauth.ErrNoClaims, http.StatusUnauthorized},
		{"claims not an object", []any{"x"}, routeauth.ErrMalformedClaims, http.StatusUnauthorized},
		{"token_use a number", map[string]any{"token_use": 1.0}, routeauth.ErrMalformedClaims, http.StatusUnauthorized},
		{"client_id an object", map[string]any{"token_use": "access", "client_id": map[string]any{}}, routeauth.ErrMalformedClaims, http.StatusUnauthorized},
		{"id token", map[string]any{"token_use": "id", "scope": "weather-api/post"}, routeauth.ErrNotAccessToken, http.StatusForbidden},
		{"no scope", map[string]any{"token_use": "access", "client_id": "abc"}, routeauth.ErrInsufficientScope, http.StatusForbidden},
		{"tab-separated near miss", map[string]any{"token_use": "access", "client_id": "abc", "scope": "weather-api/pos\tweather-api/posts"}, routeauth.ErrInsufficientScope, http.StatusForbidden},
		{"no client_id", map[string]any{"token_use": "access", "scope": "weather-api/post"}, routeauth.ErrMalformedClaims, http.StatusUnauthorized},
		{"blank client_id", map[string]any{"token_use": "access", "client_id": " ", "scope": "weather-api/post"}, routeauth.ErrMalformedClaims, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := routeauth.Authorize(table, rc(tc.claims))
			assert.ErrorIs(t, err, tc.want)
			assert.Equal(t, tc.status, routeauth.Refuse(err).Status)
		})
	}
	_, err = routeauth.Authorize(table, events.APIGatewayProxyRequestContext{HTTPMethod: "GET", ResourcePath: "/"})
	assert.ErrorIs(t, err, routeauth.ErrUnknownRoute, "a route the table does not know is refused before claims are read")
}

// Whatever the authorizer hands over, reading claims never panics, and claims
// that pass carry an access token with a client.
func FuzzClaims(f *testing.F) {
	for _, seed := range []string{
		`{"claims":{"token_use":"access","client_id":"abc","scope":"weather-api/get"}}`,
		`{"claims":{"token_use":"id","scope":"weather-api/get"}}`,
		`{"claims":null}`, `{"claims":[1,2]}`, `{"claims":{"client_id":{"a":1}}}`, `{}`,
	} {
		f.Add(seed)
	}
	table := routetable.Table{{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}}}
	f.Fuzz(func(t *testing.T, authorizer string) {
		var a map[string]any
		if json.Unmarshal([]byte(authorizer), &a) != nil {
			return
		}
		claims, err := routeauth.Authorize(table, events.APIGatewayProxyRequestContext{HTTPMethod: "GET", ResourcePath: "/", Authorizer: a})
		if err != nil {
			if s := routeauth.Refuse(err).Status; s != http.StatusUnauthorized && s != http.StatusForbidden {
				t.Fatalf("refusal %d for %v", s, err)
			}
			return
		}
		if claims.TokenUse != "access" || strings.TrimSpace(claims.ClientID) == "" || !table[0].Opens(claims.Scopes) {
			t.Fatalf("let through %+v", claims)
		}
	})
}

// A suspended client is refused with 403 access_denied, not a 401 that would
// invite it to fetch a new token and retry; the challenge says invalid_token,
// RFC 6750's code for a revoked token.
func TestRefuseSuspendedClient(t *testing.T) {
	r := routeauth.Refuse(fmt.Errorf("%w: client abc is suspended", routeauth.ErrClientSuspended))
	assert.Equal(t, routeauth.Refusal{Status: http.StatusForbidden, Code: "access_denied", Challenge: `Bearer error="invalid_token", error_description="the client is suspended"`}, r)
}
