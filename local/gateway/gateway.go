// Package gateway plays one API Gateway REST API stage on 127.0.0.1, as make
// local builds it from a template's AWS::ApiGateway::* resources: resource
// and method matching, the Cognito user pool authorizer, API keys and usage
// plans, request validation, the API's gateway responses, and the Lambda
// proxy integration with the REST (v1.0) proxy event.
//
// Order of the checks, as the API Gateway developer guide describes a
// request's path ("Control and manage access to REST APIs"): the method is
// found (else MISSING_AUTHENTICATION_TOKEN 403); the authorizer checks the
// token (UNAUTHORIZED 401, "Integrate a REST API with an Amazon Cognito user
// pool": also for a valid token with none of the method's scopes); then the
// API key and the usage plan ("Choose an API key source": a missing key 403;
// INVALID_API_KEY 403; THROTTLED and QUOTA_EXCEEDED 429, "Throttle requests
// to your REST APIs": a token bucket per key, rate and burst from the plan);
// then the stage's throttle; then the request validator
// (BAD_REQUEST_PARAMETERS, BAD_REQUEST_BODY 400, "Request validation for
// REST APIs"); then the integration ("Lambda proxy integrations": a function
// error or a malformed answer is a 502 {"message": "Internal server error"}).
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scopegate/scopegate/gatewayresponse"
)

// MaxPayload is API Gateway's 10 MB payload quota ("Amazon API Gateway
// quotas").
const MaxPayload = 10 << 20

// IntegrationTimeout is API Gateway's default integration timeout for REST
// APIs, 29 seconds ("Amazon API Gateway quotas").
const IntegrationTimeout = 29 * time.Second

// Verifier checks a bearer token and returns its claims: a user pool
// (local/cognito.Pool).
type Verifier interface {
	Verify(token string) (map[string]any, error)
}

// Authorizer is a COGNITO_USER_POOLS authorizer.
type Authorizer struct {
	// Pools are the user pools of its ProviderARNs.
	Pools []Verifier
	// Header is the identity source's header (method.request.header.X).
	Header string
}

// Invoker runs a function with a proxy event and returns its answer.
type Invoker interface {
	Invoke(ctx context.Context, event []byte, timeout time.Duration) ([]byte, error)
}

// Method is one AWS::ApiGateway::Method.
type Method struct {
	HTTPMethod   string // GET, POST, ..., ANY
	ResourcePath string // "/", "/{id}", "/{proxy+}"
	ResourceID   string
	Authorizer   *Authorizer
	Scopes       []string
	KeyRequired  bool
	// Function is the AWS_PROXY integration's function; nil answers 500
	// (an integration that is not emulated is listed at start).
	Function        Invoker
	FunctionTimeout time.Duration
	// ValidateParameters and RequiredParameters: method.request.{header,
	// querystring,path}.NAME set to true.
	ValidateParameters bool
	RequiredParameters []string
	// BodySchemas are the request models by content type, when the
	// validator checks bodies.
	BodySchemas map[string]map[string]any
}

// Bucket is a token bucket: rate per second, burst at most.
type Bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

