package routeauth

import (
	"encoding/json"
	"slices"
)

// AccessPolicy is what a deployed API promises: the scopes each route
// requires, and for each client the scopes it may request and whether those
// open each route. Stacks publish it as an output; the verifier checks a
// deployment against it.
type AccessPolicy struct {
	// Routes maps "METHOD /path" to the route's scopes (any one opens it).
	Routes map[string][]string `json:"routes"`
	// Clients maps a client's name to what it may do.
	Clients map[string]ClientAccess `json:"clients"`
}

// ClientAccess is one client's part of an AccessPolicy.
type ClientAccess struct {
	Scopes []string        `json:"scopes"`
	Routes map[string]bool `json:"routes"`
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

// Policy works out the access policy of the table for the given clients
// (client name to the scopes it may request).
func (t Table) Policy(clients map[string][]string) AccessPolicy {
	p := AccessPolicy{Routes: map[string][]string{}, Clients: map[string]ClientAccess{}}
	for _, r := range t {
		p.Routes[r.Key()] = r.Scopes
	}
	for name, scopes := range clients {
		access := ClientAccess{Scopes: scopes, Routes: map[string]bool{}}
		for _, r := range t {
			access.Routes[r.Key()] = r.Opens(scopes)
		}
		p.Clients[name] = access
	}
	return p
}

// JSON is the policy as compact JSON with sorted keys.
func (p AccessPolicy) JSON() string {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // maps of strings and bools always marshal
	}
	return string(b)
}
