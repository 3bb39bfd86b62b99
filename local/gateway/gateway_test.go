package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scopegate/scopegate/local/cognito"
)

// recorder is a function that answers a fixed proxy response and keeps the
// events it was invoked with.
type recorder struct {
	answer string
	events []events.APIGatewayProxyRequest
}

func (f *recorder) Invoke(_ context.Context, event []byte, _ time.Duration) ([]byte, error) {
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, err
	}
	f.events = append(f.events, ev)
	return []byte(f.answer), nil
}

func (f *recorder) last(t *testing.T) events.APIGatewayProxyRequest {
	t.Helper()
	if len(f.events) == 0 {
		t.Fatal("the function was not invoked")
	}
	return f.events[len(f.events)-1]
}

// pool is a user pool with one client-credentials client allowed
// weather-api/get and weather-api/post.
func pool(t *testing.T, id string) *cognito.Pool {
	t.Helper()
	p, err := cognito.NewPool(id, []cognito.Client{{ID: "client-" + id, Name: "weather-service", Secret: "secret",
		Scopes: []string{"weather-api/get", "weather-api/post"}, Flows: []string{cognito.GrantClientCredentials}}})
	if err != nil {
		t.Fatal(err)
	}
	p.Issuer = "http://127.0.0.1:1/" + id
	return p
}

func tokenOf(t *testing.T, p *cognito.Pool, scopes ...string) string {
	t.Helper()
	tok, _, e := p.Issue(cognito.TokenRequest{ClientID: "client-" + p.ID, ClientSecret: "secret", Scopes: scopes})
	if e != nil {
		t.Fatal(e)
	}
	return tok
}

// answer is one response of the stage.
type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) message(t *testing.T) string {
	t.Helper()
	var m struct{ Message string }
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("body %q is not {\"message\": ...}: %v", a.body, err)
	}
	return m.Message
}

func do(t *testing.T, api *API, method, target string, header map[string][]string, body string) answer {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:50000"
	for k, vs := range header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	w := httptest.NewRecorder()
	api.ServeHTTP(w, r)
	b, _ := io.ReadAll(w.Result().Body)
	return answer{w.Code, w.Result().Header, string(b)}
}

func bearer(token string) map[string][]string {
	return map[string][]string{"Authorization": {"Bearer " + token}}
}

func keyed(token, key string) map[string][]string {
	h := bearer(token)
	h["x-api-key"] = []string{key}
	return h
}

// A rate so low that no token comes back during a test: what is left of the
// burst is all there is.
const noRefill = 1e-9

func keyedAPI(t *testing.T, fn Invoker, plan *UsagePlan, keys ...*APIKey) (*API, *cognito.Pool) {
	t.Helper()
	p := pool(t, "us-east-1_Keyed")
	api := &API{ID: "a1b2c3", Stage: "prod", Methods: []*Method{{HTTPMethod: "GET", ResourcePath: "/", ResourceID: "root",
		Authorizer: &Authorizer{Pools: []Verifier{p}}, Scopes: []string{"weather-api/get"}, KeyRequired: true, Function: fn}}}
	for _, k := range keys {
		k.Plan = plan
		api.AddKey(k)
	}
	return api, p
}

const ok200 = `{"statusCode": 200, "body": "{\"ok\":true}"}`

