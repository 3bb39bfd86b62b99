package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/scopegate/scopegate/lambda/weatherevents/api"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
)

// memoryStore keeps the benchmarks about the handler (decoding, auth,
// encoding, logging), not about DynamoDB; the store itself is tested against
// dynalite.
type memoryStore struct {
	mu     sync.Mutex
	events []weather.Event
}

func (m *memoryStore) Create(_ context.Context, e weather.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

func (m *memoryStore) List(_ context.Context, limit int, _ string) (weather.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return weather.Page{Events: m.events[:min(limit, len(m.events))]}, nil
}

func (m *memoryStore) Get(_ context.Context, id string) (weather.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.events {
		if e.ID == id {
			return e, nil
		}
	}
	return weather.Event{}, weather.ErrNotFound
}

func (m *memoryStore) Delete(context.Context, string) error { return nil }

func benchServer() *api.Server {
	store := &memoryStore{}
	for range 20 {
		store.events = append(store.events, weather.Event{ID: weather.NewID(), Name: "Storm", DateStart: "2022-01-29", DateEnd: "2022-01-31", CreatedBy: "client-1", CreatedAt: fixedNow})
	}
	return &api.Server{Store: store, Routes: weatherRoutes, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: time.Now}
}

func benchRequest(b *testing.B, r request) *http.Request {
	req, err := api.Request(context.Background(), r.event())
	if err != nil {
		b.Fatal(err)
	}
	return req
}

func runBench(b *testing.B, r request, want int) {
	handler := benchServer().Handler()
	b.ReportAllocs()
	for b.Loop() {
		req := benchRequest(b, r)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != want {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	runBench(b, request{method: "GET", path: "/", authorizer: claims("weather-api/get")}, http.StatusOK)
}

func BenchmarkPost(b *testing.B) {
	runBench(b, request{method: "POST", path: "/", body: validBody, authorizer: claims("weather-api/post")}, http.StatusCreated)
}

func BenchmarkRefused(b *testing.B) {
	runBench(b, request{method: "GET", path: "/", authorizer: claims("weather-api/post")}, http.StatusForbidden)
}
