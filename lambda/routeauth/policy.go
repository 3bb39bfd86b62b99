package routeauth

import (
	"encoding/json"
	"slices"
)

// AccessPolicy is what a deployed API promises: the scopes each route
// requires. Stacks publish it as an output beside the AuthServer's clients
// output (each client's scopes); together they say which client may call
// which route, and the verifier checks a deployment against them. It does
// not list each client's routes: with hundreds of clients and routes that
// matrix would not fit a template.
type AccessPolicy struct {
	// Routes maps "METHOD /path" to the route's scopes (any one opens it).
	Routes map[string][]string `json:"routes"`
}

// Key is the route's name in an AccessPolicy: "METHOD /path".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Opens reports whether a token carrying scopes gets through the route.
func (r Route) Opens(scopes []string) bool {
	for _, want := range r.Scopes {
		if slices.Contains(scopes, want) {
			return true
		}
	}
	return false
}

// Policy is the access policy of the table.
func (t Table) Policy() AccessPolicy {
	p := AccessPolicy{Routes: map[string][]string{}}
	for _, r := range t {
		p.Routes[r.Key()] = r.Scopes
	}
	return p
}

// Opens lists, for a client that may request scopes, whether each route of
// the policy lets it in.
func (p AccessPolicy) Opens(scopes []string) map[string]bool {
	open := map[string]bool{}
	for key, routeScopes := range p.Routes {
		open[key] = Route{Scopes: routeScopes}.Opens(scopes)
	}
	return open
}

// JSON is the policy as compact JSON with sorted keys.
func (p AccessPolicy) JSON() string {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return string(b)
}
