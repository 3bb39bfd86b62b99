package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func post(key, body, client string) request {
	c := claims("weather-api/post")
	c["claims"].(map[string]any)["client_id"] = client
	headers := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer secret-token-value"}
	if key != "" {
		headers["Idempotency-Key"] = key
	}
	return request{method: "POST", path: "/", body: body, headers: headers, authorizer: c}
}

// A retried POST with the same key and body answers what the first did and
// stores one event; the same key with another body is a 422; keys belong to
// their client.
func TestIdempotencyKey(t *testing.T) {
	h := newHarness(t)
	first := h.invoke(t, post(`"7f0c2a1e-retry"`, validBody, "client-1"))
	require.Equal(t, http.StatusCreated, first.status, first.raw)
	again := h.invoke(t, post(`"7f0c2a1e-retry"`, validBody, "client-1"))
	require.Equal(t, http.StatusCreated, again.status, again.raw)
	assert.Equal(t, first.raw, again.raw, "the retry gets the first answer")
	assert.Equal(t, first.header.Get("Location"), again.header.Get("Location"))
	assert.Len(t, h.stored(t), 1, "one event for one key")

	other := h.invoke(t, post(`"7f0c2a1e-retry"`, `{"name":"Other","dateStart":"2022-01-29","dateEnd":"2022-01-31"}`, "client-1"))
	assert.Equal(t, http.StatusUnprocessableEntity, other.status, other.raw)
	assert.Equal(t, "idempotency_key_reused", other.body["error"])

	theirs := h.invoke(t, post(`"7f0c2a1e-retry"`, validBody, "client-2"))
	assert.Equal(t, http.StatusCreated, theirs.status)
	assert.NotEqual(t, first.body["id"], theirs.body["id"], "another client's key is another key")
	assert.Len(t, h.stored(t), 2)

	bare := h.invoke(t, post("bare-token-key", validBody, "client-1"))
	assert.Equal(t, http.StatusCreated, bare.status, "a bare value is accepted as the key")

	for _, bad := range []string{`""`, "has space", string(make([]byte, 300))} {
		resp := h.invoke(t, post(bad, validBody, "client-1"))
		assert.Equal(t, http.StatusBadRequest, resp.status, "%q: %s", bad, resp.raw)
	}
	assert.Len(t, h.stored(t), 3)
}

// The same header in headers and multiValueHeaders, or under two casings,
// always gives the same answer: one value is used, two different values of
// a header that may have one are refused.
func TestHeadersAreMergedDeterministically(t *testing.T) {
	h := newHarness(t)
	ev := post("", validBody, "client-1").event()
	ev.Headers = map[string]string{"content-type": "application/json"}
	ev.MultiValueHeaders = nil
	resp, err := h.server.HandleEvent(t.Context(), ev)
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "headers alone are read: %s", resp.Body)

	ev.Headers = map[string]string{"Content-Type": "application/json"}
	ev.MultiValueHeaders = map[string][]string{"content-type": {"application/json"}}
	resp, _ = h.server.HandleEvent(t.Context(), ev)
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the same value in both maps is one value: %s", resp.Body)

	for range 20 {
		ev.Headers = map[string]string{"Content-Type": "application/json", "content-type": "text/plain"}
		ev.MultiValueHeaders = nil
		resp, _ = h.server.HandleEvent(t.Context(), ev)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, resp.Body)
		assert.Contains(t, resp.Body, "header Content-Type is sent more than once with different values")
	}
	assert.Len(t, h.stored(t), 2)
}

// GET /{id} reads one event, with the get scope.
func TestGetReadsOneEvent(t *testing.T) {
	h := newHarness(t)
	created := h.invoke(t, post("", validBody, "client-1"))
	require.Equal(t, http.StatusCreated, created.status)
	id := created.body["id"].(string)
	got := h.invoke(t, request{method: "GET", path: "/" + id, resource: "/{id}", authorizer: claims("weather-api/get")})
	assert.Equal(t, http.StatusOK, got.status, got.raw)
	assert.Equal(t, created.body, got.body)
	missing := h.invoke(t, request{method: "GET", path: "/00000000000000000000000000000000", resource: "/{id}", authorizer: claims("weather-api/get")})
	assert.Equal(t, http.StatusNotFound, missing.status)
	refused := h.invoke(t, request{method: "GET", path: "/" + id, resource: "/{id}", authorizer: claims("weather-api/post")})
	assert.Equal(t, http.StatusForbidden, refused.status)
}

// An Idempotency-Key header that is present but empty (or only whitespace)
// is a malformed key, refused like any other (400 invalid_idempotency_key),
// not taken as "no key": a client whose key got lost on the way would
// otherwise store its event once per retry. However the event carries it
// (headers, multiValueHeaders, both, any casing), the empty value survives
// the merge. A header that is absent is still no key.
func TestEmptyIdempotencyKeyIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		single map[string]string
		multi  map[string][]string
	}{
		{name: "empty in headers", single: map[string]string{"Idempotency-Key": ""}},
		{name: "empty in headers, lower case", single: map[string]string{"idempotency-key": ""}},
		{name: "spaces in headers", single: map[string]string{"Idempotency-Key": "   "}},
		{name: "tab in headers", single: map[string]string{"Idempotency-Key": "\t"}},
		{name: "empty in multiValueHeaders", multi: map[string][]string{"Idempotency-Key": {""}}},
		{name: "spaces in multiValueHeaders", multi: map[string][]string{"idempotency-key": {" "}}},
		{name: "empty in both", single: map[string]string{"Idempotency-Key": ""}, multi: map[string][]string{"idempotency-key": {""}}},
		{name: "empty list in multiValueHeaders, empty in headers", single: map[string]string{"Idempotency-Key": ""}, multi: map[string][]string{"Idempotency-Key": {}}},
		{name: "empty quoted string", single: map[string]string{"Idempotency-Key": `""`}},
		{name: "quoted spaces", single: map[string]string{"Idempotency-Key": `"  "`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for attempt := range 2 { // a client's retry
				ev := post("", validBody, "client-1").event()
				for k, v := range tc.single {
					ev.Headers[k] = v
				}
				ev.MultiValueHeaders = tc.multi
				resp, err := h.server.HandleEvent(t.Context(), ev)
				require.NoError(t, err)
				assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "attempt %d: %s", attempt, resp.Body)
				var body map[string]any
				require.NoError(t, json.Unmarshal([]byte(resp.Body), &body), resp.Body)
				assert.Equal(t, "invalid_idempotency_key", body["error"], resp.Body)
				assert.Contains(t, body["message"], "Idempotency-Key")
			}
			assert.Empty(t, h.stored(t), "a refused request stores nothing")
		})
	}

	t.Run("absent is no key", func(t *testing.T) {
		h := newHarness(t)
		ev := post("", validBody, "client-1").event()
		ev.MultiValueHeaders = map[string][]string{"Idempotency-Key": {}} // no value at all
		resp, err := h.server.HandleEvent(t.Context(), ev)
		require.NoError(t, err)
		assert.Equal(t, http.StatusCreated, resp.StatusCode, resp.Body)
		assert.Len(t, h.stored(t), 1)
	})
}
