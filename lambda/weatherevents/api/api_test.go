package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/dynalitetest"
	"github.com/scopegate/scopegate/lambda/weatherevents/api"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
	"github.com/scopegate/scopegate/routetable"
)

var dynalite *dynalitetest.Server

func TestMain(m *testing.M) { dynalitetest.Main(m, func(s *dynalitetest.Server) { dynalite = s }) }

// The weather-events stack's route table, as the scopedapi construct hands it
// to the function.
var weatherRoutes = routetable.Table{
	{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}},
	{Method: "POST", Path: "/", Scopes: []string{"weather-api/post"}},
	{Method: "GET", Path: "/{id}", Scopes: []string{"weather-api/get"}},
	{Method: "DELETE", Path: "/{id}", Scopes: []string{"weather-api/delete"}},
}

var fixedNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type harness struct {
	server *api.Server
	store  *weather.DynamoStore
	logs   *bytes.Buffer
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	store := &weather.DynamoStore{Client: dynalite.Client(), Table: dynalite.NewEventsTable(t)}
	logs := &bytes.Buffer{}
	return &harness{
		server: &api.Server{
			Store: store, Keys: &weather.DynamoKeys{Client: dynalite.Client(), Table: dynalite.NewKeysTable(t)},
			Routes: weatherRoutes, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: func() time.Time { return fixedNow },
		},
		store: store,
		logs:  logs,
	}
}

// request is an API Gateway proxy event as the Cognito authorizer passes it on.
type request struct {
	method, path, resource string
	body                   string
	headers                map[string]string
	query                  map[string]string
	authorizer             map[string]any
	base64                 bool
}

func claims(scope string) map[string]any {
	return map[string]any{"claims": map[string]any{
		"token_use": "access", "client_id": "client-1", "scope": scope, "sub": "client-1",
	}}
}

func (r request) event() events.APIGatewayProxyRequest {
	resource := r.resource
	if resource == "" {
		resource = r.path
	}
	headers := r.headers
	if headers == nil {
		headers = map[string]string{"Content-Type": "application/json", "Authorization": "Bearer secret-token-value"}
	}
	return events.APIGatewayProxyRequest{
		HTTPMethod: r.method, Path: r.path, Resource: resource, Body: r.body, IsBase64Encoded: r.base64,
		Headers: headers, QueryStringParameters: r.query, PathParameters: pathParameters(resource, r.path),
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req-123", HTTPMethod: r.method, ResourcePath: resource, Stage: "weather",
			Authorizer: r.authorizer,
		},
	}
}

