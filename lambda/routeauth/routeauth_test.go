package routeauth_test

import (
	"net/http"
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
		{"no scope", map[string]any{"token_use": "access"}, routeauth.ErrInsufficientScope, http.StatusForbidden},
		{"tab-separated near miss", map[string]any{"token_use": "access", "scope": "weather-api/pos\tweather-api/posts"}, routeauth.ErrInsufficientScope, http.StatusForbidden},
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