// NewBucket starts full.
func NewBucket(rate float64, burst int) *Bucket {
	return &Bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// Take takes one token; false when none is left.
func (b *Bucket) Take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens += now.Sub(b.last).Seconds() * b.rate
	if b.tokens > b.burst {
		b.tokens = b.burst
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// UsagePlan is one AWS::ApiGateway::UsagePlan's throttle and quota.
type UsagePlan struct {
	Name string
	// Rate and Burst: 0 Rate means no throttle.
	Rate  float64
	Burst int
	// Quota requests per QuotaPeriod (DAY, WEEK or MONTH); 0 means none.
	Quota       int
	QuotaPeriod string
}

// APIKey is one key of a usage plan of the stage.
type APIKey struct {
	ID, Value string
	Enabled   bool
	Plan      *UsagePlan

	bucket *Bucket
	mu     sync.Mutex
	used   int
	window time.Time
}

// quotaStart is the start of the period holding now (UTC).
func quotaStart(period string, now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	switch period {
	case "DAY":
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case "WEEK":
		day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return day.AddDate(0, 0, -int(day.Weekday()))
	default:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
}

// admit applies the key's plan: "" or THROTTLED or QUOTA_EXCEEDED.
func (k *APIKey) admit(now time.Time) string {
	if k.Plan == nil {
		return ""
	}
	if k.bucket != nil && !k.bucket.Take(now) {
		return "THROTTLED"
	}
	if k.Plan.Quota > 0 {
		k.mu.Lock()
		defer k.mu.Unlock()
		if start := quotaStart(k.Plan.QuotaPeriod, now); !start.Equal(k.window) {
			k.window, k.used = start, 0
		}
		if k.used >= k.Plan.Quota {
			return "QUOTA_EXCEEDED"
		}
		k.used++
	}
	return ""
}

// Response is one AWS::ApiGateway::GatewayResponse.
type Response struct {
	Status   int
	Headers  map[string]string
	Template string // the application/json template; "" for the default body
}

// API is one REST API's stage.
type API struct {
	ID, Name, Stage string
	Methods         []*Method
	// Responses are the template's gateway responses by type.
	Responses map[string]Response
	// StageThrottle is the stage's default method throttle; nil for none.
	StageThrottle *Bucket
	// Log receives one line per request; nil for none.
	Log func(line string)

	keys map[string]*APIKey // by value
}

// AddKey makes a key known to the stage.
func (a *API) AddKey(k *APIKey) {
	if a.keys == nil {
		a.keys = map[string]*APIKey{}
	}
	if k.Plan != nil && k.Plan.Rate > 0 {
		k.bucket = NewBucket(k.Plan.Rate, k.Plan.Burst)
	}
	a.keys[k.Value] = k
}

// request is what the checks and the responses need of one request.
type request struct {
	id, path, resourcePath, method string
	apiKey                         *APIKey
	validation                     string
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ServeHTTP serves requests under /<stage>/.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req := &request{id: newRequestID(), method: r.Method}
	status := a.serve(w, r, req)
	if a.Log != nil {
		a.Log(fmt.Sprintf("%s %s %s %d %s", a.Stage, r.Method, r.URL.Path, status, time.Since(start).Round(time.Microsecond)))
	}
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, req *request) int {
	prefix := "/" + a.Stage
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok || (path != "" && !strings.HasPrefix(path, "/")) {
		return a.refuse(w, req, "MISSING_AUTHENTICATION_TOKEN", "")
	}
	if path == "" {
		path = "/"
	}
	req.path = path
	m, params := a.match(r.Method, path)
	if m == nil {
		return a.refuse(w, req, "MISSING_AUTHENTICATION_TOKEN", "")
	}
	req.resourcePath = m.ResourcePath
	var claims map[string]any
	if m.Authorizer != nil {
		var ok bool
		if claims, ok = m.authorize(r); !ok {
			return a.refuse(w, req, "UNAUTHORIZED", "")
		}
	}
	if m.KeyRequired {
		sent := r.Header.Get("x-api-key")
		if sent == "" {
			return a.refuse(w, req, "", "")
		}
		k, ok := a.keys[sent]
		if !ok || !k.Enabled {
			return a.refuse(w, req, "INVALID_API_KEY", "")
		}
		req.apiKey = k
		if refusal := k.admit(time.Now()); refusal != "" {
			return a.refuse(w, req, refusal, "")
		}
	}
	if a.StageThrottle != nil && !a.StageThrottle.Take(time.Now()) {
		return a.refuse(w, req, "THROTTLED", "")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxPayload+1))
	if err != nil {
		return a.refuse(w, req, "BAD_REQUEST_BODY", "")
	}
	if len(body) > MaxPayload {
		return a.refuse(w, req, "REQUEST_TOO_LARGE", "")
	}
	if m.ValidateParameters {
		if missing := missingParameters(m.RequiredParameters, r, params); len(missing) > 0 {
			return a.refuse(w, req, "BAD_REQUEST_PARAMETERS", "Missing required request parameters: ["+strings.Join(missing, ", ")+"]")
		}
	}
	if len(m.BodySchemas) > 0 {
		if problems := validateBody(m.BodySchemas, r.Header.Get("Content-Type"), body); problems != "" {
			req.validation = problems
			return a.refuse(w, req, "BAD_REQUEST_BODY", "")
		}
	}
	if m.Function == nil {
		return a.internalError(w)
	}
	event := a.event(r, req, m, params, claims, body)
	data, err := json.Marshal(event)
	if err != nil {
		return a.internalError(w)
	}
	timeout := m.FunctionTimeout
	if timeout == 0 || timeout > IntegrationTimeout {
		timeout = IntegrationTimeout
	}
	out, err := m.Function.Invoke(r.Context(), data, timeout)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timed out") {
			return a.refuse(w, req, "INTEGRATION_TIMEOUT", "")
		}
		return a.internalError(w)
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &resp); err != nil || resp.StatusCode == 0 {
		return a.internalError(w)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	respBody := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if respBody, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return a.internalError(w)
		}
	}
	w.Header().Set("X-Amzn-Requestid", req.id)
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(respBody)
	return resp.StatusCode
}

