// Package awsfake is an AWS endpoint on 127.0.0.1 for tests. It speaks the
// wire protocols the real aws-sdk-go-v2 clients speak, so a test points
// the real clients at it (Config) and exercises their serializers,
// deserializers, paginators and error types, not an interface stand-in:
//
//   - awsJson 1.0/1.1 (POST /, X-Amz-Target: <service>.<Operation>, JSON in
//     and out): Cognito user pools, Service Quotas, SSM, CloudWatch Logs,
//     Secrets Manager.
//   - REST-JSON (the HTTP method and path name the operation, JSON out):
//     API Gateway, Lambda.
//   - the query protocol (POST of a form with Action=, XML out):
//     CloudFormation.
//   - Smithy RPC v2 CBOR (POST /service/<service>/operation/<Operation>,
//     CBOR in and out, Smithy-Protocol: rpc-v2-cbor): CloudWatch, whose
//     client (service/cloudwatch v1.75) uses it instead of the query
//     protocol.
//
// Which service a request is for is read where AWS reads it: the signing
// name in the credential scope of its SigV4 Authorization header
// ("Credential=AKID/20260101/eu-west-1/cognito-idp/aws4_request"). An
// unsigned request is refused as AWS refuses it. The signature itself is
// not checked.
//
// Tests register one Handler per operation (Handle) and get back what the
// clients sent (Calls). An operation without a handler answers an
// UnknownOperationException, so a test sees a call it did not expect.
package awsfake

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/encoding/cbor"
)

// Protocol is a wire protocol.
type Protocol string

// The protocols the fake speaks.
const (
	AWSJSON  Protocol = "awsJson"
	RESTJSON Protocol = "restJson1"
	Query    Protocol = "awsQuery"
	CBOR     Protocol = "rpcv2Cbor"
)

// Request is one decoded request.
type Request struct {
	// Service is the signing name, e.g. "cognito-idp", "apigateway",
	// "lambda", "monitoring" (CloudWatch), "logs", "cloudformation".
	Service  string
	Protocol Protocol
	// Operation is the operation name ("ListUserPoolClients") for awsJson,
	// the query protocol and CBOR; for REST-JSON it is the method and path,
	// "GET /account".
	Operation string
	// Input is the decoded body of awsJson and CBOR requests (CBOR maps,
	// lists, text and numbers as map[string]any, []any, string, int64 or
	// float64, byte strings as []byte).
	Input map[string]any
	// Params are the query protocol's form values, or REST-JSON's query
	// string.
	Params url.Values
	Header http.Header
}

// String is Input[key] as a string, "" when absent.
func (r Request) String(key string) string {
	s, _ := r.Input[key].(string)
	return s
}

// Handler answers one operation: a value to encode (for awsJson, REST-JSON
// and CBOR a JSON-like value: maps, slices, strings, numbers, bools,
// time.Time; for the query protocol a string, the XML inside
// <OperationResult>), or an error; an *Error is sent as AWS sends its
// errors, any other error as an InternalFailure.
type Handler func(Request) (any, error)

// Error is an AWS error answer.
type Error struct {
	Status  int    // HTTP status; 400 when zero
	Code    string // e.g. "AccessDeniedException", "ValidationError"
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// AccessDenied is the error AWS answers a call the caller's IAM policy does
// not allow, in the shape of the protocol's services (awsJson and REST-JSON
// services say AccessDeniedException, query services AccessDenied).
func AccessDenied(p Protocol) *Error {
	code := "AccessDeniedException"
	if p == Query {
		code = "AccessDenied"
	}
	return &Error{Status: http.StatusForbidden, Code: code, Message: "User: arn:aws:iam::123456789012:user/test is not authorized to perform this operation"}
}

// Server is the fake endpoint.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	handlers map[string]Handler
	calls    []Request
	stacks   map[string]map[string]string // Stack
}

// New starts a fake endpoint on 127.0.0.1.
func New() *Server {
	s := &Server{handlers: map[string]Handler{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("awsfake: listen: %v", err))
	}
	s.Server.Listener = l
	s.Server.Start()
	return s
}

// Region is the region of Config.
const Region = "eu-west-1"

// Config is an aws.Config that sends every client built from it to the fake,
// with static credentials, Region and one attempt per call.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:           Region,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "example-not-a-secret", ""),
		BaseEndpoint:     aws.String(s.URL),
		HTTPClient:       s.Client(),
		RetryMaxAttempts: 1,
	}
}

