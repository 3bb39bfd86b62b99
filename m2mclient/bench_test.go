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

// BenchmarkTokenRequestsPer1000Calls reports how many token requests 1,000
// API calls (from 10 goroutines) cost within one token lifetime: the figure
// that decides the token bill and the rate quota. Target: 1.
func BenchmarkTokenRequestsPer1000Calls(b *testing.B) {
	for b.Loop() {
		tokens := oauthtest.NewTokenServer(map[string]oauthtest.Client{"c": {Secret: "s", Scopes: []string{"weather-api/get"}}})
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
					if err != nil {
						done <- err
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
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

// BenchmarkTokenRequestsPer1000ScopeMisses reports how many token requests
// 1,000 calls (from 10 goroutines) to a route outside the client's scopes
// cost within one token lifetime. API Gateway answers a scope miss with 401,
// like an expired token; a client that refetched on every 401 would buy
// 1,000. Target: at most 2 (the token, and one bought after the first 401).
func BenchmarkTokenRequestsPer1000ScopeMisses(b *testing.B) {
	for b.Loop() {
		tokens := oauthtest.NewTokenServer(map[string]oauthtest.Client{"c": {Secret: "s", Scopes: []string{"weather-api/post"}}})
		api := oauthtest.NewAPI(weatherRoutes, tokens)
		client, err := m2mclient.New(m2mclient.Config{TokenURL: tokens.TokenURL(), ClientID: "c", ClientSecret: "s"})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 10)
		for range 10 {
			go func() {
				for range 100 {
					if _, err := client.Get(api.URL + "/"); !errors.Is(err, m2mclient.ErrInsufficientScope) {
						done <- fmt.Errorf("want ErrInsufficientScope, got %v", err)
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