// internalError is API Gateway's answer to a failed Lambda proxy
// integration: 502 {"message": "Internal server error"}.
func (a *API) internalError(w http.ResponseWriter) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write([]byte(`{"message": "Internal server error"}`))
	return http.StatusBadGateway
}

// authorize checks the bearer token against the authorizer's pools and the
// method's scopes.
func (m *Method) authorize(r *http.Request) (map[string]any, bool) {
	header := m.Authorizer.Header
	if header == "" {
		header = "Authorization"
	}
	value := r.Header.Get(header)
	// The Cognito authorizer takes the token as the header's value; a
	// "Bearer " prefix is accepted too (what OAuth clients send).
	token := strings.TrimSpace(value)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	if token == "" {
		return nil, false
	}
	for _, p := range m.Authorizer.Pools {
		claims, err := p.Verify(token)
		if err != nil {
			continue
		}
		if len(m.Scopes) == 0 {
			return claims, true
		}
		scope, _ := claims["scope"].(string)
		for _, have := range strings.Fields(scope) {
			for _, want := range m.Scopes {
				if have == want {
					return claims, true
				}
			}
		}
		return nil, false
	}
	return nil, false
}

// match finds the method for an HTTP method and a path below the stage:
// literal path parts before {name} parts before {proxy+}, an exact method
// before ANY.
func (a *API) match(method, path string) (*Method, map[string]string) {
	segments := strings.Split(strings.Trim(path, "/"), "/")
	if path == "/" {
		segments = nil
	}
	var best *Method
	var bestParams map[string]string
	bestScore := -1
	for _, m := range a.Methods {
		if m.HTTPMethod != method && m.HTTPMethod != "ANY" {
			continue
		}
		params, score, ok := pathMatch(m.ResourcePath, segments)
		if !ok {
			continue
		}
		score = score*2 + boolInt(m.HTTPMethod == method)
		if score > bestScore {
			best, bestParams, bestScore = m, params, score
		}
	}
	return best, bestParams
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pathMatch matches a resource path to path segments; the score ranks
// literal parts over variables over a greedy {name+}.
func pathMatch(resourcePath string, segments []string) (map[string]string, int, bool) {
	var parts []string
	if resourcePath != "/" {
		parts = strings.Split(strings.Trim(resourcePath, "/"), "/")
	}
	params := map[string]string{}
	score := 0
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}") {
			if i >= len(segments) {
				return nil, 0, false
			}
			params[p[1:len(p)-2]] = strings.Join(segments[i:], "/")
			return params, score*4 + 1, true
		}
		if i >= len(segments) || segments[i] == "" {
			return nil, 0, false
		}
		if strings.HasPrefix(p, "{") {
			params[p[1:len(p)-1]] = segments[i]
			score = score*4 + 2
			continue
		}
		if p != segments[i] {
			return nil, 0, false
		}
		score = score*4 + 3
	}
	if len(parts) != len(segments) {
		return nil, 0, false
	}
	return params, score, true
}

func missingParameters(required []string, r *http.Request, params map[string]string) []string {
	var missing []string
	for _, p := range required {
		where, name, _ := strings.Cut(strings.TrimPrefix(p, "method.request."), ".")
		var present bool
		switch where {
		case "header":
			present = r.Header.Get(name) != ""
		case "querystring":
			present = r.URL.Query().Has(name)
		case "path":
			present = params[name] != ""
		}
		if !present {
			missing = append(missing, name)
		}
	}
	return missing
}

