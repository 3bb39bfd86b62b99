package m2mclient_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/scopegate/scopegate/internal/testkit/oauthtest"
	"github.com/scopegate/scopegate/m2mclient"
)

// tokenRequestsPer1000Calls makes 1,000 GET / calls from 10 goroutines,
// within one token lifetime, as a client allowed scope, checks each with
// check, and reports the token requests they cost.
func tokenRequestsPer1000Calls(b *testing.B, scope string, check func(*http.Response, error) error) {
	for b.Loop() {
		tokens := oauthtest.NewTokenServer(map[string]oauthtest.Client{"c": {Secret: "s", Scopes: []string{scope}}})
		api := oauthtest.NewAPI(weatherRoutes, tokens)
		client, err := m2mclient.New(m2mclient.Config{TokenURL: tokens.TokenURL(), ClientID: "c", ClientSecret: "s"})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 10)
		for range 10 {
			go func() {
				for range 100 {
					resp, err := client.Get(api.URL + "/")
					if resp != nil {
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
					if err := check(resp, err); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
		}
		for range 10 {
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(tokens.Requests()), "tokenreqs/1000calls")
		api.Close()
		tokens.Close()
	}
}

// BenchmarkTokenRequestsPer1000Calls reports how many token requests 1,000
// API calls cost within one token lifetime: the figure that decides the
// token bill and the rate quota. Target: 1.
func BenchmarkTokenRequestsPer1000Calls(b *testing.B) {
	tokenRequestsPer1000Calls(b, "weather-api/get", func(resp *http.Response, err error) error {
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
}

// BenchmarkTokenRequestsPer1000ScopeMisses reports how many token requests
// 1,000 calls to a route outside the client's scopes cost within one token
// lifetime. API Gateway answers a scope miss with 401, like an expired
// token; a client that refetched on every 401 would buy 1,000. Target: at
// most 2 (the token, and one bought after the first 401).
func BenchmarkTokenRequestsPer1000ScopeMisses(b *testing.B) {
	tokenRequestsPer1000Calls(b, "weather-api/post", func(_ *http.Response, err error) error {
		if !errors.Is(err, m2mclient.ErrInsufficientScope) {
			return fmt.Errorf("want ErrInsufficientScope, got %v", err)
		}
		return nil
	})
}