// Handle answers operation of service with h (a later call replaces it).
// operation is as in Request.Operation.
func (s *Server) Handle(service, operation string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[service+" "+operation] = h
}

// Reply answers operation of service with a fixed value.
func (s *Server) Reply(service, operation string, v any) {
	s.Handle(service, operation, func(Request) (any, error) { return v, nil })
}

// Fail answers operation of service with an error.
func (s *Server) Fail(service, operation string, err *Error) {
	s.Handle(service, operation, func(Request) (any, error) { return nil, err })
}

// Calls lists the requests received, in order.
func (s *Server) Calls() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.calls...)
}

// Called lists "service operation" of every request received, in order.
func (s *Server) Called() []string {
	var out []string
	for _, c := range s.Calls() {
		out = append(out, c.Service+" "+c.Operation)
	}
	return out
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := Request{Service: signingName(r.Header.Get("Authorization")), Header: r.Header.Clone()}
	switch {
	case r.Header.Get("X-Amz-Target") != "":
		req.Protocol = AWSJSON
		_, req.Operation, _ = strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.") {
			s.writeError(w, req, &Error{Code: "SerializationException", Message: "awsfake: awsJson request without an application/x-amz-json content type"})
			return
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, &req.Input); err != nil {
				s.writeError(w, req, &Error{Code: "SerializationException", Message: err.Error()})
				return
			}
		}
	case strings.EqualFold(r.Header.Get("Smithy-Protocol"), "rpc-v2-cbor"):
		req.Protocol = CBOR
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 4 || parts[0] != "service" || parts[2] != "operation" || r.Method != http.MethodPost {
			s.writeError(w, req, &Error{Code: "UnknownOperationException", Message: "awsfake: not an RPC v2 path: " + r.URL.Path})
			return
		}
		req.Operation = parts[3]
		if len(body) > 0 {
			v, err := cbor.Decode(body)
			if err != nil {
				s.writeError(w, req, &Error{Code: "SerializationException", Message: err.Error()})
				return
			}
			m, _ := fromCBOR(v).(map[string]any)
			req.Input = m
		}
	case r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		req.Protocol = Query
		form, err := url.ParseQuery(string(body))
		if err != nil {
			s.writeError(w, req, &Error{Code: "MalformedQueryString", Message: err.Error()})
			return
		}
		req.Params, req.Operation = form, form.Get("Action")
	default:
		req.Protocol = RESTJSON
		req.Operation = r.Method + " " + r.URL.EscapedPath()
		req.Params = r.URL.Query()
		if len(body) > 0 {
			_ = json.Unmarshal(body, &req.Input)
		}
	}
	s.mu.Lock()
	s.calls = append(s.calls, req)
	h := s.handlers[req.Service+" "+req.Operation]
	s.mu.Unlock()
	if req.Service == "" {
		s.writeError(w, req, &Error{Status: http.StatusForbidden, Code: "MissingAuthenticationTokenException", Message: "Missing Authentication Token"})
		return
	}
	if h == nil {
		s.writeError(w, req, &Error{Code: "UnknownOperationException", Message: "awsfake: no handler for " + req.Service + " " + req.Operation})
		return
	}
	out, err := h(req)
	if err != nil {
		e, ok := err.(*Error)
		if !ok {
			e = &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
		}
		s.writeError(w, req, e)
		return
	}
	s.write(w, req, out)
}

// signingName is the service of a SigV4 Authorization header's credential
// scope, "" for none.
func signingName(auth string) string {
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return ""
	}
	for _, part := range strings.Split(rest, ",") {
		cred, ok := strings.CutPrefix(strings.TrimSpace(part), "Credential=")
		if !ok {
			continue
		}
		scope := strings.Split(cred, "/") // AKID/date/region/service/aws4_request
		if len(scope) == 5 {
			return scope[3]
		}
	}
	return ""
}

