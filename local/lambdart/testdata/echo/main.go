// Command echo is a test function for package lambdart: it answers its event
// with what it saw of the invocation, or fails the way the event asks.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Error     string `json:"error"`      // return this error
	Panic     string `json:"panic"`      // panic with this value
	Big       int    `json:"big"`        // answer a string of this many bytes
	ReadError string `json:"read_error"` // answer a body whose reader fails so
}

type reply struct {
	Event        json.RawMessage `json:"event"`
	DeadlineMS   int64           `json:"deadline_ms"`
	RequestID    string          `json:"request_id"`
	FunctionARN  string          `json:"function_arn"`
	FunctionName string          `json:"function_name"`
	Memory       int             `json:"memory"`
	TraceID      string          `json:"trace_id"`
	Env          string          `json:"env"`
	TaskRoot     string          `json:"task_root"`
	Cwd          string          `json:"cwd"`
	Pid          int             `json:"pid"`
}

// failingReader is answered as a raw body (it marshals to {}), and fails.
type failingReader struct{ msg string }

func (r failingReader) Read([]byte) (int, error) { return 0, errors.New(r.msg) }

func handle(ctx context.Context, event json.RawMessage) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	fmt.Printf("echo: request %s\n", lc.AwsRequestID)
	var req request
	if err := json.Unmarshal(event, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Error != "":
		return nil, errors.New(req.Error)
	case req.Panic != "":
		panic(req.Panic)
	case req.Big > 0:
		return strings.Repeat("x", req.Big), nil
	case req.ReadError != "":
		return failingReader{req.ReadError}, nil
	}
	deadline, _ := ctx.Deadline()
	cwd, _ := os.Getwd()
	return reply{
		Event:        event,
		DeadlineMS:   deadline.UnixMilli(),
		RequestID:    lc.AwsRequestID,
		FunctionARN:  lc.InvokedFunctionArn,
		FunctionName: lambdacontext.FunctionName,
		Memory:       lambdacontext.MemoryLimitInMB,
		TraceID:      os.Getenv("_X_AMZN_TRACE_ID"),
		Env:          os.Getenv("ECHO_ENV"),
		TaskRoot:     os.Getenv("LAMBDA_TASK_ROOT"),
		Cwd:          cwd,
		Pid:          os.Getpid(),
	}, nil
}

func main() {
	log.Print("echo: init")
	if os.Getenv("ECHO_SIGTERM") != "" {
		lambda.StartWithOptions(handle, lambda.WithEnableSIGTERM(func() {
			fmt.Println("echo: SIGTERM")
		}))
	}
	lambda.Start(handle)
}
