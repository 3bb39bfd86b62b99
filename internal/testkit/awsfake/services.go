package awsfake

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Stack answers CloudFormation DescribeStacks for the stack name with the
// given outputs (CloudFormation API reference, DescribeStacks: Stacks.member
// with StackName, StackStatus, CreationTime and Outputs.member OutputKey and
// OutputValue), and a missing stack as CloudFormation does: ValidationError
// "Stack with id NAME does not exist". A later call adds another stack.
func (s *Server) Stack(name string, outputs map[string]string) {
	s.mu.Lock()
	if s.stacks == nil {
		s.stacks = map[string]map[string]string{}
	}
	s.stacks[name] = outputs
	s.mu.Unlock()
	s.Handle("cloudformation", "DescribeStacks", func(r Request) (any, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		name := r.Params.Get("StackName")
		outputs, ok := s.stacks[name]
		if !ok {
			return nil, &Error{Code: "ValidationError", Message: "Stack with id " + name + " does not exist"}
		}
		var b strings.Builder
		for _, k := range SortedKeys(outputs) {
			fmt.Fprintf(&b, "<member><OutputKey>%s</OutputKey><OutputValue>%s</OutputValue></member>", XMLText(k), XMLText(outputs[k]))
		}
		return fmt.Sprintf(`<Stacks><member><StackName>%s</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>%s</Outputs></member></Stacks>`, XMLText(name), b.String()), nil
	})
}

// UserPoolClients is a Cognito user pool's app clients behind
// DescribeUserPoolClient and UpdateUserPoolClient, kept as the JSON the API
// speaks (UserPoolClientType).
//
// UpdateUserPoolClient behaves as its API reference says: "If you don't
// provide a value for an attribute, Amazon Cognito sets it to its default
// value." The new client is the request's attributes, plus what a request
// cannot set (ClientId, UserPoolId, ClientSecret, CreationDate) and a new
// LastModifiedDate; an attribute left out is gone, except
// AllowedOAuthFlowsUserPoolClient, which defaults to false
// (UserPoolClientType: "If you don't set a value ... it defaults to false"),
// and RefreshTokenValidity, 30 (days; UpdateUserPoolClient: the default).
// An unknown pool or client is a ResourceNotFoundException. The same page
// says AllowedOAuthFlowsUserPoolClient must be true before OAuth flows and
// scopes can be configured; whether Cognito refuses or drops them with it
// false is not documented, so the fake keeps them.
type UserPoolClients struct {
	mu      sync.Mutex
	pool    string
	clients map[string]map[string]any
}

// UserPoolClients serves the app clients of pool, each a UserPoolClientType
// as JSON (its ClientId names it).
func (s *Server) UserPoolClients(pool string, clients ...map[string]any) *UserPoolClients {
	u := &UserPoolClients{pool: pool, clients: map[string]map[string]any{}}
	for _, c := range clients {
		c = copyMap(c)
		c["UserPoolId"] = pool
		u.clients[c["ClientId"].(string)] = c
	}
	find := func(r Request) (map[string]any, error) {
		if r.String("UserPoolId") != u.pool {
			return nil, &Error{Code: "ResourceNotFoundException", Message: "User pool " + r.String("UserPoolId") + " does not exist."}
		}
		c, ok := u.clients[r.String("ClientId")]
		if !ok {
			return nil, &Error{Code: "ResourceNotFoundException", Message: "User pool client " + r.String("ClientId") + " does not exist."}
		}
		return c, nil
	}
	s.Handle("cognito-idp", "DescribeUserPoolClient", func(r Request) (any, error) {
		u.mu.Lock()
		defer u.mu.Unlock()
		c, err := find(r)
		if err != nil {
			return nil, err
		}
		return map[string]any{"UserPoolClient": copyMap(c)}, nil
	})
	s.Handle("cognito-idp", "UpdateUserPoolClient", func(r Request) (any, error) {
		u.mu.Lock()
		defer u.mu.Unlock()
		old, err := find(r)
		if err != nil {
			return nil, err
		}
		next := map[string]any{"AllowedOAuthFlowsUserPoolClient": false, "RefreshTokenValidity": 30.0}
		for k, v := range r.Input {
			next[k] = v
		}
		for _, k := range []string{"ClientId", "UserPoolId", "ClientSecret", "CreationDate"} {
			if v, ok := old[k]; ok {
				next[k] = v
			}
		}
		next["LastModifiedDate"] = float64(time.Now().Unix())
		u.clients[r.String("ClientId")] = next
		return map[string]any{"UserPoolClient": copyMap(next)}, nil
	})
	return u
}

// Get is the client as the fake holds it now.
func (u *UserPoolClients) Get(clientID string) map[string]any {
	u.mu.Lock()
	defer u.mu.Unlock()
	return copyMap(u.clients[clientID])
}

// APIKeys is API Gateway's API keys behind GetApiKey (GET /apikeys/{id})
// and UpdateApiKey (PATCH /apikeys/{id}), as their API reference pages say:
// the ApiKey resource (id, name, enabled, ...); UpdateApiKey takes
// patchOperations, of which this fake applies "replace" on "/enabled" and
// "/description" and refuses any other with a BadRequestException. A key
// not served has no handler (UnknownOperationException), which a test sees.
type APIKeys struct {
	mu   sync.Mutex
	keys map[string]map[string]any
}

// APIKeys serves the given keys, each with at least an "id".
func (s *Server) APIKeys(keys ...map[string]any) *APIKeys {
	a := &APIKeys{keys: map[string]map[string]any{}}
	for _, k := range keys {
		id := k["id"].(string)
		a.keys[id] = copyMap(k)
		s.Handle("apigateway", "GET /apikeys/"+id, func(Request) (any, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			return copyMap(a.keys[id]), nil
		})
		s.Handle("apigateway", "PATCH /apikeys/"+id, func(r Request) (any, error) {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.patch(id, r)
		})
	}
	return a
}

// Enabled is the key's enabled flag now.
func (a *APIKeys) Enabled(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	enabled, _ := a.keys[id]["enabled"].(bool)
	return enabled
}

func (a *APIKeys) patch(id string, r Request) (any, error) {
	key := a.keys[id]
	ops, _ := r.Input["patchOperations"].([]any)
	for _, o := range ops {
		op, _ := o.(map[string]any)
		value, _ := op["value"].(string)
		switch {
		case op["op"] == "replace" && op["path"] == "/enabled" && (value == "true" || value == "false"):
			key["enabled"] = value == "true"
		case op["op"] == "replace" && op["path"] == "/description":
			key["description"] = value
		default:
			return nil, &Error{Code: "BadRequestException", Message: fmt.Sprintf("Invalid patch operation specified: %v", op)}
		}
	}
	key["lastUpdatedDate"] = time.Now()
	return copyMap(key), nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}
