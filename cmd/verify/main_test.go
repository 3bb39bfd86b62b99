package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/verify"
)

type failingCloudFormation struct{}

func (failingCloudFormation) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	return nil, errors.New("ExpiredToken: the security token included in the request is expired")
}

// Exit status 2 means "could not verify", distinct from 1, "verified and
// found a mismatch" (covered by verify.Report.ExitCode's tests).
func TestExitStatusWhenTheStackCannotBeRead(t *testing.T) {
	v := &verify.Verifier{CloudFormation: failingCloudFormation{}}
	assert.Equal(t, 2, run(context.Background(), v, "WeatherEvents", false, io.Discard, io.Discard))
}

type plainHTTPStack struct{}

func (plainHTTPStack) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	outputs := map[string]string{
		contract.APIURL:       "http://abc123.execute-api.eu-west-1.amazonaws.com/weather/",
		contract.AccessPolicy: `{"routes":{"GET /":["weather-api/get"]}}`,
	}
	var outs []cftypes.Output
	for k, v := range outputs {
		outs = append(outs, cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{{Outputs: outs}}}, nil
}

// An API that is not https cannot be verified without sending tokens in
// clear text: exit 2, not a row of refusals.
func TestExitStatusForAPlainHTTPAPI(t *testing.T) {
	v := &verify.Verifier{CloudFormation: plainHTTPStack{}}
	assert.Equal(t, 2, run(context.Background(), v, "WeatherEvents", false, io.Discard, io.Discard))
}

// The built binary really exits 2 when it cannot verify. (go run would exit
// 1: it turns any non-zero status of the program into its own 1.) The AWS
// SDK is kept off the network: no metadata service, every endpoint a closed
// port on 127.0.0.1, one attempt per call, no shared config or credentials.
func TestTheBinaryExits2WhenItCannotVerify(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "go test needs the go command to build cmd/verify")
	dir := t.TempDir()
	bin := filepath.Join(dir, "verify")
	build := exec.Command(goTool, "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"HOME="+dir,
		"AWS_CONFIG_FILE="+filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL=http://127.0.0.1:1",
		"AWS_MAX_ATTEMPTS=1",
	)
	withCredentials := append(env[:len(env):len(env)],
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=example-not-a-secret")

	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		stderr string
	}{
		{"no stack", withCredentials, nil, "-stack is required"},
		{"bad flag", withCredentials, []string{"-stack", "WeatherEvents", "-no-such-flag"}, "flag provided but not defined"},
		{"unreachable CloudFormation", withCredentials, []string{"-stack", "WeatherEvents"}, "reading stack WeatherEvents"},
		{"no region or credentials", env, []string{"-stack", "WeatherEvents"}, "reading stack WeatherEvents"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append(tc.args, "-timeout", "20s")...)
			cmd.Env = tc.env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "stderr: %s", stderr.String())
			assert.Equal(t, 2, exit.ExitCode(), "stderr: %s", stderr.String())
			assert.Contains(t, stderr.String(), tc.stderr)
			assert.Empty(t, stdout.String())
			assert.NotContains(t, stderr.String(), "example-not-a-secret")
		})
	}
}
