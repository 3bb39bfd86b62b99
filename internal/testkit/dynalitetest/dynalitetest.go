// Package dynalitetest runs dynalite, a DynamoDB-compatible server installed
// by `npm ci` from the project's package.json, on 127.0.0.1 for tests, so that
// storage code is tested against a real DynamoDB protocol peer, not a fake.
package dynalitetest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Server is a running dynalite process.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
	tables   atomic.Int32
}

// Start launches dynalite on a free loopback port and waits until it accepts
// connections. The caller must Stop it.
func Start() (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "1", "--deleteTableMs", "1")
	cmd.Stderr = os.Stderr // its stdout only announces the port
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dynalitetest: starting %s: %w", bin, err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("dynalitetest: dynalite did not listen on port %d within 15s", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
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

// Stop ends the dynalite process; its in-memory data goes with it.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Client returns a DynamoDB client for the server, with fixed test
// credentials so that nothing reads the environment or AWS configuration.
func (s *Server) Client() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// CreateEventsTable creates an on-demand table keyed by the string "id", as
// the weather-events stack does, and waits until it is active.
func (s *Server) CreateEventsTable(ctx context.Context, name string) error {
	return s.CreateTable(ctx, name, "id")
}

// CreateTable creates an on-demand table keyed by the string attribute key
// and waits until it is active.
func (s *Server) CreateTable(ctx context.Context, name, key string) error {
	client := s.Client()
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		return err
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	return waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 10*time.Second)
}

func findBinary() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			bin := filepath.Join(dir, "node_modules", ".bin", "dynalite")
			if _, err := os.Stat(bin); err != nil {
				return "", fmt.Errorf("dynalitetest: %s not found: run `npm ci` in %s (`make test` does)", bin, dir)
			}
			return bin, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("dynalitetest: no go.mod above the working directory")
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
