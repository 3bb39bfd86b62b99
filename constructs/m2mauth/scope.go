package m2mauth

import (
	"fmt"
	"strings"
)

// ResourceServer declares an OAuth 2.0 resource server: an identifier and the
// custom scopes that clients of the pool may be granted on it. It is a plain
// declaration; NewAuthServer turns it into an AWS::Cognito::UserPoolResourceServer.
//
// Declare scopes with AddScope and hand the returned Scope values to clients
// and routes: a Scope can only come from a resource server, so a client or a
// route cannot name a scope nobody declared.
type ResourceServer struct {
	identifier string
	name       string
	scopes     []scopeDeclaration

	// owner is set when an AuthServer adopts this declaration; from then on the
	// declaration is frozen and its scopes belong to that pool.
	owner *AuthServer
}

type scopeDeclaration struct {
	name        string
	description string
}

// NewResourceServer declares a resource server. identifier is the prefix of its
// scopes in tokens ("weather-api" gives "weather-api/get"); name is the
// human-readable name Cognito shows.
func NewResourceServer(identifier, name string) *ResourceServer {
	return &ResourceServer{identifier: identifier, name: name}
}

// AddScope declares a custom scope on the resource server and returns it.
// The name and description are checked, with every other prop, when the
// resource server is given to NewAuthServer.
func (r *ResourceServer) AddScope(name, description string) Scope {
	if r.owner != nil {
		panic(fmt.Errorf("m2mauth: cannot add scope %q to resource server %q: it already belongs to a user pool", name, r.identifier))
	}
	r.scopes = append(r.scopes, scopeDeclaration{name: name, description: description})
	return Scope{server: r, name: name}
}

// Identifier is the resource server's identifier, the prefix of its scopes.
func (r *ResourceServer) Identifier() string { return r.identifier }

// Name is the resource server's human-readable name.
func (r *ResourceServer) Name() string { return r.name }

// Scopes lists the scopes declared so far, in declaration order.
func (r *ResourceServer) Scopes() []Scope {
	scopes := make([]Scope, len(r.scopes))
	for i, s := range r.scopes {
		scopes[i] = Scope{server: r, name: s.name}
	}
	return scopes
}

// Lookup returns the declared scope with the given short name ("get" on
// "weather-api"), or an error that lists what is declared.
func (r *ResourceServer) Lookup(name string) (Scope, error) {
	for _, s := range r.scopes {
		if s.name == name {
			return Scope{server: r, name: name}, nil
		}
	}
	return Scope{}, fmt.Errorf("scope %q is not declared by resource server %q (declared: %s)",
		r.identifier+"/"+name, r.identifier, strings.Join(r.scopeNames(), ", "))
}

func (r *ResourceServer) scopeNames() []string {
	names := make([]string, len(r.scopes))
	for i, s := range r.scopes {
		names[i] = s.name
	}
	return names
}

// Scope is a custom scope declared by a ResourceServer. Its zero value names
// no scope and is refused wherever a scope is required.
type Scope struct {
	server *ResourceServer
	name   string
}

// String is the scope as it appears in access tokens and in API Gateway's
// AuthorizationScopes: "<resource server identifier>/<scope name>".
func (s Scope) String() string {
	if s.server == nil {
		return ""
	}
	return s.server.identifier + "/" + s.name
}

// Name is the scope's short name, without the resource server identifier.
func (s Scope) Name() string { return s.name }

// ResourceServer is the declaration the scope came from.
func (s Scope) ResourceServer() *ResourceServer { return s.server }

// IsZero reports whether s is the zero Scope, which names nothing.
func (s Scope) IsZero() bool { return s.server == nil }

// standardScopes are the OpenID Connect and Cognito scopes that only make sense
// for a signed-in user. A machine has no user, and granting them to a client
// would make its tokens look like user tokens to anything that trusts them.
var standardScopes = map[string]bool{
	"openid":                        true,
	"profile":                       true,
	"email":                         true,
	"phone":                         true,
	"aws.cognito.signin.user.admin": true,
}

// ParseScope resolves a scope written as text ("weather-api/get"), e.g. from
// cdk.json context, against the given resource servers. Standard OIDC scopes
// and scopes nobody declared are errors that say so.
func ParseScope(servers []*ResourceServer, text string) (Scope, error) {
	if standardScopes[text] {
		return Scope{}, fmt.Errorf("scope %q is a standard OpenID Connect scope for signed-in users; machine clients may only hold custom scopes \"<resource server>/<scope>\"", text)
	}
	// Identifiers may themselves contain '/' (URLs are common), so match on
	// the longest identifier that prefixes the text.
	var best *ResourceServer
	for _, r := range servers {
		if strings.HasPrefix(text, r.identifier+"/") && (best == nil || len(r.identifier) > len(best.identifier)) {
			best = r
		}
	}
	if best == nil {
		ids := make([]string, len(servers))
		for i, r := range servers {
			ids[i] = r.identifier
		}
		return Scope{}, fmt.Errorf("scope %q names no declared resource server (declared: %s)", text, strings.Join(ids, ", "))
	}
	return best.Lookup(strings.TrimPrefix(text, best.identifier+"/"))
}
