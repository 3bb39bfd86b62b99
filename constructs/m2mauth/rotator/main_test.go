package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth/rotator/rotate"
	"github.com/scopegate/scopegate/local/lambdart"
)

func TestNewRotatorRefusesToStartWithoutConfiguration(t *testing.T) {
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	t.Setenv(UserPoolIDEnvVar, "")
	t.Setenv(RetireRoleEnvVar, "arn:aws:iam::123456789012:role/retire")
	t.Setenv(RetireFunctionEnvVar, "")
	t.Setenv(OverlapEnvVar, "")
	_, err := newRotator(logger)
	assert.EqualError(t, err, "USER_POOL_ID is not set")

	t.Setenv(UserPoolIDEnvVar, "us-east-1_AbCdEf123")
	t.Setenv(RetireRoleEnvVar, "")
	_, err = newRotator(logger)
	assert.EqualError(t, err, "RETIRE_ROLE_ARN is not set")

	t.Setenv(RetireRoleEnvVar, "arn:aws:iam::123456789012:role/retire")
	for _, v := range []string{"0", "-5", "7d", "31536001"} {
		t.Setenv(OverlapEnvVar, v)
		_, err = newRotator(logger)
		assert.ErrorContains(t, err, "OVERLAP_SECONDS", v)
	}

	t.Setenv(OverlapEnvVar, "")
	t.Setenv("AWS_REGION", "")
	_, err = newRotator(logger)
	assert.ErrorContains(t, err, "AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")

	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	r, err := newRotator(logger)
	require.NoError(t, err)
	assert.Equal(t, rotate.DefaultOverlap, r.Overlap)
	assert.Equal(t, "us-east-1_AbCdEf123", r.UserPoolID)
	assert.Equal(t, rotate.Target{RoleArn: "arn:aws:iam::123456789012:role/retire"}, r.RetireTarget)
	assert.NotNil(t, r.APIKeys, "API Gateway wired: a secret's api_key_id is known only when it is read")

	cognito, ok := r.Cognito.(*cognitoidentityprovider.Client)
	require.True(t, ok)
	assert.Equal(t, rotate.DefaultCognitoMaxAttempts, cognito.Options().Retryer.MaxAttempts(), "the Cognito client's retryer is configured for its throttling")

	t.Setenv(OverlapEnvVar, "3600")
	t.Setenv(RetireFunctionEnvVar, "arn:aws:lambda:us-east-1:123456789012:function:rotation")
	r, err = newRotator(logger)
	require.NoError(t, err)
	assert.Equal(t, time.Hour, r.Overlap)
	assert.Equal(t, "arn:aws:lambda:us-east-1:123456789012:function:rotation", r.RetireTarget.FunctionArn)
}

var (
	buildOnce sync.Once
	buildDir  string
	binary    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// build builds this function as Lambda runs it, once per test binary.
func build(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "rotation-bin-")
		if buildErr != nil {
			return
		}
		binary, buildErr = lambdart.Build(context.Background(), "./constructs/m2mauth/rotator", buildDir)
	})
	require.NoError(t, buildErr)
	return binary
}

var baseEnv = []string{
	"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
	"RETIRE_ROLE_ARN=arn:aws:iam::123456789012:role/retire",
}

