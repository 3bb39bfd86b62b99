package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// The conversion between API Gateway proxy events and net/http is written
// here rather than taken from a library, for three reasons: it must be
// deterministic (the same header under two casings, or in both headers and
// multiValueHeaders, must give the same request every time), it must keep
// the request context and path parameters that routing and authorization
// read, and it must never write raw text to the function's log.

// requestEvent is what the handler keeps of the event besides the request.
type requestEvent struct {
	context        events.APIGatewayProxyRequestContext
	pathParameters map[string]string
}

type requestEventKey struct{}

// singletonHeaders may hold one value only: two different values for one of
// them (under two casings, say) would make the request mean two things.
var singletonHeaders = []string{"Authorization", "Content-Type", "Content-Length", "Idempotency-Key", "Host"}

// Request converts an API Gateway proxy event into the *http.Request the
// handler serves. It refuses (with an error to answer 400 with) a body marked
// base64 that is not, and a singleton header sent with different values.
func Request(ctx context.Context, e events.APIGatewayProxyRequest) (*http.Request, error) {
	body := []byte(e.Body)
	if e.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(e.Body)
		if err != nil {
			return nil, fmt.Errorf("the body is marked base64 but is not valid base64")
		}
		body = decoded
	}
	header, err := mergeHeaders(e.Headers, e.MultiValueHeaders)
	if err != nil {
		return nil, err
	}
	query := url.Values{}
	for _, k := range sortedKeys(e.MultiValueQueryStringParameters) {
		for _, v := range e.MultiValueQueryStringParameters[k] {
			query.Add(k, v)
		}
	}
	for _, k := range sortedKeys(e.QueryStringParameters) {
		if _, seen := query[k]; !seen {
			query.Set(k, e.QueryStringParameters[k])
		}
	}
	method := e.HTTPMethod
	if method == "" {
		method = e.RequestContext.HTTPMethod
	}
	req := &http.Request{
		Method:        method,
		URL:           &url.URL{Path: e.Path, RawQuery: query.Encode()},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Host:          header.Get("Host"),
		RequestURI:    e.Path,
	}
	return req.WithContext(context.WithValue(ctx, requestEventKey{}, &requestEvent{context: e.RequestContext, pathParameters: e.PathParameters})), nil
}

// mergeHeaders builds one header from both maps: multiValueHeaders first
// (API Gateway puts every value there), then any name only headers has,
// each in sorted order, so that the result never depends on map order.
func mergeHeaders(single map[string]string, multi map[string][]string) (http.Header, error) {
	h := http.Header{}
	for _, k := range sortedKeys(multi) {
		for _, v := range multi[k] {
			h.Add(k, v)
		}
	}
	fromMulti := map[string]bool{}
	for k := range h {
		fromMulti[k] = true
	}
	for _, k := range sortedKeys(single) {
		if !fromMulti[textproto.CanonicalMIMEHeaderKey(k)] {
			h.Add(k, single[k])
		}
	}
	for _, name := range singletonHeaders {
		values := slices.Compact(slices.Sorted(slices.Values(h.Values(name))))
		if len(values) > 1 {
			return nil, fmt.Errorf("header %s is sent more than once with different values", name)
		}
		if len(values) == 1 {
			h.Set(name, values[0])
		}
	}
	return h, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// apiGatewayContext is the request context of the event a request came from.
func apiGatewayContext(r *http.Request) (events.APIGatewayProxyRequestContext, bool) {
	e, ok := r.Context().Value(requestEventKey{}).(*requestEvent)
	if !ok {
		return events.APIGatewayProxyRequestContext{}, false
	}
	return e.context, true
}

// Why operation cannot give the route a request names.
var (
	errNoRequestContext = errors.New("no API Gateway request context")
	errEmptyParameter   = errors.New("a path parameter of the matched resource is missing or empty")
)

// operation is the route API Gateway matched, as the request context and the
// path parameters say: the method, and the resource path with each
// parameter filled in ("/{id}" with id "abc" is "/abc"; "/{proxy+}" with
// proxy "a/b" is "/a/b"). The handler routes by it, the fields it
// authorizes on, never by the URL the caller sent.
//
// A parameter of the resource that is missing or empty is an error
// (errEmptyParameter), not an empty segment: "/{id}" with id "" would
// otherwise be "/", the list (or, for POST on "/{proxy+}", a create).
func operation(r *http.Request) (method, path string, err error) {
	e, ok := r.Context().Value(requestEventKey{}).(*requestEvent)
	if !ok {
		return "", "", errNoRequestContext
	}
	segments := strings.Split(e.context.ResourcePath, "/")
	for i, seg := range segments {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"), "+")
			value := e.pathParameters[name]
			if value == "" {
				return "", "", fmt.Errorf("%w: %s has no %s", errEmptyParameter, e.context.ResourcePath, name)
			}
			segments[i] = value
		}
	}
	return e.context.HTTPMethod, strings.Join(segments, "/"), nil
}

// responseWriter collects a response for an API Gateway proxy event.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponseWriter() *responseWriter { return &responseWriter{header: http.Header{}} }

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// event is the response as API Gateway takes it: every header in
// multiValueHeaders, the body as text (the service only writes JSON).
func (w *responseWriter) event() events.APIGatewayProxyResponse {
	w.WriteHeader(http.StatusOK)
	return events.APIGatewayProxyResponse{StatusCode: w.status, MultiValueHeaders: w.header, Body: w.body.String()}
}