// API keys: a missing key is API Gateway's plain 403 Forbidden (no
// response type), an unknown or disabled one INVALID_API_KEY 403.
func TestAPIKeys(t *testing.T) {
	fn := &recorder{answer: ok200}
	api, p := keyedAPI(t, fn, nil, &APIKey{ID: "k1", Value: "good-key", Enabled: true}, &APIKey{ID: "k2", Value: "off-key", Enabled: false})
	tok := tokenOf(t, p)
	cases := []struct {
		name    string
		header  map[string][]string
		status  int
		errType string
		message string
	}{
		{"no key", bearer(tok), 403, "", "Forbidden"},
		{"unknown key", keyed(tok, "not-a-key"), 403, "INVALID_API_KEY", "Forbidden"},
		{"disabled key", keyed(tok, "off-key"), 403, "INVALID_API_KEY", "Forbidden"},
		{"good key", keyed(tok, "good-key"), 200, "", ""},
		// The authorizer runs before the key check.
		{"good key, no token", map[string][]string{"x-api-key": {"good-key"}}, 401, "UNAUTHORIZED", "Unauthorized"},
	}
	for _, c := range cases {
		a := do(t, api, "GET", "/prod/", c.header, "")
		if a.status != c.status || a.header.Get("X-Amzn-Errortype") != c.errType {
			t.Errorf("%s: %d %q %s, want %d %q", c.name, a.status, a.header.Get("X-Amzn-Errortype"), a.body, c.status, c.errType)
			continue
		}
		if c.message != "" && a.message(t) != c.message {
			t.Errorf("%s: message %q, want %q", c.name, a.message(t), c.message)
		}
	}
	if len(fn.events) != 1 {
		t.Errorf("the function ran %d times, want once (only the good key passes)", len(fn.events))
	}
	if id := fn.last(t).RequestContext.Identity; id.APIKey != "good-key" || id.APIKeyID != "k1" {
		t.Errorf("identity.apiKey/apiKeyId = %q/%q, want good-key/k1", id.APIKey, id.APIKeyID)
	}
}

// A usage plan's throttle is a token bucket per key: burst requests pass
// at once, the next is THROTTLED 429; another key of the same plan has its
// own bucket.
func TestUsagePlanThrottle(t *testing.T) {
	plan := &UsagePlan{Name: "bronze", Rate: noRefill, Burst: 3}
	api, p := keyedAPI(t, &recorder{answer: ok200}, plan, &APIKey{ID: "k1", Value: "key-one", Enabled: true}, &APIKey{ID: "k2", Value: "key-two", Enabled: true})
	tok := tokenOf(t, p)
	for i := 1; i <= plan.Burst; i++ {
		if a := do(t, api, "GET", "/prod/", keyed(tok, "key-one"), ""); a.status != 200 {
			t.Fatalf("request %d within the burst: %d %s", i, a.status, a.body)
		}
	}
	a := do(t, api, "GET", "/prod/", keyed(tok, "key-one"), "")
	if a.status != 429 || a.header.Get("X-Amzn-Errortype") != "THROTTLED" || a.message(t) != "Too Many Requests" {
		t.Errorf("past the burst: %d %q %s, want 429 THROTTLED Too Many Requests", a.status, a.header.Get("X-Amzn-Errortype"), a.body)
	}
	if a := do(t, api, "GET", "/prod/", keyed(tok, "key-two"), ""); a.status != 200 {
		t.Errorf("the plan's other key: %d %s, want 200 (a bucket per key)", a.status, a.body)
	}
}

// The bucket refills at the plan's rate and never holds more than burst.
func TestBucketRate(t *testing.T) {
	b := NewBucket(2, 4) // 2 per second, burst 4
	now := b.last
	for i := 0; i < 4; i++ {
		if !b.Take(now) {
			t.Fatalf("take %d of a full bucket of 4 refused", i+1)
		}
	}
	if b.Take(now) {
		t.Fatal("a fifth take at the same instant passed")
	}
	now = now.Add(500 * time.Millisecond) // one token back at 2/s
	if !b.Take(now) || b.Take(now) {
		t.Error("after 0.5 s at 2/s exactly one take should pass")
	}
	now = now.Add(time.Hour) // refills to burst, not beyond
	for i := 0; i < 4; i++ {
		if !b.Take(now) {
			t.Fatalf("take %d after an hour refused", i+1)
		}
	}
	if b.Take(now) {
		t.Error("the bucket held more than its burst")
	}
}

