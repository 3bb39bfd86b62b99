// Package routeauth re-checks, inside the Lambda, what API Gateway's Cognito
// authorizer already checked: that the caller presented an access token, and
// that the token carries one of the scopes the route requires. The route
// table (package routetable) comes from the same declaration that configured
// API Gateway, so the two checks cannot drift apart.
//
// It is defense in depth: if a method is ever deployed without scopes, or the
// function is invoked by something other than the API, the function still
// refuses callers that lack the scope.
package routeauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scopegate/scopegate/routetable"
)

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
	// ErrClientSuspended: the token is valid, but its client is suspended
	// (in configuration, or without a deploy; see package
	// lambda/suspension).
	ErrClientSuspended = errors.New("client is suspended")
)

// Suspensions refuses the requests of suspended clients after Authorize let
// them through: Check returns an error wrapping ErrClientSuspended for a
// suspended client, nil otherwise. Package lambda/suspension implements it.
type Suspensions interface {
	Check(ctx context.Context, clientID string) error
}

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
func Allows(r routetable.Route, c Claims) error {
	if c.TokenUse != "access" {
		return fmt.Errorf("%w (token_use %q)", ErrNotAccessToken, c.TokenUse)
	}
	if strings.TrimSpace(c.ClientID) == "" {
		// A Cognito access token always names its client; without one there
		// is nobody to record or hold to account.
		return fmt.Errorf("%w: the access token names no client_id", ErrMalformedClaims)
	}
	if r.Opens(c.Scopes) {
		return nil
	}
	return fmt.Errorf("%w: %s %s needs one of %s", ErrInsufficientScope, r.Method, r.Path, strings.Join(r.Scopes, ", "))
}

// Authorize checks an API Gateway request context against the table and
// returns the claims of a caller that may proceed.
func Authorize(t routetable.Table, rc events.APIGatewayProxyRequestContext) (Claims, error) {
	route, ok := t.Find(rc.HTTPMethod, rc.ResourcePath)
	if !ok {
		return Claims{}, fmt.Errorf("%w: %s %s", ErrUnknownRoute, rc.HTTPMethod, rc.ResourcePath)
	}
	claims, err := ClaimsFromAuthorizer(rc.Authorizer)
	if err != nil {
		return Claims{}, err
	}
	if err := Allows(route, claims); err != nil {
		return claims, err
	}
	return claims, nil
}

// Refusal describes how to answer a refused request, per RFC 6750: 401 with
// "invalid_token" when there is no usable access token, 403 with
// "insufficient_scope" when the token is fine but does not open this route,
// 403 with "access_denied" when the token's client is suspended.
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
	case errors.Is(err, ErrClientSuspended):
		// 403, not RFC 6750's 401 for a revoked token: a 401 invites the
		// client to fetch a new token and retry, and a suspended client
		// must stop. The challenge still says invalid_token, the code RFC
		// 6750 section 3.1 gives a revoked token.
		return Refusal{http.StatusForbidden, "access_denied", `Bearer error="invalid_token", error_description="the client is suspended"`}
	case errors.Is(err, ErrInsufficientScope), errors.Is(err, ErrUnknownRoute):
		return Refusal{http.StatusForbidden, "insufficient_scope", `Bearer error="insufficient_scope"`}
	default:
		return Refusal{http.StatusForbidden, "invalid_token", `Bearer error="invalid_token"`}
	}
}
