// Command local runs a synthesized cloud assembly on this machine as AWS
// would run it: a token endpoint per Cognito user pool, every REST API stage
// with its Cognito authorizer, API keys and usage plans, the functions the
// APIs reach (built for this machine) and the DynamoDB tables (dynalite).
// See docs/local.md.
//
//	make local                      # synthesizes when needed, then runs bin/local -assembly cdk.out
//	go run github.com/scopegate/scopegate/cmd/local -assembly cdk.out
//
// It prints each endpoint, each client's id and secret, the outputs and
// secrets files (for bin/verify -local), and one line per thing the
// templates hold that it does not emulate; then serves until SIGINT or
// SIGTERM, when it stops every process it started, by its id. It stops the
// same way when the process that started it goes away: `go run` dies of a
// SIGTERM without passing it on, which would leave this process, dynalite
// and the functions running with nobody to stop them.
//
// Flags:
//
//	-assembly DIR   the cloud assembly (default cdk.out)
//	-stack NAME     emulate only this stack (repeatable; default all)
//	-port-base N    first fixed port: user pools, then APIs (default 4560)
//	-state DIR      where outputs.json, secrets.json and builds go (default <assembly>/local)
//	-data DIR       keep the tables' items in DIR across restarts (default: in memory)
//	-quiet          do not print function output and request lines
//
// Exit status: 0 after a clean stop, 1 when it cannot start (no assembly, a
// port held by another process, a build that fails), 2 on a bad flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/scopegate/scopegate/local"
)

type stackList []string

func (l *stackList) String() string     { return strings.Join(*l, ",") }
func (l *stackList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var stacks stackList
	assembly := flag.String("assembly", "cdk.out", "the cloud assembly directory")
	flag.Var(&stacks, "stack", "emulate only this stack (repeatable; default every stack)")
	portBase := flag.Int("port-base", local.DefaultPortBase, "first fixed port: user pools, then APIs, one port each")
	state := flag.String("state", "", "directory for outputs.json, secrets.json and function builds (default <assembly>/local)")
	data := flag.String("data", "", "keep the DynamoDB tables' items in this directory across restarts (default: in memory)")
	quiet := flag.Bool("quiet", false, "do not print function output and request lines")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "local: unexpected arguments:", strings.Join(flag.Args(), " "))
		flag.Usage()
		os.Exit(2)
	}
	if *portBase < 0 || *portBase > 65535 {
		fmt.Fprintf(os.Stderr, "local: -port-base %d is not a port\n", *portBase)
		os.Exit(2)
	}
	var log io.Writer = os.Stdout
	if *quiet {
		log = nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, orphaned := whileParentLives(ctx)
	defer orphaned()
	began := time.Now()
	e, err := local.Start(ctx, local.Options{Assembly: *assembly, Stacks: stacks, PortBase: *portBase, StateDir: *state, DataDir: *data, Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	e.Summary(os.Stdout)
	fmt.Printf("ready in %s; Ctrl-C stops it\n", time.Since(began).Round(time.Millisecond))
	<-ctx.Done()
	if cause := context.Cause(ctx); errors.Is(cause, errOrphaned) {
		fmt.Fprintln(os.Stderr, "local:", cause)
	}
	e.Stop()
	fmt.Println("stopped")
}

var errOrphaned = errors.New("the process that started it has gone; stopping")

// parentPoll is how often whileParentLives looks at the parent.
const parentPoll = 500 * time.Millisecond

// whileParentLives returns a context cancelled (cause errOrphaned) once
// this process's parent changes, i.e. the parent has exited and the
// process was re-parented.
func whileParentLives(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	parent := os.Getppid()
	go func() {
		tick := time.NewTicker(parentPoll)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if os.Getppid() != parent {
					cancel(fmt.Errorf("%w (pid %d)", errOrphaned, parent))
					return
				}
			}
		}
	}()
	return ctx, func() { cancel(nil) }
}
