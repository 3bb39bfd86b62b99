package routeauth_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/lambda/routeauth"
	"github.com/scopegate/scopegate/routetable"
)

func TestParseTable(t *testing.T) {
	table, err := routetable.Parse([]byte(`[{"method":"GET","path":"/","scopes":["weather-api/get"]},{"method":"ANY","path":"/{proxy+}","scopes":["default/default"]}]`))
	require.NoError(t, err)
	assert.Len(t, table, 2)

	for _, tc := range []struct{ data, want string }{
		{"", "the route table is empty"},
		{"[]", "holds no routes"},
		{"{}", "not a route table"},
		{`[{"method":"GET","path":"/","scopes":[]}]`, "route GET / has no scopes"},
		{`[{"method":"GET","path":"/"}]`, "route GET / has no scopes"},
		{`[{"method":"","path":"/","scopes":["a/b"]}]`, "needs a method"},
		{`[{"method":"GET","path":"x","scopes":["a/b"]}]`, "path starting with '/'"},
		{`[{"method":"GET","path":"/","scopes":["a/b"],"public":true}]`, `unknown field "public"`},
	} {
		_, err := routetable.Parse([]byte(tc.data))
		assert.ErrorContains(t, err, tc.want, tc.data)
	}
}

func TestLoadTableReadsTheFileTheEnvironmentNames(t *testing.T) {
	t.Setenv(routetable.FileEnvVar, "")
	_, err := routetable.Load()
	assert.ErrorContains(t, err, "SCOPEGATE_ROUTES_FILE is not set")

	path := filepath.Join(t.TempDir(), "routes.json")
	t.Setenv(routetable.FileEnvVar, path)
	_, err = routetable.Load()
	assert.ErrorContains(t, err, "reading the route table")

	require.NoError(t, os.WriteFile(path, []byte(`[{"method":"GET","path":"/","scopes":["weather-api/get"]}]`), 0o644))
	table, err := routetable.Load()
	require.NoError(t, err)
	assert.Equal(t, routetable.Table{{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}}}, table)
}

func TestFindMatchesMethodAndResourcePath(t *testing.T) {
	table := routetable.Table{
		{Method: "GET", Path: "/", Scopes: []string{"a/get"}},
		{Method: "ANY", Path: "/{proxy+}", Scopes: []string{"a/any"}},
	}
	r, ok := table.Find("GET", "/")
	assert.True(t, ok)
	assert.Equal(t, []string{"a/get"}, r.Scopes)
	_, ok = table.Find("POST", "/")
	assert.False(t, ok)
	r, ok = table.Find("PATCH", "/{proxy+}")
	assert.True(t, ok)
	assert.Equal(t, []string{"a/any"}, r.Scopes)
	_, ok = table.Find("GET", "/{id}")
	assert.False(t, ok)
}

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
