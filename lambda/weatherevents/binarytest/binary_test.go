package binarytest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/dynalitetest"
	"github.com/scopegate/scopegate/internal/testkit/faultproxy"
	"github.com/scopegate/scopegate/local/lambdart"
	"github.com/scopegate/scopegate/routetable"
)

var dynalite *dynalitetest.Server

func TestMain(m *testing.M) { dynalitetest.Main(m, func(s *dynalitetest.Server) { dynalite = s }) }

// storageTimeout is the function's STORAGE_TIMEOUT_MS here.
const storageTimeout = time.Second

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// function is one execution environment of the built binary, its tables,
// and the proxy between it and dynalite.
type function struct {
	*lambdart.Function
	proxy        *faultproxy.Proxy
	events, keys string
	invocations  int
}

func start(t *testing.T, extraEnv ...string) *function {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "weatherevents-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binary, buildErr = lambdart.Build(context.Background(), "./lambda/weatherevents", dir)
	})
	require.NoError(t, buildErr)
	proxy, err := faultproxy.Start(strings.TrimPrefix(dynalite.Endpoint, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { proxy.Close() })

	routes := filepath.Join(t.TempDir(), "routes.json")
	require.NoError(t, os.WriteFile(routes, routetable.Table{
		{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}},
		{Method: "POST", Path: "/", Scopes: []string{"weather-api/post"}},
		{Method: "GET", Path: "/{id}", Scopes: []string{"weather-api/get"}},
		{Method: "DELETE", Path: "/{id}", Scopes: []string{"weather-api/delete"}},
	}.Encode(), 0o644))
	f := &function{proxy: proxy, events: dynalite.NewEventsTable(t), keys: dynalite.NewKeysTable(t)}
	f.Function, err = lambdart.Start(context.Background(), binary, append([]string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"TABLE_NAME=" + f.events, "IDEMPOTENCY_TABLE_NAME=" + f.keys,
		routetable.FileEnvVar + "=" + routes,
		"AWS_ENDPOINT_URL_DYNAMODB=" + proxy.URL(),
		"STORAGE_TIMEOUT_MS=" + strconv.FormatInt(storageTimeout.Milliseconds(), 10),
	}, extraEnv...))
	require.NoError(t, err)
	t.Cleanup(func() { f.Stop() })
	return f
}

// request is an API Gateway proxy event as the Cognito authorizer passes it.
func request(method, resource, path, scope, key, body string) events.APIGatewayProxyRequest {
	headers := map[string][]string{"Authorization": {"Bearer t"}}
	if body != "" {
		headers["Content-Type"] = []string{"application/json"}
	}
	if key != "" {
		headers["Idempotency-Key"] = []string{`"` + key + `"`}
	}
	var params map[string]string
	if resource == "/{id}" {
		params = map[string]string{"id": strings.TrimPrefix(path, "/")}
	}
	return events.APIGatewayProxyRequest{
		HTTPMethod: method, Resource: resource, Path: path, MultiValueHeaders: headers, Body: body, PathParameters: params,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req", HTTPMethod: method, ResourcePath: resource, Stage: "weather", Path: "/weather" + path,
			Authorizer: map[string]any{"claims": map[string]any{"token_use": "access", "client_id": "client-1", "scope": scope}},
		},
	}
}

const event = `{"name":"Storms Malik and Corrie","dateStart":"2022-01-29","dateEnd":"2022-01-31"}`

func (f *function) invoke(t *testing.T, e events.APIGatewayProxyRequest, timeout time.Duration) (events.APIGatewayProxyResponse, time.Duration) {
	t.Helper()
	data, err := json.Marshal(e)
	require.NoError(t, err)
	start := time.Now()
	out, err := f.Invoke(context.Background(), data, timeout)
	took := time.Since(start)
	require.NoError(t, err, "the function must answer before its deadline")
	f.invocations++
	var resp events.APIGatewayProxyResponse
	require.NoError(t, json.Unmarshal(out, &resp))
	return resp, took
}

func (f *function) stored(t *testing.T) int {
	t.Helper()
	out, err := dynalite.Client().Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(f.events), ConsistentRead: aws.Bool(true)})
	require.NoError(t, err)
	return len(out.Items)
}