// The built binary, its services refusing connections: a retire event is
// answered with an invocation error that names the failure, quickly.
func TestBinaryAnswersAnErrorWhenServicesRefuse(t *testing.T) {
	f, err := lambdart.Start(t.Context(), build(t), append(baseEnv,
		"USER_POOL_ID=us-east-1_AbCdEf123", "AWS_ENDPOINT_URL=http://127.0.0.1:1"))
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("output:\n%s", strings.Join(f.Output(), "\n"))
		}
		f.Stop()
	})
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:weather-service-AbCdEf"
	event := []byte(rotate.RetireInput(arn, "client--1"))
	start := time.Now()
	_, err = f.Invoke(t.Context(), event, 10*time.Second)
	took := time.Since(start)
	var invErr *lambdart.InvocationError
	require.True(t, errors.As(err, &invErr), "an invocation error, not %v", err)
	assert.Contains(t, invErr.Message, "retire of secret "+arn+": GetSecretValue of AWSCURRENT:")
	assert.Contains(t, invErr.Message, "127.0.0.1:1")
	assert.Contains(t, invErr.Message, "connection refused")
	assert.Less(t, took, 5*time.Second, "refused connections fail fast, within the bounded retries")
	t.Logf("answered in %v: %s", took, invErr.Message)

	// A rotation step the same way, in the same environment.
	step, _ := json.Marshal(rotate.Event{SecretID: arn, ClientRequestToken: "t1", Step: rotate.StepCreate})
	_, err = f.Invoke(t.Context(), step, 10*time.Second)
	require.True(t, errors.As(err, &invErr), "an invocation error, not %v", err)
	assert.Contains(t, invErr.Message, "createSecret of secret "+arn+": DescribeSecret:")

	// Its log lines are JSON, and one of them reports the failure.
	line, err := f.WaitOutput(t.Context(), `"msg":"rotation"`)
	require.NoError(t, err)
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, "stdout: ")), &entry))
	assert.Equal(t, "ERROR", entry["level"])
}

// Without USER_POOL_ID the binary logs one JSON line and exits 1 at start.
func TestBinaryExitsWithoutUserPool(t *testing.T) {
	bin := build(t)
	_, err := lambdart.Start(t.Context(), bin, baseEnv)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "USER_POOL_ID is not set")

	cmd := exec.CommandContext(t.Context(), bin)
	cmd.Env = append(baseEnv, "AWS_LAMBDA_RUNTIME_API=127.0.0.1:1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "%v", err)
	assert.Equal(t, 1, exit.ExitCode())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 1, "one line: %q", stdout.String())
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry))
	assert.Equal(t, "configuration", entry["msg"])
	assert.Equal(t, "USER_POOL_ID is not set", entry["error"])
	assert.Empty(t, stderr.String())
}

// The Cognito client newRotator wires retries a throttled call (Cognito's
// TooManyRequestsException) with backoff until it succeeds, and a client
// error not at all.
func TestNewRotatorCognitoRetriesThrottling(t *testing.T) {
	var mu sync.Mutex
	requests, throttled := 0, 2
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		n := requests
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch {
		case n <= throttled:
			w.Header().Set("X-Amzn-ErrorType", "TooManyRequestsException")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"TooManyRequestsException","message":"Too many requests"}`))
		case r.Header.Get("X-Amz-Target") == "AWSCognitoIdentityProviderService.AddUserPoolClientSecret":
			w.Write([]byte(`{"ClientSecretDescriptor":{"ClientSecretId":"c--2","ClientSecretValue":"value"}}`))
		default:
			w.Header().Set("X-Amzn-ErrorType", "InvalidParameterException")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"__type":"InvalidParameterException","message":"no"}`))
		}
	}))
	defer srv.Close()
	t.Setenv(UserPoolIDEnvVar, "us-east-1_AbCdEf123")
	t.Setenv(RetireRoleEnvVar, "arn:aws:iam::123456789012:role/retire")
	t.Setenv(OverlapEnvVar, "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	t.Setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", srv.URL)
	r, err := newRotator(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := r.Cognito.AddUserPoolClientSecret(ctx, &cognitoidentityprovider.AddUserPoolClientSecretInput{UserPoolId: aws.String("us-east-1_AbCdEf123"), ClientId: aws.String("c")})
	require.NoError(t, err)
	assert.Equal(t, "c--2", aws.ToString(out.ClientSecretDescriptor.ClientSecretId))
	assert.Equal(t, 3, requests, "succeeded on the third attempt")

	mu.Lock()
	requests, throttled = 0, 0
	mu.Unlock()
	_, err = r.Cognito.ListUserPoolClientSecrets(ctx, &cognitoidentityprovider.ListUserPoolClientSecretsInput{UserPoolId: aws.String("us-east-1_AbCdEf123"), ClientId: aws.String("c")})
	assert.ErrorContains(t, err, "InvalidParameterException")
	assert.Equal(t, 1, requests, "a client error is not retried")
}
