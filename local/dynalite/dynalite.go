// Package dynalite runs dynalite, a DynamoDB-compatible server in Node.js
// (npm package dynalite, pinned in the project's package.json), on
// 127.0.0.1: make local's DynamoDB, and the tests' (internal/testkit/dynalitetest).
// It creates tables from their key schema as CloudFormation's
// AWS::DynamoDB::Table declares them.
package dynalite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// StartTimeout bounds how long Start waits for dynalite to listen: Node.js
// and its modules load in well under a second on a quiet machine.
const StartTimeout = 15 * time.Second

// Options configure Start.
type Options struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// DataDir keeps the tables and items across restarts (dynalite's
	// LevelDB store, --path); "" keeps them in memory only.
	DataDir string
	// Binary is the dynalite executable; "" finds node_modules/.bin/dynalite
	// in the working directory or a directory above it, then dynalite on PATH.
	Binary string
	// Stderr receives dynalite's error output; nil discards it.
	Stderr *os.File
}

// Server is a running dynalite process.
type Server struct {
	Endpoint string
	Port     int
	cmd      *exec.Cmd
	exited   chan struct{} // closed once the process has been reaped
}

// Start launches dynalite and waits until it accepts connections. The caller
// must Stop it.
func Start(opts Options) (*Server, error) {
	bin := opts.Binary
	if bin == "" {
		var err error
		if bin, err = FindBinary(); err != nil {
			return nil, err
		}
	}
	port := opts.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	args := []string{"--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "1", "--deleteTableMs", "1", "--updateTableMs", "1"}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("dynalite: data directory: %w", err)
		}
		args = append(args, "--path", opts.DataDir)
	}
	cmd := exec.Command(bin, args...)
	if opts.Stderr != nil {
		cmd.Stderr = opts.Stderr // its stdout only announces the port
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dynalite: starting %s: %w", bin, err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), Port: port, cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(StartTimeout)
	for {
		conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("dynalite: exited before listening on port %d (%v); is the port held by another process?", port, waitErr)
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("dynalite: did not listen on port %d within %s", port, StartTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Pid is the dynalite process id.
func (s *Server) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop ends the dynalite process by its pid and waits for it to exit;
// in-memory data goes with it.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Client returns a DynamoDB client for the server, with fixed dummy
// credentials so that nothing reads the environment or AWS configuration.
func (s *Server) Client() *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// CreateTable creates the table in (an existing one of that name is left as
// it is, with its items: a restart with a data directory) and waits until it
// is active. dynalite has no time to live (UpdateTimeToLive is an unknown
// operation to it), so expired items stay.
func (s *Server) CreateTable(ctx context.Context, in *dynamodb.CreateTableInput) error {
	client := s.Client()
	_, err := client.CreateTable(ctx, in)
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("dynalite: creating table %s: %w", aws.ToString(in.TableName), err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 5*time.Millisecond, 50*time.Millisecond
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 10*time.Second); err != nil {
		return fmt.Errorf("dynalite: table %s: %w", aws.ToString(in.TableName), err)
	}
	return nil
}

// CreateStringKeyTable creates an on-demand table keyed by the string
// attribute key.
func (s *Server) CreateStringKeyTable(ctx context.Context, name, key string) error {
	return s.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(key), KeyType: types.KeyTypeHash}},
	})
}

// FindBinary finds node_modules/.bin/dynalite in the working directory or a
// directory above it, then dynalite on PATH.
func FindBinary() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		bin := filepath.Join(dir, "node_modules", ".bin", "dynalite")
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if bin, err := exec.LookPath("dynalite"); err == nil {
		return bin, nil
	}
	return "", errors.New("dynalite: no node_modules/.bin/dynalite here or above, and none on PATH: run `npm ci` where package.json pins dynalite (make test and make local do), or `npm install dynalite@4.0.0`")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