// A quota: Limit requests per period pass, then QUOTA_EXCEEDED 429.
func TestUsagePlanQuota(t *testing.T) {
	plan := &UsagePlan{Name: "gold", Quota: 2, QuotaPeriod: "DAY"}
	api, p := keyedAPI(t, &recorder{answer: ok200}, plan, &APIKey{ID: "k1", Value: "key-one", Enabled: true})
	tok := tokenOf(t, p)
	for i := 0; i < 2; i++ {
		if a := do(t, api, "GET", "/prod/", keyed(tok, "key-one"), ""); a.status != 200 {
			t.Fatalf("request %d within the quota: %d", i+1, a.status)
		}
	}
	a := do(t, api, "GET", "/prod/", keyed(tok, "key-one"), "")
	if a.status != 429 || a.header.Get("X-Amzn-Errortype") != "QUOTA_EXCEEDED" || a.message(t) != "Limit Exceeded" {
		t.Errorf("past the quota: %d %q %s, want 429 QUOTA_EXCEEDED Limit Exceeded", a.status, a.header.Get("X-Amzn-Errortype"), a.body)
	}
}

func TestQuotaPeriods(t *testing.T) {
	now := time.Date(2026, 3, 19, 15, 4, 5, 0, time.UTC) // a Thursday
	for period, want := range map[string]time.Time{
		"DAY":   time.Date(2026, 3, 19, 0, 0, 0, 0, time.UTC),
		"WEEK":  time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC), // the Sunday before
		"MONTH": time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got := quotaStart(period, now); !got.Equal(want) {
			t.Errorf("quotaStart(%s) = %s, want %s", period, got, want)
		}
	}
	k := &APIKey{Plan: &UsagePlan{Quota: 1, QuotaPeriod: "DAY"}}
	if k.admit(now) != "" || k.admit(now) != "QUOTA_EXCEEDED" {
		t.Fatal("a quota of 1 per day should admit one request")
	}
	if got := k.admit(now.Add(24 * time.Hour)); got != "" {
		t.Errorf("the next day: %q, want the quota reset", got)
	}
}

// The stage's default method throttle applies to every request, keyed or
// not.
func TestStageThrottle(t *testing.T) {
	api := &API{ID: "a1", Stage: "v1", StageThrottle: NewBucket(noRefill, 2),
		Methods: []*Method{{HTTPMethod: "GET", ResourcePath: "/", Function: &recorder{answer: ok200}}}}
	for i := 0; i < 2; i++ {
		if a := do(t, api, "GET", "/v1/", nil, ""); a.status != 200 {
			t.Fatalf("request %d: %d", i+1, a.status)
		}
	}
	if a := do(t, api, "GET", "/v1/", nil, ""); a.status != 429 || a.header.Get("X-Amzn-Errortype") != "THROTTLED" {
		t.Errorf("past the stage burst: %d %q, want 429 THROTTLED", a.status, a.header.Get("X-Amzn-Errortype"))
	}
}

