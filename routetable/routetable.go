// Package routetable is the one description of a scoped API that every part
// of scopegate shares: which scopes open which route. The constructs write it
// (into API Gateway's methods and into a file the function reads), the
// function authorizes and routes by it, and the verifier and the test servers
// compare against it. It imports nothing but the standard library, so that
// neither infrastructure code nor the function pulls the other's
// dependencies.
package routetable

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/scopegate/scopegate/contract"
)

// AnyMethod matches every HTTP method, as API Gateway's ANY does.
const AnyMethod = "ANY"

// The table travels to the function as a JSON file in a Lambda layer rather
// than in an environment variable: Lambda allows 4 KB of environment in all,
// which a table of about 70 routes fills, while a layer holds any API's table.
const (
	// FileEnvVar names the table's file, or several, separated by ':' (one
	// per API when a function serves several; they are merged).
	FileEnvVar = contract.EnvRoutesFile
	// LayerDir is the files' directory inside a layer; Lambda mounts layers
	// under /opt.
	LayerDir = "scopegate"
)

// LayerFile is where the function finds the table of the API whose layer
// carries it, named by the table's digest so that several can coexist.
func LayerFile(name string) string { return "/opt/" + LayerDir + "/" + name }

// Route is one API Gateway method: the HTTP method, the resource path as
// declared in API Gateway ("/", "/{id}", "/{proxy+}") and the scopes of which
// a token must carry at least one.
type Route struct {
	Method string   `json:"method"`
	Path   string   `json:"path"`
	Scopes []string `json:"scopes"`
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

// Table is the list of routes of one API.
type Table []Route

// Parse decodes and checks a route table. A route without scopes is an
// error: nothing may ever treat a route as open.
func Parse(data []byte) (Table, error) {
	if strings.TrimSpace(string(data)) == "" {
		return nil, errors.New("routetable: the route table is empty: the function refuses every request without one")
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var t Table
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("routetable: not a route table: %w", err)
	}
	if len(t) == 0 {
		return nil, errors.New("routetable: the route table holds no routes")
	}
	for i, r := range t {
		if r.Method == "" || !strings.HasPrefix(r.Path, "/") {
			return nil, fmt.Errorf("routetable: route %d (%s %q) needs a method and a path starting with '/'", i, r.Method, r.Path)
		}
		if len(r.Scopes) == 0 {
			return nil, fmt.Errorf("routetable: route %s %s has no scopes", r.Method, r.Path)
		}
	}
	return t, nil
}

// Encode is the table as the JSON Parse reads.
func (t Table) Encode() []byte {
	data, err := json.Marshal(t)
	if err != nil {
		panic(err) // strings only
	}
	return data
}

// Load reads the table from the file or files that FileEnvVar names.
func Load() (Table, error) {
	list := os.Getenv(FileEnvVar)
	if list == "" {
		return nil, fmt.Errorf("routetable: %s is not set: the function refuses every request without a route table", FileEnvVar)
	}
	var tables []Table
	for _, path := range filepath.SplitList(list) {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("routetable: reading the route table: %w", err)
		}
		t, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, path)
		}
		tables = append(tables, t)
	}
	return Merge(tables...)
}

// Merge is the union of tables, for a function that serves several APIs.
// The same method and path with different scopes in two tables is an error:
// the function could not tell which API's promise to keep.
func Merge(tables ...Table) (Table, error) {
	var out Table
	seen := map[string]Route{}
	for _, t := range tables {
		for _, r := range t {
			if prev, dup := seen[r.Key()]; dup {
				if !slices.Equal(prev.Scopes, r.Scopes) {
					return nil, fmt.Errorf("routetable: %s needs %s in one table and %s in another", r.Key(), strings.Join(prev.Scopes, ", "), strings.Join(r.Scopes, ", "))
				}
				continue
			}
			seen[r.Key()] = r
			out = append(out, r)
		}
	}
	return out, nil
}

// Find returns the route API Gateway matched. Pass the method and resource
// path of the request context, never the URL the caller sent: they are what
// API Gateway authorized.
func (t Table) Find(method, resourcePath string) (Route, bool) {
	for _, r := range t {
		if r.Path == resourcePath && (r.Method == method || r.Method == AnyMethod) {
			return r, true
		}
	}
	return Route{}, false
}

// Equal reports whether two tables hold the same routes, in any order.
func (t Table) Equal(other Table) bool {
	if len(t) != len(other) {
		return false
	}
	a, b := t.sorted(), other.sorted()
	for i := range a {
		if a[i].Key() != b[i].Key() || !slices.Equal(a[i].Scopes, b[i].Scopes) {
			return false
		}
	}
	return true
}

func (t Table) sorted() Table {
	s := slices.Clone(t)
	sort.Slice(s, func(i, j int) bool { return s[i].Key() < s[j].Key() })
	return s
}

// AccessPolicy is what a deployed API promises: the scopes each route
// requires. Stacks publish it as an output beside the AuthServer's clients
// output (each client's scopes); together they say which client may call
// which route, and the verifier checks a deployment against them. It does
// not list each client's routes: with hundreds of clients and routes that
// matrix would not fit a template.
type AccessPolicy struct {
	// Routes maps "METHOD /path" to the route's scopes (any one opens it).
	Routes map[string][]string `json:"routes"`
	// Tiers maps each rate-limit tier to its limits, which API Gateway
	// applies to each client of the tier on its own (its API key); absent
	// when the API has no tiers.
	Tiers map[string]RateLimit `json:"tiers,omitempty"`
}

// RateLimit is what a tier allows each of its clients.
type RateLimit struct {
	// RateLimit is the steady rate, requests per second.
	RateLimit float64 `json:"rateLimit"`
	// BurstLimit is the burst, requests.
	BurstLimit int `json:"burstLimit"`
	// QuotaLimit requests per QuotaPeriod (DAY, WEEK or MONTH); none when 0.
	QuotaLimit  int    `json:"quotaLimit,omitempty"`
	QuotaPeriod string `json:"quotaPeriod,omitempty"`
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