// pathParameters are the parameters API Gateway fills in when it matches
// path against resource, decoded as it decodes them.
func pathParameters(resource, path string) map[string]string {
	params := map[string]string{}
	rs, ps := strings.Split(resource, "/"), strings.Split(path, "/")
	for i, seg := range rs {
		if !strings.HasPrefix(seg, "{") || i >= len(ps) {
			continue
		}
		value := ps[i]
		if strings.HasSuffix(seg, "+}") {
			value = strings.Join(ps[i:], "/")
		}
		if decoded, err := url.PathUnescape(value); err == nil {
			value = decoded
		}
		params[strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"), "+")] = value
	}
	if len(params) == 0 {
		return nil
	}
	return params
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// serve runs the request through the net/http handler with httptest, after
// the same event-to-request conversion the Lambda adapter does.
func (h *harness) serve(t *testing.T, r request) response {
	t.Helper()
	req, err := api.Request(context.Background(), r.event())
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.server.Handler().ServeHTTP(rec, req)
	return decodeResponse(t, rec.Code, rec.Header(), rec.Body.String())
}

// invoke runs the request through HandleEvent, the Lambda entry point.
func (h *harness) invoke(t *testing.T, r request) response {
	t.Helper()
	resp, err := h.server.HandleEvent(context.Background(), r.event())
	require.NoError(t, err, "HandleEvent must never return an error (API Gateway would answer 502)")
	header := http.Header{}
	for k, v := range resp.Headers {
		header.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	return decodeResponse(t, resp.StatusCode, header, resp.Body)
}

func decodeResponse(t *testing.T, status int, header http.Header, raw string) response {
	t.Helper()
	resp := response{status: status, header: header, raw: raw}
	if status != http.StatusNoContent {
		assert.Equal(t, "application/json", header.Get("Content-Type"), "every answer is JSON: %s", raw)
		require.NoError(t, json.Unmarshal([]byte(raw), &resp.body), "body is not JSON: %q", raw)
	}
	return resp
}

func (h *harness) stored(t *testing.T) []weather.Event {
	t.Helper()
	page, err := h.store.List(context.Background(), 100, "")
	require.NoError(t, err)
	return page.Events
}

const validBody = `{"name":"Storms Dudley, Eunice and Franklin","dateStart":"2022-02-16","dateEnd":"2022-02-21"}`

func TestListIsEmptyAtFirst(t *testing.T) {
	resp := newHarness(t).serve(t, request{method: "GET", path: "/", authorizer: claims("weather-api/get")})
	assert.Equal(t, http.StatusOK, resp.status)
	assert.Equal(t, map[string]any{"events": []any{}}, resp.body)
}

// The handler routes by what API Gateway matched and authorized (the request
// context's method and resource, and the path parameters), so a URL that
// says something else (a custom domain's base path, characters API Gateway
// decodes) cannot send an authorized call to another route.
func TestRoutesByTheMatchedResourceNotTheURL(t *testing.T) {
	h := newHarness(t)
	created := h.serve(t, request{method: "POST", path: "/", body: validBody, authorizer: claims("weather-api/post")})
	require.Equal(t, http.StatusCreated, created.status, created.raw)
	id := created.body["id"].(string)

	listed := h.serve(t, request{method: "GET", path: "/v1/weather/" + id, resource: "/", authorizer: claims("weather-api/get")})
	assert.Equal(t, http.StatusOK, listed.status, "GET on resource / lists, whatever the URL: %s", listed.raw)
	assert.Contains(t, listed.body, "events")

	ev := request{method: "DELETE", path: "/base/" + id, resource: "/{id}", authorizer: claims("weather-api/delete")}.event()
	ev.PathParameters = map[string]string{"id": id}
	req, err := api.Request(context.Background(), ev)
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.server.Handler().ServeHTTP(rec, req)
	assert.Equal(t, http.StatusNoContent, rec.Code, "the id comes from pathParameters: %s", rec.Body.String())
	assert.Empty(t, h.stored(t))
}

func TestCreateStoresTheEventAndRecordsTheClient(t *testing.T) {
	h := newHarness(t)
	resp := h.serve(t, request{method: "POST", path: "/", body: validBody, authorizer: claims("weather-api/post")})
	require.Equal(t, http.StatusCreated, resp.status, resp.raw)
	id := resp.body["id"].(string)
	assert.True(t, weather.ValidID(id))
	assert.Equal(t, "/weather/"+id, resp.header.Get("Location"), "the stage's path, where GET /{id} reads it")
	assert.Equal(t, "client-1", resp.body["createdBy"])
	assert.Equal(t, "2026-11-22T12:00:00Z", resp.body["createdAt"])

	list := h.serve(t, request{method: "GET", path: "/", authorizer: claims("weather-api/get")})
	require.Equal(t, http.StatusOK, list.status)
	events := list.body["events"].([]any)
	require.Len(t, events, 1)
	assert.Equal(t, map[string]any{
		"id": id, "name": "Storms Dudley, Eunice and Franklin", "dateStart": "2022-02-16", "dateEnd": "2022-02-21",
		"createdBy": "client-1", "createdAt": "2026-11-22T12:00:00Z",
	}, events[0])
}

func TestDeleteRemovesTheEvent(t *testing.T) {
	h := newHarness(t)
	created := h.serve(t, request{method: "POST", path: "/", body: validBody, authorizer: claims("weather-api/post")})
	id := created.body["id"].(string)
	del := request{method: "DELETE", path: "/" + id, resource: "/{id}", authorizer: claims("weather-api/delete")}

	assert.Equal(t, http.StatusNoContent, h.serve(t, del).status)
	assert.Empty(t, h.stored(t))
	again := h.serve(t, del)
	assert.Equal(t, http.StatusNotFound, again.status)
	assert.Equal(t, "not_found", again.body["error"])
}

func TestListPaginates(t *testing.T) {
	h := newHarness(t)
	for range 3 {
		require.Equal(t, http.StatusCreated, h.serve(t, request{method: "POST", path: "/", body: validBody, authorizer: claims("weather-api/post")}).status)
	}
	first := h.serve(t, request{method: "GET", path: "/", query: map[string]string{"limit": "2"}, authorizer: claims("weather-api/get")})
	require.Equal(t, http.StatusOK, first.status)
	assert.Len(t, first.body["events"], 2)
	next, _ := first.body["next"].(string)
	require.NotEmpty(t, next)
	second := h.serve(t, request{method: "GET", path: "/", query: map[string]string{"limit": "2", "cursor": next}, authorizer: claims("weather-api/get")})
	require.Equal(t, http.StatusOK, second.status)
	assert.Len(t, second.body["events"], 1)
}

func TestListRefusesBadQueries(t *testing.T) {
	h := newHarness(t)
	for _, q := range []map[string]string{
		{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"limit": "-1"}, {"cursor": "forged"},
	} {
		resp := h.serve(t, request{method: "GET", path: "/", query: q, authorizer: claims("weather-api/get")})
		assert.Equal(t, http.StatusBadRequest, resp.status, q)
		assert.Equal(t, "invalid_query", resp.body["error"], q)
	}
}

// The function re-checks what API Gateway checked, from the same route table.
func TestRefusesCallersTheRouteTableDoesNotAllow(t *testing.T) {
	withClaims := func(c map[string]any) map[string]any { return map[string]any{"claims": c} }
	access := func(scope string) map[string]any {
		return withClaims(map[string]any{"token_use": "access", "client_id": "c", "scope": scope})
	}
	for _, tc := range []struct {
		name      string
		req       request
		status    int
		code      string
		challenge string
	}{
		{"no authorizer", request{method: "GET", path: "/"}, 401, "invalid_token", "Bearer"},
		{"authorizer without claims", request{method: "GET", path: "/", authorizer: map[string]any{"principalId": "x"}}, 401, "invalid_token", "Bearer"},
		{"claims of the wrong type", request{method: "GET", path: "/", authorizer: map[string]any{"claims": "token_use=access"}}, 401, "invalid_token", `Bearer error="invalid_token"`},
		{"scope claim of the wrong type", request{method: "GET", path: "/", authorizer: withClaims(map[string]any{"token_use": "access", "scope": []any{"weather-api/get"}})}, 401, "invalid_token", `Bearer error="invalid_token"`},
		{"id token", request{method: "GET", path: "/", authorizer: withClaims(map[string]any{"token_use": "id", "scope": "weather-api/get"})}, 403, "invalid_token", `Bearer error="invalid_token"`},
		{"no token_use", request{method: "GET", path: "/", authorizer: withClaims(map[string]any{"scope": "weather-api/get"})}, 403, "invalid_token", `Bearer error="invalid_token"`},
		{"empty scope", request{method: "GET", path: "/", authorizer: access("")}, 403, "insufficient_scope", `Bearer error="insufficient_scope"`},
		{"near-miss scope", request{method: "GET", path: "/", authorizer: access("weather-api/gett")}, 403, "insufficient_scope", `Bearer error="insufficient_scope"`},
		{"wrong-case scope", request{method: "GET", path: "/", authorizer: access("Weather-API/GET")}, 403, "insufficient_scope", `Bearer error="insufficient_scope"`},
		{"scope prefix only", request{method: "GET", path: "/", authorizer: access("weather-api")}, 403, "insufficient_scope", `Bearer error="insufficient_scope"`},
		{"post-only token on GET", request{method: "GET", path: "/", authorizer: access("weather-api/post")}, 403, "insufficient_scope", `Bearer error="insufficient_scope"`},
		{"get and post token on DELETE", request{method: "DELETE", path: "/" + weather.NewID(), resource: "/{id}", authorizer: access("weather-api/get weather-api/post")}, 403, "insufficient_scope", `Bearer error="insufficient_scope"`},
		{"route not in the table", request{method: "PUT", path: "/", authorizer: access("weather-api/get weather-api/post weather-api/delete")}, 403, "insufficient_scope", `Bearer error="insufficient_scope"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := newHarness(t).serve(t, tc.req)
			assert.Equal(t, tc.status, resp.status, resp.raw)
			assert.Equal(t, tc.code, resp.body["error"])
			assert.Equal(t, tc.challenge, resp.header.Get("WWW-Authenticate"))
		})
	}
}

func TestAnyOfTheRouteScopesIsEnough(t *testing.T) {
	resp := newHarness(t).serve(t, request{method: "GET", path: "/", authorizer: claims("other/scope weather-api/get")})
	assert.Equal(t, http.StatusOK, resp.status)
}

// Every bad body gets a 4xx JSON error and nothing is stored.
func TestBadBodiesAreRefusedAndStoreNothing(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 500) + `1` + strings.Repeat(`}`, 500)
	for _, tc := range []struct {
		name    string
		body    string
		headers map[string]string
		base64  bool
		status  int
		want    string
	}{
		{name: "empty body", body: "", status: 400, want: "body is empty"},
		{name: "whitespace body", body: " \n ", status: 400, want: "body is empty"},
		{name: "null", body: "null", status: 400, want: "must be a JSON object"},
		{name: "array", body: `[` + validBody + `]`, status: 400, want: "must be a JSON object"},
		{name: "string", body: `"event"`, status: 400, want: "must be a JSON object"},
		{name: "oversize body", body: `{"name":"` + strings.Repeat("a", api.MaxBodyBytes) + `"}`, status: 413, want: "larger than"},
		{name: "truncated JSON", body: validBody[:30], status: 400, want: "not valid JSON"},
		{name: "trailing data", body: validBody + `{}`, status: 400, want: "data after the JSON object"},
		{name: "trailing garbage", body: validBody + `x`, status: 400, want: "data after the JSON object"},
		{name: "duplicate key", body: `{"name":"a","name":"b","dateStart":"2022-01-01","dateEnd":"2022-01-02"}`, status: 400, want: `field "name" appears more than once`},
		{name: "case-variant key", body: `{"Name":"a","dateStart":"2022-01-01","dateEnd":"2022-01-02"}`, status: 400, want: `unknown field "Name"`},
		{name: "unknown field", body: `{"name":"a","dateStart":"2022-01-01","dateEnd":"2022-01-02","createdBy":"someone-else"}`, status: 400, want: `unknown field "createdBy"`},
		{name: "deep nesting", body: `{"name":` + deep + `}`, status: 400, want: ""},
		{name: "huge number", body: `{"name":1e999999,"dateStart":"2022-01-01","dateEnd":"2022-01-02"}`, status: 400, want: `field "name" must be a string`},
		{name: "number instead of string", body: `{"name":"a","dateStart":20220101,"dateEnd":"2022-01-02"}`, status: 400, want: `field "dateStart" must be a string`},
		{name: "null field", body: `{"name":null,"dateStart":"2022-01-01","dateEnd":"2022-01-02"}`, status: 400, want: `field "name" must be a string`},
		{name: "invalid UTF-8", body: "{\"name\":\"a\xff\",\"dateStart\":\"2022-01-01\",\"dateEnd\":\"2022-01-02\"}", status: 400, want: "not valid UTF-8"},
		{name: "lone high surrogate escape", body: `{"name":"\ud800","dateStart":"2022-01-01","dateEnd":"2022-01-02"}`, status: 400, want: "lone UTF-16 surrogate"},
		{name: "lone low surrogate escape", body: `{"name":"a\udc00b","dateStart":"2022-01-01","dateEnd":"2022-01-02"}`, status: 400, want: "lone UTF-16 surrogate"},
		{name: "reversed surrogate pair", body: `{"name":"\udc00\ud800","dateStart":"2022-01-01","dateEnd":"2022-01-02"}`, status: 400, want: "lone UTF-16 surrogate"},
		{name: "missing fields", body: `{}`, status: 400, want: "the event is not valid"},
		{name: "end before start", body: `{"name":"a","dateStart":"2022-01-02","dateEnd":"2022-01-01"}`, status: 400, want: "the event is not valid"},
		{name: "wrong Content-Type", body: validBody, headers: map[string]string{"Content-Type": "text/plain"}, status: 415, want: "Content-Type must be application/json"},
		{name: "no Content-Type", body: validBody, headers: map[string]string{}, status: 415, want: "Content-Type must be application/json"},
		{name: "form Content-Type", body: validBody, headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 415, want: "Content-Type"},
		{name: "invalid base64", body: "not*base64", base64: true, status: 400, want: "not valid base64"},
		{name: "base64 of garbage", body: base64.StdEncoding.EncodeToString([]byte("{garbage")), base64: true, status: 400, want: "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			resp := h.invoke(t, request{method: "POST", path: "/", body: tc.body, headers: tc.headers, base64: tc.base64, authorizer: claims("weather-api/post")})
			assert.Equal(t, tc.status, resp.status, resp.raw)
			assert.Contains(t, resp.body["message"], tc.want)
			assert.Empty(t, h.stored(t), "a refused request must not store anything")
		})
	}
}

func TestValidationErrorsNameTheFields(t *testing.T) {
	resp := newHarness(t).serve(t, request{method: "POST", path: "/", body: `{"name":"","dateStart":"2022-13-01","dateEnd":"2022-01-01"}`, authorizer: claims("weather-api/post")})
	require.Equal(t, http.StatusBadRequest, resp.status)
	var fields []string
	for _, f := range resp.body["fields"].([]any) {
		fields = append(fields, f.(map[string]any)["field"].(string))
	}
	assert.Equal(t, []string{"name", "dateStart"}, fields)
}

// In proxy mode API Gateway passes every method and path through to the
// function, so the service's own routing answers the rest, in JSON.
func TestUnknownMethodsAndPaths(t *testing.T) {
	h := newHarness(t)
	h.server.Routes = routetable.Table{
		{Method: "ANY", Path: "/", Scopes: []string{"default/default"}},
		{Method: "ANY", Path: "/{proxy+}", Scopes: []string{"default/default"}},
	}
	for _, tc := range []struct {
		method, path, resource string
		status                 int
		allow                  string
	}{
		{"PUT", "/", "/", 405, "GET, POST"},
		{"PATCH", "/", "/", 405, "GET, POST"},
		{"PUT", "/" + weather.NewID(), "/{proxy+}", 405, "GET, DELETE"},
		{"GET", "/" + weather.NewID(), "/{proxy+}", 404, ""},
		{"DELETE", "/not-an-id", "/{proxy+}", 404, ""},
		{"DELETE", "/a/b", "/{proxy+}", 404, ""},
		{"DELETE", "/%2Fetc%2Fpasswd", "/{proxy+}", 404, ""},
		{"GET", "/..%2F..%2F", "/{proxy+}", 404, ""},
		{"DELETE", "/" + weather.NewID(), "/{proxy+}", 404, ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			resp := h.serve(t, request{method: tc.method, path: tc.path, resource: tc.resource, authorizer: claims("default/default")})
			assert.Equal(t, tc.status, resp.status, resp.raw)
			assert.Equal(t, tc.allow, resp.header.Get("Allow"))
		})
	}
	created := h.serve(t, request{method: "POST", path: "/", resource: "/", body: validBody, authorizer: claims("default/default")})
	assert.Equal(t, http.StatusCreated, created.status, "proxy mode serves the same service")
}

type panickingStore struct{ weather.Store }

func (panickingStore) List(context.Context, int, string) (weather.Page, error) { panic("boom") }

type failingStore struct{ weather.Store }

func (failingStore) List(context.Context, int, string) (weather.Page, error) {
	return weather.Page{}, fmt.Errorf("stored event %q lacks string attributes [name]", "x")
}

type unavailableStore struct{ weather.Store }

func (unavailableStore) List(ctx context.Context, _ int, _ string) (weather.Page, error) {
	<-ctx.Done() // a store that never answers
	return weather.Page{}, ctx.Err()
}

func TestHandlerPanicBecomesJSON500(t *testing.T) {
	h := newHarness(t)
	h.server.Store = panickingStore{}
	resp := h.invoke(t, request{method: "GET", path: "/", authorizer: claims("weather-api/get")})
	assert.Equal(t, http.StatusInternalServerError, resp.status)
	assert.Equal(t, "internal_error", resp.body["error"])
	assert.NotContains(t, resp.raw, "boom", "internal details stay in the logs")
	assert.Contains(t, h.logs.String(), `"panic":"boom"`)
}

func TestStoreFailureBecomesJSON500(t *testing.T) {
	h := newHarness(t)
	h.server.Store = failingStore{}
	resp := h.serve(t, request{method: "GET", path: "/", authorizer: claims("weather-api/get")})
	assert.Equal(t, http.StatusInternalServerError, resp.status)
	assert.NotContains(t, resp.raw, "lacks string attributes")
}

// A store that does not answer gets a JSON 503 with Retry-After once the
// storage deadline passes, and that deadline ends before the invocation's.
func TestHangingStoreAnswers503BeforeTheDeadline(t *testing.T) {
	h := newHarness(t)
	h.server.Store = unavailableStore{}
	h.server.StorageTimeout = 5 * time.Second
	h.server.AnswerReserve = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	deadline, _ := ctx.Deadline()
	start := time.Now()
	resp, err := h.server.HandleEvent(ctx, request{method: "GET", path: "/", authorizer: claims("weather-api/get")}.event())
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, resp.Body)
	assert.Equal(t, []string{"1"}, resp.MultiValueHeaders["Retry-After"])
	assert.Contains(t, resp.Body, `"error":"storage_unavailable"`)
	assert.True(t, time.Now().Before(deadline), "answered %v after the invocation's deadline", time.Since(deadline))
	assert.Greater(t, time.Since(start), 250*time.Millisecond, "it waited for the store until the reserve")
}

func TestLogsOneJSONLinePerRequestWithoutSecretsOrBodies(t *testing.T) {
	h := newHarness(t)
	h.serve(t, request{method: "POST", path: "/", body: validBody, authorizer: claims("weather-api/post")})
	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	require.Len(t, lines, 1)
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry))
	assert.Equal(t, "req-123", entry["request_id"])
	assert.Equal(t, "client-1", entry["client_id"])
	assert.Equal(t, "POST /", entry["route"])
	assert.EqualValues(t, 201, entry["status"])
	assert.Contains(t, entry, "latency_ms")
	assert.NotContains(t, h.logs.String(), "secret-token-value", "the Authorization header must never be logged")
	assert.NotContains(t, h.logs.String(), "Dudley", "bodies must never be logged")
}

// A request API Gateway matched to a resource with a path parameter is
// served by that resource's route, whatever the parameter holds: one whose
// parameter is missing or empty names no event (404 not_found), and is never
// served as the resource without it (GET / would list every event).
func TestEmptyPathParameterIsNotTheList(t *testing.T) {
	for _, tc := range []struct {
		name, method, resource, scope string
		params                        map[string]string
	}{
		{"GET /{id}, no path parameters", "GET", "/{id}", "weather-api/get", nil},
		{"GET /{id}, no id", "GET", "/{id}", "weather-api/get", map[string]string{"other": "x"}},
		{"GET /{id}, empty id", "GET", "/{id}", "weather-api/get", map[string]string{"id": ""}},
		{"DELETE /{id}, no path parameters", "DELETE", "/{id}", "weather-api/delete", nil},
		{"DELETE /{id}, empty id", "DELETE", "/{id}", "weather-api/delete", map[string]string{"id": ""}},
		{"GET /{proxy+}, empty proxy", "GET", "/{proxy+}", "default/default", map[string]string{"proxy": ""}},
		{"POST /{proxy+}, no proxy", "POST", "/{proxy+}", "default/default", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.server.Routes = append(slices.Clone(weatherRoutes), routetable.Route{Method: "ANY", Path: "/{proxy+}", Scopes: []string{"default/default"}})
			created := h.invoke(t, request{method: "POST", path: "/", body: validBody, authorizer: claims("weather-api/post")})
			require.Equal(t, http.StatusCreated, created.status, created.raw)

			ev := request{method: tc.method, path: "/", resource: tc.resource, body: validBody, authorizer: claims(tc.scope)}.event()
			ev.PathParameters = tc.params
			resp, err := h.server.HandleEvent(t.Context(), ev)
			require.NoError(t, err)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode, resp.Body)
			var body map[string]any
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &body), resp.Body)
			assert.Equal(t, "not_found", body["error"])
			assert.NotContains(t, body, "events", "never the list")
			assert.Len(t, h.stored(t), 1, "nothing created or deleted")
		})
	}
}

// Every invocation logs exactly one "request" line with the same fields,
// whether the handler served it, refused it, panicked, or the event was
// refused while it was converted (bad base64, conflicting headers) or came
// without a request context: the API Gateway and Lambda request ids, the
// client id from the claims (empty only when there are none), the route,
// the status answered, and the latency since the invocation started.
func TestEveryRequestLogsIDsClientRouteStatusAndLatency(t *testing.T) {
	for _, tc := range []struct {
		name     string
		event    func() events.APIGatewayProxyRequest
		panics   bool
		status   int
		route    string
		reqID    string
		clientID string
	}{
		{name: "served", status: 200, route: "GET /", reqID: "req-123", clientID: "client-1", event: func() events.APIGatewayProxyRequest {
			return request{method: "GET", path: "/", authorizer: claims("weather-api/get")}.event()
		}},
		{name: "refused by the handler", status: 400, route: "GET /", reqID: "req-123", clientID: "client-1", event: func() events.APIGatewayProxyRequest {
			return request{method: "GET", path: "/", query: map[string]string{"limit": "0"}, authorizer: claims("weather-api/get")}.event()
		}},
		{name: "panicked", panics: true, status: 500, route: "GET /", reqID: "req-123", clientID: "client-1", event: func() events.APIGatewayProxyRequest {
			return request{method: "GET", path: "/", authorizer: claims("weather-api/get")}.event()
		}},
		{name: "invalid base64 body", status: 400, route: "POST /", reqID: "req-123", clientID: "client-1", event: func() events.APIGatewayProxyRequest {
			return request{method: "POST", path: "/", body: "not*base64", base64: true, authorizer: claims("weather-api/post")}.event()
		}},
		{name: "conflicting headers", status: 400, route: "POST /", reqID: "req-123", clientID: "client-1", event: func() events.APIGatewayProxyRequest {
			return request{method: "POST", path: "/", body: validBody, authorizer: claims("weather-api/post"),
				headers: map[string]string{"Content-Type": "application/json", "content-type": "text/plain"}}.event()
		}},
		{name: "malformed claims", status: 401, route: "GET /", reqID: "req-123", clientID: "client-1", event: func() events.APIGatewayProxyRequest {
			return request{method: "GET", path: "/", authorizer: map[string]any{"claims": map[string]any{
				"token_use": "access", "client_id": "client-1", "scope": []any{"weather-api/get"},
			}}}.event()
		}},
		{name: "no request context", status: 403, event: func() events.APIGatewayProxyRequest {
			ev := request{method: "GET", path: "/"}.event()
			ev.RequestContext = events.APIGatewayProxyRequestContext{}
			return ev
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.panics {
				h.server.Store = panickingStore{}
			}
			now := fixedNow
			h.server.Now = func() time.Time { now = now.Add(5 * time.Millisecond); return now }
			ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})
			resp, err := h.server.HandleEvent(ctx, tc.event())
			require.NoError(t, err)
			require.Equal(t, tc.status, resp.StatusCode, resp.Body)

			var entries []map[string]any
			for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
				var entry map[string]any
				require.NoError(t, json.Unmarshal([]byte(line), &entry), line)
				if entry["msg"] == "request" {
					entries = append(entries, entry)
				}
			}
			require.Len(t, entries, 1, "one request line per invocation: %s", h.logs.String())
			entry := entries[0]
			assert.EqualValues(t, tc.status, entry["status"], "the status answered")
			assert.Equal(t, tc.reqID, entry["request_id"])
			assert.Equal(t, tc.route, entry["route"])
			assert.Equal(t, "lambda-req-1", entry["lambda_request_id"])
			if assert.Contains(t, entry, "client_id") {
				assert.Equal(t, tc.clientID, entry["client_id"])
			}
			if assert.Contains(t, entry, "latency_ms") {
				assert.Greater(t, entry["latency_ms"], 0.0, "measured from the start of the invocation")
			}
			assert.NotContains(t, h.logs.String(), "secret-token-value")
		})
	}
}