// requestLines checks that every line the function wrote to stdout is JSON
// and that there is one request line per invocation. A line can reach the
// pipe after its invocation's answer, so it waits a little for the last.
func (f *function) requestLines(t *testing.T) {
	t.Helper()
	count := func() int {
		requests := 0
		for _, line := range f.Output() {
			text, ok := strings.CutPrefix(line, "stdout: ")
			if !ok {
				continue
			}
			var entry map[string]any
			require.NoError(t, json.Unmarshal([]byte(text), &entry), "a log line that is not JSON: %q", text)
			if entry["msg"] == "request" {
				requests++
			}
		}
		return requests
	}
	deadline := time.Now().Add(2 * time.Second)
	for count() < f.invocations && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.Equal(t, f.invocations, count(), "one JSON request line per invocation")
}

// The built binary serves the API against dynalite, and a POST retried with
// the same Idempotency-Key stores one event.
func TestBinaryRetriedPostStoresOnce(t *testing.T) {
	f := start(t)
	first, _ := f.invoke(t, request("POST", "/", "/", "weather-api/post", "k-1", event), 5*time.Second)
	require.Equal(t, http.StatusCreated, first.StatusCode, first.Body)
	again, _ := f.invoke(t, request("POST", "/", "/", "weather-api/post", "k-1", event), 5*time.Second)
	assert.Equal(t, first.Body, again.Body)
	assert.Equal(t, 1, f.stored(t))
	var created map[string]any
	require.NoError(t, json.Unmarshal([]byte(first.Body), &created))
	id := created["id"].(string)
	assert.Equal(t, []string{"/weather/" + id}, first.MultiValueHeaders["Location"])
	got, _ := f.invoke(t, request("GET", "/{id}", "/"+id, "weather-api/get", "", ""), 5*time.Second)
	assert.Equal(t, http.StatusOK, got.StatusCode, got.Body)
	f.requestLines(t)
}

// A store that accepts connections and never answers: the function answers a
// JSON 503 with Retry-After less than a second after its storage deadline,
// and before the invocation's own.
func TestBinaryHangingStoreAnswers503BeforeTheDeadline(t *testing.T) {
	f := start(t)
	f.proxy.Set(faultproxy.Hang)
	for _, r := range []events.APIGatewayProxyRequest{
		request("GET", "/", "/", "weather-api/get", "", ""),
		request("POST", "/", "/", "weather-api/post", "k-hang", event),
	} {
		resp, took := f.invoke(t, r, 3*time.Second)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, resp.Body)
		assert.Equal(t, []string{"1"}, resp.MultiValueHeaders["Retry-After"])
		assert.Contains(t, resp.Body, `"error":"storage_unavailable"`)
		assert.GreaterOrEqual(t, took, storageTimeout, "it waited for the store")
		assert.Less(t, took, storageTimeout+time.Second, "%s %s answered %v after exec, %v past the storage deadline", r.HTTPMethod, r.Path, took, took-storageTimeout)
	}
	// With the invocation's deadline nearer than the storage timeout, the
	// deadline wins, less the time kept to answer.
	resp, took := f.invoke(t, request("GET", "/", "/", "weather-api/get", "", ""), 700*time.Millisecond)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Less(t, took, 700*time.Millisecond)
	f.requestLines(t)
}

// Storage down (refused), then hanging, then up: the POSTs answered 503 are
// retried with their key and stored once each; nothing is lost or doubled.
func TestBinaryStorageDownThenUpLosesNothing(t *testing.T) {
	f := start(t)
	f.proxy.Set(faultproxy.Refuse)
	down, took := f.invoke(t, request("POST", "/", "/", "weather-api/post", "k-down", event), 3*time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, down.StatusCode, down.Body)
	assert.Less(t, took, storageTimeout, "a refused connection fails fast, within the bounded retries")

	f.proxy.Set(faultproxy.Hang)
	hung, _ := f.invoke(t, request("POST", "/", "/", "weather-api/post", "k-hang", event), 3*time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, hung.StatusCode, hung.Body)

	f.proxy.Set(faultproxy.Pass)
	for _, key := range []string{"k-down", "k-hang", "k-down", "k-hang"} {
		resp, _ := f.invoke(t, request("POST", "/", "/", "weather-api/post", key, event), 5*time.Second)
		assert.Equal(t, http.StatusCreated, resp.StatusCode, "%s: %s", key, resp.Body)
	}
	assert.Equal(t, 2, f.stored(t), "two keys, two events")
	f.requestLines(t)
}