func (s *Server) write(w http.ResponseWriter, req Request, out any) {
	w.Header().Set("X-Amzn-RequestId", "awsfake-request")
	switch req.Protocol {
	case AWSJSON:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(jsonValue(out))
	case RESTJSON:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jsonValue(out))
	case CBOR:
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		_, _ = w.Write(cbor.Encode(toCBOR(out)))
	case Query:
		inner, _ := out.(string)
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<%sResponse xmlns="http://%s.amazonaws.com/doc/"><%sResult>%s</%sResult><ResponseMetadata><RequestId>awsfake-request</RequestId></ResponseMetadata></%sResponse>`,
			req.Operation, req.Service, req.Operation, inner, req.Operation, req.Operation)
	}
}

func (s *Server) writeError(w http.ResponseWriter, req Request, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("X-Amzn-RequestId", "awsfake-request")
	switch req.Protocol {
	case Query:
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		typ := "Sender"
		if status >= 500 {
			typ = "Receiver"
		}
		fmt.Fprintf(w, `<ErrorResponse xmlns="http://%s.amazonaws.com/doc/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>awsfake-request</RequestId></ErrorResponse>`,
			req.Service, typ, XMLText(e.Code), XMLText(e.Message))
	case CBOR:
		w.Header().Set("Content-Type", "application/cbor")
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.WriteHeader(status)
		_, _ = w.Write(cbor.Encode(cbor.Map{"__type": cbor.String(e.Code), "message": cbor.String(e.Message)}))
	case RESTJSON:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-ErrorType", e.Code)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": e.Message})
	default:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
	}
}

// XMLText escapes s for the text of an XML element.
func XMLText(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// jsonValue turns time.Time into epoch seconds, as awsJson and REST-JSON
// send timestamps by default.
func jsonValue(v any) any {
	switch t := v.(type) {
	case time.Time:
		return float64(t.UnixMilli()) / 1000
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonValue(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}

// toCBOR encodes a JSON-like value; time.Time becomes tag 1 (epoch
// seconds), as RPC v2 CBOR sends timestamps.
func toCBOR(v any) cbor.Value {
	switch t := v.(type) {
	case nil:
		return &cbor.Nil{}
	case string:
		return cbor.String(t)
	case bool:
		return cbor.Bool(t)
	case int:
		return intCBOR(int64(t))
	case int32:
		return intCBOR(int64(t))
	case int64:
		return intCBOR(t)
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return intCBOR(int64(t))
		}
		return cbor.Float64(t)
	case []byte:
		return cbor.Slice(t)
	case time.Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(t.UnixMilli()) / 1000)}
	case map[string]any:
		m := cbor.Map{}
		for k, e := range t {
			m[k] = toCBOR(e)
		}
		return m
	case []map[string]any:
		l := make(cbor.List, len(t))
		for i, e := range t {
			l[i] = toCBOR(e)
		}
		return l
	case []any:
		l := make(cbor.List, len(t))
		for i, e := range t {
			l[i] = toCBOR(e)
		}
		return l
	case []string:
		l := make(cbor.List, len(t))
		for i, e := range t {
			l[i] = cbor.String(e)
		}
		return l
	}
	panic(fmt.Sprintf("awsfake: cannot encode %T as CBOR", v))
}

func intCBOR(i int64) cbor.Value {
	if i < 0 {
		return cbor.NegInt(uint64(-i))
	}
	return cbor.Uint(uint64(i))
}

func fromCBOR(v cbor.Value) any {
	switch t := v.(type) {
	case cbor.String:
		return string(t)
	case cbor.Uint:
		return int64(t)
	case cbor.NegInt:
		return -int64(t)
	case cbor.Bool:
		return bool(t)
	case cbor.Float32:
		return float64(t)
	case cbor.Float64:
		return float64(t)
	case cbor.Slice:
		return []byte(t)
	case cbor.Map:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = fromCBOR(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(t))
		for i, e := range t {
			l[i] = fromCBOR(e)
		}
		return l
	case *cbor.Tag:
		return fromCBOR(t.Value)
	}
	return nil
}

// Page serves a list in pages as the paginated operations of awsJson and
// REST-JSON do: items[start:start+limit] and the next token, "" on the last
// page. token is the request's pagination token ("" for the first page),
// limit its page size (0 for size).
func Page[T any](items []T, token string, limit, size int) ([]T, string) {
	if limit <= 0 || limit > size {
		limit = size
	}
	start := 0
	if token != "" {
		fmt.Sscanf(token, "page-%d", &start)
	}
	if start > len(items) {
		start = len(items)
	}
	end := min(start+limit, len(items))
	next := ""
	if end < len(items) {
		next = fmt.Sprintf("page-%d", end)
	}
	return items[start:end], next
}

// SortedKeys is the keys of m in order, for deterministic answers.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
