// Package dynalitetest runs dynalite (package local/dynalite) on 127.0.0.1
// for tests, one server per test package, so that
// storage code is tested against a real DynamoDB protocol peer, not a fake.
package dynalitetest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/scopegate/scopegate/local/dynalite"
)

// Server is a running dynalite process (package local/dynalite).
type Server struct {
	*dynalite.Server
	tables atomic.Int32
}

// Start launches dynalite on a free loopback port and waits until it accepts
// connections. The caller must Stop it.
func Start() (*Server, error) {
	s, err := dynalite.Start(dynalite.Options{Stderr: os.Stderr})
	if err != nil {
		return nil, err
	}
	return &Server{Server: s}, nil
}

// Main runs a package's tests with one dynalite server, handed to use
// before the first test, and stopped after the last.
func Main(m *testing.M, use func(*Server)) {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	use(s)
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// NewEventsTable creates a table of its own for one test and returns its name.
func (s *Server) NewEventsTable(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("events-%d", s.tables.Add(1))
	if err := s.CreateEventsTable(context.Background(), name); err != nil {
		t.Fatalf("creating table %s: %v", name, err)
	}
	return name
}

// NewKeysTable creates an idempotency-keys table of its own for one test and
// returns its name.
func (s *Server) NewKeysTable(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("keys-%d", s.tables.Add(1))
	if err := s.CreateTable(context.Background(), name, "key"); err != nil {
		t.Fatalf("creating table %s: %v", name, err)
	}
	return name
}

// CreateEventsTable creates an on-demand table keyed by the string "id", as
// the weather-events stack does, and waits until it is active.
func (s *Server) CreateEventsTable(ctx context.Context, name string) error {
	return s.CreateTable(ctx, name, "id")
}

// CreateTable creates an on-demand table keyed by the string attribute key
// and waits until it is active.
func (s *Server) CreateTable(ctx context.Context, name, key string) error {
	return s.CreateStringKeyTable(ctx, name, key)
}