// The Cognito authorizer: no, bad, other-pool or expired token, or one
// without any of the method's scopes: 401.
func TestAuthorizer(t *testing.T) {
	p, other := pool(t, "us-east-1_Mine"), pool(t, "us-east-1_Other")
	fn := &recorder{answer: ok200}
	api := &API{ID: "a1", Stage: "prod", Methods: []*Method{{HTTPMethod: "DELETE", ResourcePath: "/{id}",
		Authorizer: &Authorizer{Pools: []Verifier{p}, Header: "Authorization"}, Scopes: []string{"weather-api/delete", "weather-api/post"}, Function: fn}}}
	// Issued two hours ago with the default one-hour lifetime.
	p.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	expired := tokenOf(t, p)
	p.Now = time.Now
	cases := map[string]struct {
		header map[string][]string
		status int
	}{
		"no header":        {nil, 401},
		"not a JWT":        {bearer("abc.def.ghi"), 401},
		"other pool":       {bearer(tokenOf(t, other)), 401},
		"expired":          {bearer(expired), 401},
		"no method scope":  {bearer(tokenOf(t, p, "weather-api/get")), 401},
		"one method scope": {bearer(tokenOf(t, p, "weather-api/post")), 200},
		"no Bearer prefix": {map[string][]string{"Authorization": {tokenOf(t, p, "weather-api/post")}}, 200},
	}
	for name, c := range cases {
		a := do(t, api, "DELETE", "/prod/x1", c.header, "")
		if a.status != c.status {
			t.Errorf("%s: %d %s, want %d", name, a.status, a.body, c.status)
		}
		if c.status == 401 && (a.header.Get("X-Amzn-Errortype") != "UNAUTHORIZED" || a.message(t) != "Unauthorized") {
			t.Errorf("%s: %q %s, want UNAUTHORIZED Unauthorized", name, a.header.Get("X-Amzn-Errortype"), a.body)
		}
	}
	if a := do(t, api, "GET", "/prod/x1", bearer(tokenOf(t, p)), ""); a.status != 403 || a.message(t) != "Missing Authentication Token" {
		t.Errorf("a method the API lacks: %d %s, want 403 Missing Authentication Token", a.status, a.body)
	}
}

// Request validators: required parameters and the body's model.
func TestRequestValidator(t *testing.T) {
	fn := &recorder{answer: ok200}
	api := &API{ID: "a1", Stage: "prod", Methods: []*Method{{HTTPMethod: "POST", ResourcePath: "/", Function: fn,
		ValidateParameters: true, RequiredParameters: []string{"method.request.header.X-Trace", "method.request.querystring.region"},
		BodySchemas: map[string]map[string]any{"application/json": {
			"type": "object", "required": []any{"name", "dateStart"}, "additionalProperties": false,
			"properties": map[string]any{"name": map[string]any{"type": "string", "minLength": 1.0}, "dateStart": map[string]any{"type": "string", "pattern": `^\d{4}-\d{2}-\d{2}$`}},
		}}}},
		Responses: map[string]Response{"BAD_REQUEST_BODY": {Status: 400, Template: `{"error":"invalid_body","detail":"$util.escapeJavaScript($context.error.validationErrorString)"}`}}}
	headers := map[string][]string{"X-Trace": {"t1"}, "Content-Type": {"application/json"}}
	a := do(t, api, "POST", "/prod/", headers, `{"name":"Storm","dateStart":"2022-02-16"}`)
	if a.status != 400 || a.header.Get("X-Amzn-Errortype") != "BAD_REQUEST_PARAMETERS" || a.message(t) != "Missing required request parameters: [region]" {
		t.Errorf("without ?region: %d %q %s, want 400 BAD_REQUEST_PARAMETERS naming region", a.status, a.header.Get("X-Amzn-Errortype"), a.body)
	}
	a = do(t, api, "POST", "/prod/?region=eu", headers, `{"name":"","dateStart":"16/02/2022","extra":1}`)
	var got struct{ Error, Detail string }
	if err := json.Unmarshal([]byte(a.body), &got); err != nil || a.status != 400 || got.Error != "invalid_body" {
		t.Fatalf("a bad body: %d %s, want the declared BAD_REQUEST_BODY response", a.status, a.body)
	}
	for _, want := range []string{"/dateStart: ECMA 262 regex", "/name: string \"\" is too short", `properties which are not allowed by the schema: ["extra"]`} {
		if !strings.Contains(got.Detail, want) {
			t.Errorf("validation detail %q lacks %q", got.Detail, want)
		}
	}
	if a := do(t, api, "POST", "/prod/?region=eu", headers, `not json`); a.status != 400 || !strings.Contains(a.body, "Invalid JSON") {
		t.Errorf("a body that is not JSON: %d %s", a.status, a.body)
	}
	if len(fn.events) != 0 {
		t.Fatal("the function ran for a refused request")
	}
	if a := do(t, api, "POST", "/prod/?region=eu", headers, `{"name":"Storm","dateStart":"2022-02-16"}`); a.status != 200 {
		t.Errorf("a valid request: %d %s", a.status, a.body)
	}
}

