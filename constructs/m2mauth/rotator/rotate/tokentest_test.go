package rotate_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth/rotator/rotate"
)

// A client id and a secret with characters Basic authentication must see
// form-encoded (RFC 6749 section 2.3.1).
const (
	testClientID = "client:1"
	testSecret   = "s3cr3t+/=%value"
)

// tokenServer is a token endpoint on 127.0.0.1 that issues a token to
// testClientID/testSecret only.
func tokenServer(t *testing.T, tls bool) *httptest.Server {
	t.Helper()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		user, pass, ok := r.BasicAuth()
		id, _ := url.QueryUnescape(user)
		secret, _ := url.QueryUnescape(pass)
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/oauth2/token" ||
			r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
			form.Get("grant_type") != "client_credentials":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_request"}`)
		case !ok || id != testClientID || secret != testSecret:
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"invalid_client"}`)
		default:
			io.WriteString(w, `{"access_token":"eyJ.token.sig","expires_in":3600,"token_type":"Bearer"}`)
		}
	})
	var s *httptest.Server
	if tls {
		s = httptest.NewTLSServer(handler)
	} else {
		s = httptest.NewServer(handler)
	}
	t.Cleanup(s.Close)
	require.True(t, strings.HasPrefix(s.Listener.Addr().String(), "127.0.0.1:"))
	return s
}

func TestHTTPTokenTester(t *testing.T) {
	ctx := context.Background()
	s := tokenServer(t, false)
	tester := rotate.HTTPTokenTester{}
	require.NoError(t, tester.Test(ctx, s.URL+"/oauth2/token", testClientID, testSecret), "http to loopback is allowed")

	err := tester.Test(ctx, s.URL+"/oauth2/token", testClientID, "wrong-secret")
	assert.EqualError(t, err, "the token endpoint answered 400 invalid_client")
	err = tester.Test(ctx, s.URL+"/other", testClientID, testSecret)
	assert.EqualError(t, err, "the token endpoint answered 400 invalid_request")

	tlsServer := tokenServer(t, true)
	require.NoError(t, rotate.HTTPTokenTester{Client: tlsServer.Client()}.Test(ctx, tlsServer.URL+"/oauth2/token", testClientID, testSecret))
}

func TestHTTPTokenTesterWantsAnAccessToken(t *testing.T) {
	for _, body := range []string{`{}`, `{"access_token":""}`, `not json`} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
		err := rotate.HTTPTokenTester{}.Test(context.Background(), s.URL, testClientID, testSecret)
		assert.EqualError(t, err, "the token endpoint answered 200 without an access_token", body)
		s.Close()
	}
	// A redirect is not followed: the credentials stay with the endpoint named.
	target := tokenServer(t, false)
	redirect := httptest.NewServer(http.RedirectHandler(target.URL+"/oauth2/token", http.StatusTemporaryRedirect))
	defer redirect.Close()
	err := rotate.HTTPTokenTester{}.Test(context.Background(), redirect.URL, testClientID, testSecret)
	assert.EqualError(t, err, "the token endpoint answered 307")
	// An error body that is not an OAuth error code is not quoted.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"`+r.Header.Get("Authorization")+`"}`)
	}))
	defer echo.Close()
	err = rotate.HTTPTokenTester{}.Test(context.Background(), echo.URL, testClientID, testSecret)
	assert.EqualError(t, err, "the token endpoint answered 401")
}

// roundTripFunc fails the test if a request is ever sent.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestHTTPTokenTesterRefusesPlainHTTPToOtherHosts(t *testing.T) {
	sent := false
	client := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		sent = true
		return nil, errors.New("no network in tests")
	})}
	tester := rotate.HTTPTokenTester{Client: client}
	for _, u := range []string{
		"http://auth.example.com/oauth2/token",
		"http://10.0.0.1/oauth2/token",
		"http://127.0.0.1.example.com/oauth2/token",
		"ftp://auth.example.com/oauth2/token",
		"/oauth2/token",
		"auth.example.com/oauth2/token",
	} {
		err := tester.Test(context.Background(), u, testClientID, testSecret)
		require.Error(t, err, u)
		assert.NotContains(t, err.Error(), testSecret)
	}
	err := tester.Test(context.Background(), "http://auth.example.com/oauth2/token", testClientID, testSecret)
	assert.EqualError(t, err, "refusing to send client credentials to http://auth.example.com: not https")
	assert.False(t, sent, "no request was sent")

	// https to any host, and http to loopback names, are sent.
	for _, u := range []string{"https://auth.example.com/oauth2/token", "http://localhost:1/oauth2/token", "http://[::1]:1/oauth2/token"} {
		sent = false
		err := tester.Test(context.Background(), u, testClientID, testSecret)
		assert.ErrorContains(t, err, "no network in tests", u)
		assert.True(t, sent, u)
	}
}
