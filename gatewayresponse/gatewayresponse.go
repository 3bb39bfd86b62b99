// Package gatewayresponse is the one description of API Gateway's own
// refusals on a scoped API: which gateway response type answers what, with
// which status, headers and JSON body. The constructs write these into every
// ScopedAPI (AWS::ApiGateway::GatewayResponse), the local test servers answer
// with them, and the verifier's conformance check compares a deployed API's
// answers with them. It imports nothing but the standard library.
//
// What AWS documents, and what these answers are built on:
//
//   - API Gateway developer guide, "Integrate a REST API with an Amazon
//     Cognito user pool": a method with authorization scopes needs an access
//     token that carries at least one of them; when none of the method's
//     scopes matches a scope in the token, "the call fails with a 401
//     Unauthorized response". A missing, malformed or expired token, and a
//     token of another user pool, fail the same way.
//   - API Gateway developer guide, "Gateway response types": UNAUTHORIZED
//     (401) is the answer when the Cognito authorizer fails to authenticate
//     the caller; ACCESS_DENIED (403) is an explicit denial (a Lambda
//     authorizer's Deny policy, a resource policy); INVALID_API_KEY (403),
//     THROTTLED (429) and QUOTA_EXCEEDED (429) belong to API keys and usage
//     plans.
//   - API Gateway developer guide, "Choose an API key source": a method that
//     requires an API key answers a request without one 403 Forbidden. The
//     documents do not say whether that answer goes through INVALID_API_KEY
//     or the default 4XX response; the conformance check (bin/verify
//     -conformance) records which one a deployed API uses.
//
// So a 401 from a scoped API does not say the token is invalid: it may be a
// perfectly good token without the method's scope. The UNAUTHORIZED answer
// therefore carries a Bearer challenge with no error code (RFC 6750 section
// 3: a resource server that cannot tell which error applies may omit it) and
// a body that lists what the 401 can mean.
package gatewayresponse

import (
	"encoding/json"
	"fmt"
)

// Response is one gateway response of a scoped API.
type Response struct {
	// ID is the construct id the response is created under.
	ID string
	// Type is API Gateway's response type, e.g. "UNAUTHORIZED".
	Type string
	// Status is the HTTP status code.
	Status int
	// Code is the body's "error" field, e.g. "unauthorized".
	Code string
	// Description, when set, is the body's "error_description": what the
	// refusal can mean, for a caller that reads the body.
	Description string
	// Challenge is the WWW-Authenticate header, "" for none.
	Challenge string
	// RetryAfter is the Retry-After header in seconds, "" for none.
	RetryAfter string
}

// The refusals of a scoped API. API Gateway renders $context.error.messageString
// as a quoted JSON string (e.g. "Unauthorized").
var (
	// Unauthorized: no token, a malformed, expired or foreign token, or a
	// valid access token that carries none of the method's scopes: API
	// Gateway does not tell these apart.
	Unauthorized = Response{
		ID: "Unauthorized", Type: "UNAUTHORIZED", Status: 401, Code: "unauthorized",
		Description: "no access token, or one that is malformed, expired, issued by another user pool, or carries none of the scopes this method requires",
		Challenge:   `Bearer realm="scopegate"`,
	}
	// AccessDenied: an explicit denial. A Cognito authorizer never answers
	// this; a resource policy or a Lambda authorizer added by the user can.
	AccessDenied = Response{
		ID: "AccessDenied", Type: "ACCESS_DENIED", Status: 403, Code: "access_denied",
	}
	// InvalidAPIKey: a method that requires an API key got a key API
	// Gateway does not know, or one not in a usage plan of the stage.
	InvalidAPIKey = Response{
		ID: "InvalidApiKey", Type: "INVALID_API_KEY", Status: 403, Code: "invalid_api_key",
	}
	// Throttled: the caller's usage plan rate (or the stage's) was exceeded.
	Throttled = Response{
		ID: "Throttled", Type: "THROTTLED", Status: 429, Code: "throttled", RetryAfter: "1",
	}
	// QuotaExceeded: the caller's usage plan quota is spent.
	QuotaExceeded = Response{
		ID: "QuotaExceeded", Type: "QUOTA_EXCEEDED", Status: 429, Code: "quota_exceeded",
	}
)

// All is every response above, in a fixed order.
var All = []Response{Unauthorized, AccessDenied, InvalidAPIKey, Throttled, QuotaExceeded}

// ForbiddenMessage is the body API Gateway's default 403 sends for a request
// without a required API key ("Choose an API key source") and for a path
// or method the API does not have.
const ForbiddenMessage = `{"message":"Forbidden"}`

// Template is the response's application/json mapping template.
func (r Response) Template() string {
	t := fmt.Sprintf(`{"error":%q,"message":$context.error.messageString`, r.Code)
	if r.Description != "" {
		t += fmt.Sprintf(`,"error_description":%q`, r.Description)
	}
	return t + "}"
}

// Body is the body API Gateway sends for the template, with message as
// $context.error.messageString.
func (r Response) Body(message string) string {
	m, _ := json.Marshal(message)
	t := fmt.Sprintf(`{"error":%q,"message":%s`, r.Code, m)
	if r.Description != "" {
		t += fmt.Sprintf(`,"error_description":%q`, r.Description)
	}
	return t + "}"
}

// Headers are the response's headers as HTTP sends them.
func (r Response) Headers() map[string]string {
	h := map[string]string{"Content-Type": "application/json"}
	if r.Challenge != "" {
		h["WWW-Authenticate"] = r.Challenge
	}
	if r.RetryAfter != "" {
		h["Retry-After"] = r.RetryAfter
	}
	return h
}

// Body is a refusal's JSON body as scopegate shapes it.
type Body struct {
	Error       string `json:"error"`
	Message     string `json:"message"`
	Description string `json:"error_description,omitempty"`
}

// Parse reads a refusal's body; ok is false when it is not one of ours.
func Parse(body []byte) (Body, bool) {
	var b Body
	if err := json.Unmarshal(body, &b); err != nil || b.Error == "" {
		return Body{}, false
	}
	return b, true
}

// Default is API Gateway's own answer for a response type the API does not
// customize, from the developer guide's "Gateway response types" table
// (its default status codes) and the messages API Gateway sends
// ($context.error.message) for them. make local answers with these where a
// template declares no AWS::ApiGateway::GatewayResponse of the type.
type Default struct {
	Status  int
	Message string
}

// Defaults are the response types make local produces.
var Defaults = map[string]Default{
	"UNAUTHORIZED":                 {401, "Unauthorized"},
	"ACCESS_DENIED":                {403, "Forbidden"},
	"INVALID_API_KEY":              {403, "Forbidden"},
	"MISSING_AUTHENTICATION_TOKEN": {403, "Missing Authentication Token"},
	"THROTTLED":                    {429, "Too Many Requests"},
	"QUOTA_EXCEEDED":               {429, "Limit Exceeded"},
	"BAD_REQUEST_BODY":             {400, "Invalid request body"},
	"BAD_REQUEST_PARAMETERS":       {400, "Missing required request parameters"},
	"REQUEST_TOO_LARGE":            {413, "Request Too Large"},
	"INTEGRATION_FAILURE":          {504, "Internal server error"},
	"INTEGRATION_TIMEOUT":          {504, "Endpoint request timed out"},
	"DEFAULT_4XX":                  {400, ""},
	"DEFAULT_5XX":                  {500, "Internal server error"},
}