// Gateway responses the template declares: status, static headers, and
// the template with $context variables filled in; a type not declared
// falls back to DEFAULT_4XX with its own status.
func TestGatewayResponses(t *testing.T) {
	p := pool(t, "us-east-1_Resp")
	api := &API{ID: "api123", Stage: "prod", Methods: []*Method{{HTTPMethod: "GET", ResourcePath: "/items/{id}",
		Authorizer: &Authorizer{Pools: []Verifier{p}}, Scopes: []string{"weather-api/get"}, KeyRequired: true, Function: &recorder{answer: ok200}}},
		Responses: map[string]Response{
			"UNAUTHORIZED": {Status: 401, Headers: map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`},
				Template: `{"error":"unauthorized","type":"$context.error.responseType","message":$context.error.messageString,"requestId":"$context.requestId","resource":"$context.resourcePath","path":"$context.path","method":"$context.httpMethod","stage":"$context.stage","api":"$context.apiId"}`},
			"DEFAULT_4XX": {Headers: map[string]string{"Access-Control-Allow-Origin": "*"}, Template: `{"fallback":"$context.error.responseType","message":"$context.error.message"}`},
		}}
	a := do(t, api, "GET", "/prod/items/42", nil, "")
	var got map[string]string
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatalf("UNAUTHORIZED body %q: %v", a.body, err)
	}
	want := map[string]string{"error": "unauthorized", "type": "UNAUTHORIZED", "message": "Unauthorized", "requestId": a.header.Get("X-Amzn-Requestid"),
		"resource": "/items/{id}", "path": "/prod/items/42", "method": "GET", "stage": "prod", "api": "api123"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("UNAUTHORIZED %s = %q, want %q", k, got[k], v)
		}
	}
	if a.status != 401 || a.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` || got["requestId"] == "" {
		t.Errorf("UNAUTHORIZED: %d %v", a.status, a.header)
	}
	// INVALID_API_KEY is not declared: DEFAULT_4XX's template and headers,
	// INVALID_API_KEY's status.
	a = do(t, api, "GET", "/prod/items/42", keyed(tokenOf(t, p), "nope"), "")
	if a.status != 403 || a.header.Get("Access-Control-Allow-Origin") != "*" || a.body != `{"fallback":"INVALID_API_KEY","message":"Forbidden"}` {
		t.Errorf("INVALID_API_KEY through DEFAULT_4XX: %d %v %s", a.status, a.header, a.body)
	}
	if got := Unsupported(`{"a":"$context.identity.sourceIp","b":"$context.requestId","c":"$input.body"}`); strings.Join(got, ",") != "$context.identity.sourceIp,$input.body" {
		t.Errorf("Unsupported = %v, want the two variables Render does not fill", got)
	}
}

// The Lambda proxy event (REST, v1.0): resource and path, stage, path
// parameters, multi-value headers and query strings, the claims as
// strings, and the function's answer passed back.
func TestProxyEvent(t *testing.T) {
	p := pool(t, "us-east-1_Event")
	fn := &recorder{answer: `{"statusCode": 201, "headers": {"X-One": "1"}, "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]}, "body": "aGk=", "isBase64Encoded": true}`}
	api := &API{ID: "api9", Stage: "v2", Methods: []*Method{
		{HTTPMethod: "ANY", ResourcePath: "/{proxy+}", ResourceID: "proxyres", Function: &recorder{answer: ok200}},
		{HTTPMethod: "POST", ResourcePath: "/events/{id}", ResourceID: "evres", Authorizer: &Authorizer{Pools: []Verifier{p}}, Scopes: []string{"weather-api/post"}, Function: fn},
	}}
	header := bearer(tokenOf(t, p, "weather-api/post"))
	header["X-Multi"] = []string{"one", "two"}
	a := do(t, api, "POST", "/v2/events/e-7?tag=a&tag=b&single=x", header, `{"k":"v"}`)
	if a.status != 201 || a.body != "hi" || a.header.Get("X-One") != "1" || len(a.header.Values("Set-Cookie")) != 2 {
		t.Fatalf("answer: %d %v %q, want 201, its headers and the decoded body", a.status, a.header, a.body)
	}
	ev := fn.last(t)
	rc := ev.RequestContext
	checks := map[string][2]string{
		"resource":                    {ev.Resource, "/events/{id}"},
		"path":                        {ev.Path, "/events/e-7"},
		"httpMethod":                  {ev.HTTPMethod, "POST"},
		"pathParameters.id":           {ev.PathParameters["id"], "e-7"},
		"headers.X-Multi":             {ev.Headers["X-Multi"], "two"},
		"multiValueHeaders.X-Multi":   {strings.Join(ev.MultiValueHeaders["X-Multi"], ","), "one,two"},
		"queryStringParameters.tag":   {ev.QueryStringParameters["tag"], "b"},
		"multiValueQuery.tag":         {strings.Join(ev.MultiValueQueryStringParameters["tag"], ","), "a,b"},
		"multiValueQuery.single":      {strings.Join(ev.MultiValueQueryStringParameters["single"], ","), "x"},
		"body":                        {ev.Body, `{"k":"v"}`},
		"requestContext.stage":        {rc.Stage, "v2"},
		"requestContext.resourcePath": {rc.ResourcePath, "/events/{id}"},
		"requestContext.resourceId":   {rc.ResourceID, "evres"},
		"requestContext.path":         {rc.Path, "/v2/events/e-7"},
		"requestContext.apiId":        {rc.APIID, "api9"},
		"requestContext.requestId":    {rc.RequestID, a.header.Get("X-Amzn-Requestid")},
		"identity.sourceIp":           {rc.Identity.SourceIP, "127.0.0.1"},
	}
	for name, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	claims, _ := rc.Authorizer["claims"].(map[string]any)
	for k, want := range map[string]string{"client_id": "client-us-east-1_Event", "scope": "weather-api/post", "token_use": "access", "version": "2"} {
		if claims[k] != want {
			t.Errorf("claims.%s = %#v, want %q", k, claims[k], want)
		}
	}
	for k, v := range claims {
		if _, isString := v.(string); !isString {
			t.Errorf("claims.%s is a %T, want a string as API Gateway passes them", k, v)
		}
	}
	// {proxy+} takes the rest of the path; a literal resource wins over it.
	catchAll := api.Methods[0].Function.(*recorder)
	do(t, api, "DELETE", "/v2/a/b/c", nil, "")
	if ev := catchAll.last(t); ev.PathParameters["proxy"] != "a/b/c" || ev.QueryStringParameters != nil || ev.RequestContext.Authorizer != nil {
		t.Errorf("greedy path: %v, query %v, authorizer %v; want proxy=a/b/c and no query or claims", ev.PathParameters, ev.QueryStringParameters, ev.RequestContext.Authorizer)
	}
}

// A function error or an answer that is not a proxy response: 502
// {"message": "Internal server error"}.
func TestIntegrationFailure(t *testing.T) {
	for _, answer := range []string{`not json`, `{"body": "no status"}`} {
		api := &API{ID: "a1", Stage: "prod", Methods: []*Method{{HTTPMethod: "GET", ResourcePath: "/", Function: &recorder{answer: answer}}}}
		if a := do(t, api, "GET", "/prod/", nil, ""); a.status != 502 || a.body != `{"message": "Internal server error"}` {
			t.Errorf("function answering %q: %d %s, want 502 Internal server error", answer, a.status, a.body)
		}
	}
}
