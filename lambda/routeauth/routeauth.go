// Package routeauth re-checks, inside the Lambda, what API Gateway's Cognito
// authorizer already checked: that the caller presented an access token, and
// that the token carries one of the scopes the route requires. The route
// table comes from the same declaration that configured API Gateway (the
// scopedapi construct hands it to the function as a file in a Lambda layer,
// named by SCOPEGATE_ROUTES_FILE), so the two checks cannot drift apart.
//
// It is defense in depth: if a method is ever deployed without scopes, or the
// function is invoked by something other than the API, the function still
// refuses callers that lack the scope.
package routeauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// The route table travels as a JSON file in a Lambda layer rather than in an
// environment variable: Lambda allows 4 KB of environment in all, which a
// table of about 70 routes fills, while a layer holds any API's table.
const (
	// FileEnvVar is the environment variable that names the table's file.
	FileEnvVar = "SCOPEGATE_ROUTES_FILE"
	// LayerDir is the file's directory inside the layer; Lambda mounts layers
	// under /opt, so the function finds it at LayerFile.
	LayerDir  = "scopegate"
	LayerFile = "/opt/" + LayerDir + "/routes.json"
)

// LoadTable reads the route table from the file that FileEnvVar names.
func LoadTable() (Table, error) {
	path := os.Getenv(FileEnvVar)
	if path == "" {
		return nil, fmt.Errorf("routeauth: %s is not set: the function refuses every request without a route table", FileEnvVar)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("routeauth: reading the route table: %w", err)
	}
	return ParseTable(string(data))
}

// AnyMethod matches every HTTP method, as API Gateway's ANY does.
const AnyMethod = "ANY"

// Route is one API Gateway method: the HTTP method, the resource path as
// declared in API Gateway ("/", "/{id}", "/{proxy+}") and the scopes of which
// a token must carry at least one.
type Route struct {
	Method string   `json:"method"`
	Path   string   `json:"path"`
	Scopes []string `json:"scopes"`
}

// Table is the list of routes of one API.
type Table []Route

// ParseTable decodes and checks a route table. A route without scopes is an
// error: the function must never treat a route as open.
func ParseTable(data string) (Table, error) {
	if strings.TrimSpace(data) == "" {
		return nil, errors.New("routeauth: the route table is empty: the function refuses every request without one")
	}
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	var t Table
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("routeauth: not a route table: %w", err)
	}
	if len(t) == 0 {
		return nil, errors.New("routeauth: the route table holds no routes")
	}
	for i, r := range t {
		if r.Method == "" || !strings.HasPrefix(r.Path, "/") {
			return nil, fmt.Errorf("routeauth: route %d (%s %q) needs a method and a path starting with '/'", i, r.Method, r.Path)
		}
		if len(r.Scopes) == 0 {
			return nil, fmt.Errorf("routeauth: route %s %s has no scopes", r.Method, r.Path)
		}
	}
	return t, nil
}

// Find returns the route API Gateway matched: its method and resource path
// come from the request context, not from the URL the caller sent.
func (t Table) Find(method, resourcePath string) (Route, bool) {
	for _, r := range t {
		if r.Path == resourcePath && (r.Method == method || r.Method == AnyMethod) {
			return r, true
		}
	}
	return Route{}, false
}

// Claims are the parts of a Cognito access token the check needs.
type Claims struct {
	TokenUse string
	ClientID string
	Scopes   []string
}

// Reasons a request is refused. They map onto RFC 6750 error codes.
var (
	ErrNoClaims          = errors.New("no authorizer claims in the request context")
	ErrMalformedClaims   = errors.New("authorizer claims are malformed")
	ErrNotAccessToken    = errors.New("token is not an access token")
	ErrInsufficientScope = errors.New("token lacks the scope this route requires")
	ErrUnknownRoute      = errors.New("route is not in the route table")
)

// ClaimsFromAuthorizer reads the claims a REST API Cognito authorizer puts into
// requestContext.authorizer.claims, where every value is a string and scopes
// are separated by spaces.
func ClaimsFromAuthorizer(authorizer map[string]any) (Claims, error) {
	raw, ok := authorizer["claims"]
	if !ok || raw == nil {
		return Claims{}, ErrNoClaims
	}
	claims, ok := raw.(map[string]any)
	if !ok {
		return Claims{}, fmt.Errorf("%w: claims is a %T, not an object", ErrMalformedClaims, raw)
	}
	str := func(key string) (string, error) {
		v, present := claims[key]
		if !present {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%w: %s is a %T, not a string", ErrMalformedClaims, key, v)
		}
		return s, nil
	}
	var c Claims
	var err error
	if c.TokenUse, err = str("token_use"); err != nil {
		return Claims{}, err
	}
	if c.ClientID, err = str("client_id"); err != nil {
		return Claims{}, err
	}
	scope, err := str("scope")
	if err != nil {
		return Claims{}, err
	}
	c.Scopes = strings.Fields(scope)
	return c, nil
}

// Allows reports whether the claims satisfy the route: an access token that
// carries at least one of its scopes, compared exactly (scopes are
// case-sensitive, and "weather-api/gett" is not "weather-api/get").
func (r Route) Allows(c Claims) error {
	if c.TokenUse != "access" {
		return fmt.Errorf("%w (token_use %q)", ErrNotAccessToken, c.TokenUse)
	}
	if r.Opens(c.Scopes) {
		return nil
	}
	return fmt.Errorf("%w: %s %s needs one of %s", ErrInsufficientScope, r.Method, r.Path, strings.Join(r.Scopes, ", "))
}

// Authorize checks an API Gateway request context against the table and
// returns the claims of a caller that may proceed.
func (t Table) Authorize(rc events.APIGatewayProxyRequestContext) (Claims, error) {
	route, ok := t.Find(rc.HTTPMethod, rc.ResourcePath)
	if !ok {
		return Claims{}, fmt.Errorf("%w: %s %s", ErrUnknownRoute, rc.HTTPMethod, rc.ResourcePath)
	}
	claims, err := ClaimsFromAuthorizer(rc.Authorizer)
	if err != nil {
		return Claims{}, err
	}
	if err := route.Allows(claims); err != nil {
		return claims, err
	}
	return claims, nil
}

// Refusal describes how to answer a refused request, per RFC 6750: 401 with
// "invalid_token" when there is no usable access token, 403 with
// "insufficient_scope" when the token is fine but does not open this route.
// (An ID token or a missing token_use is a valid token of the wrong kind: 403
// with "invalid_token".)
type Refusal struct {
	Status    int
	Code      string
	Challenge string
}

// Refuse maps an error from Authorize to its Refusal.
func Refuse(err error) Refusal {
	switch {
	case errors.Is(err, ErrNoClaims):
		return Refusal{http.StatusUnauthorized, "invalid_token", "Bearer"}
	case errors.Is(err, ErrMalformedClaims):
		return Refusal{http.StatusUnauthorized, "invalid_token", `Bearer error="invalid_token"`}
	case errors.Is(err, ErrInsufficientScope), errors.Is(err, ErrUnknownRoute):
		return Refusal{http.StatusForbidden, "insufficient_scope", `Bearer error="insufficient_scope"`}
	default:
		return Refusal{http.StatusForbidden, "invalid_token", `Bearer error="invalid_token"`}
	}
}
