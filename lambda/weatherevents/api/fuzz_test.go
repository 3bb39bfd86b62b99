package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scopegate/scopegate/lambda/weatherevents/api"
)

// FuzzDecodeNewEvent: run with `go test ./lambda/weatherevents/api -fuzz FuzzDecodeNewEvent`.
// Whatever the input, decoding must not panic, and anything it accepts must be
// valid UTF-8 JSON holding exactly the fields it returned.
func FuzzDecodeNewEvent(f *testing.F) {
	for _, seed := range []string{
		validBody, "", "null", "{}", `{"name":"a","name":"b"}`, `{"Name":"a"}`, validBody + "{}",
		`{"name":` + "\"\xff\"}", `{"name":1e999999}`, `[` + validBody + `]`, `{"name":{"a":[1,2,{"b":null}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := api.DecodeNewEvent(body)
		if err != nil {
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		var generic map[string]any
		if err := json.Unmarshal(body, &generic); err != nil {
			t.Fatalf("accepted a body encoding/json rejects: %q: %v", body, err)
		}
		for key, v := range generic {
			s, ok := v.(string)
			if !ok {
				t.Fatalf("accepted a non-string %q: %q", key, body)
			}
			want := map[string]string{"name": e.Name, "dateStart": e.DateStart, "dateEnd": e.DateEnd}[key]
			if s != want {
				t.Fatalf("field %q decoded as %q, JSON says %q", key, want, s)
			}
		}
	})
}

// FuzzHandleEvent: run with `go test ./lambda/weatherevents/api -fuzz FuzzHandleEvent`.
// Whatever event API Gateway (or anything else) hands the function, it
// answers without an error, with a real HTTP status and a JSON body, and
// logs exactly one JSON line.
func FuzzHandleEvent(f *testing.F) {
	f.Add("POST", "/", "/", `{"Content-Type":"application/json"}`, `{"content-type":["application/json"]}`, validBody, false, "weather-api/post")
	f.Add("GET", "/{id}", "/x", `{}`, `{}`, "", false, "weather-api/get")
	f.Add("DELETE", "/{proxy+}", "/a/b", `{"Content-Type":"a","content-type":"b"}`, `null`, "", false, "weather-api/delete")
	f.Add("POST", "/", "/", `{"Idempotency-Key":"\"k\""}`, `{}`, "bm90KmJhc2U2NA==", true, "weather-api/post")
	f.Fuzz(func(t *testing.T, method, resource, path, headers, multi, body string, b64 bool, scope string) {
		var h map[string]string
		var mh map[string][]string
		_ = json.Unmarshal([]byte(headers), &h)
		_ = json.Unmarshal([]byte(multi), &mh)
		logs := &bytes.Buffer{}
		server := &api.Server{Store: &memoryStore{}, Routes: weatherRoutes, Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: time.Now}
		ev := events.APIGatewayProxyRequest{
			HTTPMethod: method, Path: path, Resource: resource, Headers: h, MultiValueHeaders: mh, Body: body, IsBase64Encoded: b64,
			PathParameters: map[string]string{"id": strings.TrimPrefix(path, "/"), "proxy": strings.TrimPrefix(path, "/")},
			RequestContext: events.APIGatewayProxyRequestContext{
				HTTPMethod: method, ResourcePath: resource, RequestID: "r",
				Authorizer: map[string]any{"claims": map[string]any{"token_use": "access", "client_id": "c", "scope": scope}},
			},
		}
		resp, err := server.HandleEvent(context.Background(), ev)
		if err != nil {
			t.Fatalf("HandleEvent returned an error: %v", err)
		}
		if resp.StatusCode < 200 || resp.StatusCode > 599 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if resp.StatusCode != http.StatusNoContent && !json.Valid([]byte(resp.Body)) {
			t.Fatalf("body is not JSON: %q", resp.Body)
		}
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		requests := 0
		for _, line := range lines {
			if !json.Valid([]byte(line)) {
				t.Fatalf("log line is not JSON: %q", line)
			}
			if strings.Contains(line, `"msg":"request"`) {
				requests++
			}
		}
		if requests != 1 {
			t.Fatalf("%d request log lines: %q", requests, logs.String())
		}
	})
}