func (a *API) event(r *http.Request, req *request, m *Method, params map[string]string, claims map[string]any, body []byte) events.APIGatewayProxyRequest {
	headers, multiHeaders := map[string]string{}, map[string][]string{}
	for k, vs := range r.Header {
		headers[k] = vs[len(vs)-1]
		multiHeaders[k] = vs
	}
	var query map[string]string
	var multiQuery map[string][]string
	if q := r.URL.Query(); len(q) > 0 {
		query, multiQuery = map[string]string{}, map[string][]string{}
		for k, vs := range q {
			query[k] = vs[len(vs)-1]
			multiQuery[k] = vs
		}
	}
	if len(params) == 0 {
		params = nil
	}
	rc := events.APIGatewayProxyRequestContext{
		AccountID: "000000000000", ResourceID: m.ResourceID, Stage: a.Stage, RequestID: req.id,
		ResourcePath: m.ResourcePath, HTTPMethod: r.Method, APIID: a.ID, Path: "/" + a.Stage + req.path,
		RequestTimeEpoch: time.Now().UnixMilli(), RequestTime: time.Now().UTC().Format("02/Jan/2006:15:04:05 -0700"),
		Protocol: r.Proto, DomainName: r.Host,
		Identity: events.APIGatewayRequestIdentity{SourceIP: strings.Split(r.RemoteAddr, ":")[0], UserAgent: r.UserAgent()},
	}
	if req.apiKey != nil {
		rc.Identity.APIKey, rc.Identity.APIKeyID = req.apiKey.Value, req.apiKey.ID
	}
	if claims != nil {
		// API Gateway passes the token's claims as strings (numbers too);
		// the exact rendering of numbers and dates is not documented.
		strClaims := map[string]any{}
		for k, v := range claims {
			switch v := v.(type) {
			case string:
				strClaims[k] = v
			case float64:
				strClaims[k] = strconv.FormatFloat(v, 'f', -1, 64)
			default:
				b, _ := json.Marshal(v)
				strClaims[k] = string(b)
			}
		}
		rc.Authorizer = map[string]any{"claims": strClaims}
	}
	ev := events.APIGatewayProxyRequest{
		Resource: m.ResourcePath, Path: req.path, HTTPMethod: r.Method,
		Headers: headers, MultiValueHeaders: multiHeaders,
		QueryStringParameters: query, MultiValueQueryStringParameters: multiQuery,
		PathParameters: params, RequestContext: rc,
	}
	if len(body) > 0 {
		ev.Body = string(body)
	}
	return ev
}

// refuse answers with the gateway response of type typ ("" for API
// Gateway's plain 403 to a missing API key), message overriding the
// default $context.error.message.
func (a *API) refuse(w http.ResponseWriter, req *request, typ, message string) int {
	def, ok := gatewayresponse.Defaults[typ]
	if typ == "" || !ok {
		def = gatewayresponse.Default{Status: http.StatusForbidden, Message: "Forbidden"}
	}
	if message == "" {
		message = def.Message
	}
	resp, declared := a.Responses[typ]
	if !declared {
		family := "DEFAULT_4XX"
		if def.Status >= 500 {
			family = "DEFAULT_5XX"
		}
		resp, declared = a.Responses[family]
		if declared && resp.Status == 0 {
			resp.Status = def.Status
		}
	}
	if !declared {
		resp = Response{Status: def.Status}
	}
	if resp.Status == 0 {
		resp.Status = def.Status
	}
	body := `{"message":` + quote(message) + `}`
	if resp.Template != "" {
		body = Render(resp.Template, a.contextVars(req, typ, message))
	}
	if _, set := resp.Headers["Content-Type"]; !set {
		w.Header().Set("Content-Type", "application/json")
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("X-Amzn-Requestid", req.id)
	if typ != "" {
		w.Header().Set("X-Amzn-Errortype", typ)
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write([]byte(body))
	return resp.Status
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func (a *API) contextVars(req *request, typ, message string) map[string]string {
	return map[string]string{
		"$context.error.message":               message,
		"$context.error.messageString":         quote(message),
		"$context.error.responseType":          typ,
		"$context.error.validationErrorString": req.validation,
		"$context.requestId":                   req.id,
		"$context.extendedRequestId":           req.id,
		"$context.resourcePath":                req.resourcePath,
		"$context.path":                        "/" + a.Stage + req.path,
		"$context.httpMethod":                  req.method,
		"$context.stage":                       a.Stage,
		"$context.apiId":                       a.ID,
	}
}

// SupportedVariables are the $context variables a gateway response template
// may use locally; Unsupported lists the others of a template.
var templateVar = regexp.MustCompile(`\$(?:context|util|input|stageVariables)(?:\.[A-Za-z]+)+`)

// Unsupported lists the variables and functions of a template that Render
// does not fill.
func Unsupported(template string) []string {
	known := (&API{}).contextVars(&request{}, "", "")
	var out []string
	for _, v := range templateVar.FindAllString(template, -1) {
		if _, ok := known[v]; !ok && v != "$util.escapeJavaScript" {
			out = append(out, v)
		}
	}
	return out
}

var escapeCall = regexp.MustCompile(`\$util\.escapeJavaScript\((\$[A-Za-z.]+)\)`)

// Render fills a gateway response template: the $context variables of
// contextVars and $util.escapeJavaScript of one of them.
func Render(template string, vars map[string]string) string {
	out := escapeCall.ReplaceAllStringFunc(template, func(m string) string {
		name := escapeCall.FindStringSubmatch(m)[1]
		q := quote(vars[name])
		return q[1 : len(q)-1]
	})
	return templateVar.ReplaceAllStringFunc(out, func(m string) string {
		if v, ok := vars[m]; ok {
			return v
		}
		return m
	})
}
