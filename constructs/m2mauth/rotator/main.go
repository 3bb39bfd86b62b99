// Command rotation is the rotation function of the machine clients' secrets
// in Secrets Manager, and the target of the schedules that retire the
// previous Cognito client secret. It only wires dependencies and starts the
// runtime; the rotation is in package rotate.
//
// It calls Cognito user pools, Secrets Manager, EventBridge Scheduler and API
// Gateway (GetApiKey, for the secrets of clients in a rate-limit tier, whose
// value has api_key_id). Each service's endpoint can be overridden, for
// tests, with AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER,
// AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_SCHEDULER and
// AWS_ENDPOINT_URL_API_GATEWAY, or all at once with AWS_ENDPOINT_URL (see
// package awsenv).
package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/scopegate/scopegate/constructs/m2mauth/rotator/rotate"
	"github.com/scopegate/scopegate/lambda/awsenv"

	"github.com/scopegate/scopegate/contract"
)

// The function's configuration, set by the stack.
const (
	// UserPoolIDEnvVar is the user pool of the clients whose secrets the
	// function rotates. Required.
	UserPoolIDEnvVar = contract.EnvUserPoolID
	// OverlapEnvVar is how long, in seconds, the previous client secret keeps
	// working after a rotation, and so the shortest time between two
	// rotations. Default: 7 days (rotate.DefaultOverlap).
	OverlapEnvVar = contract.EnvOverlapSeconds
	// RetireFunctionEnvVar is the function the retire schedules invoke.
	// Default: this function (the ARN it is invoked by).
	RetireFunctionEnvVar = contract.EnvRetireFunctionArn
	// RetireRoleEnvVar is the role EventBridge Scheduler assumes to invoke
	// it. Required.
	RetireRoleEnvVar = contract.EnvRetireRoleArn
)

func main() {
	logger := awsenv.Logger()
	rotator, err := newRotator(logger)
	if err != nil {
		// Fail the cold start loudly: a rotation that cannot finish must not
		// start.
		logger.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(rotator.Handle)
}

// cognitoRetryer is the Cognito client's retryer. The SDK's standard retryer
// already retries Cognito's TooManyRequestsException (one of
// retry.DefaultThrottleErrorCodes), but awsenv's configuration (3 attempts,
// under 100 ms apart) is too short for Cognito's UserPoolClientUpdate quota
// (5 requests per second per user pool, not adjustable), so this client
// gets its own configuration of that retryer rather than a second retry
// loop: up to rotate.DefaultCognitoMaxAttempts attempts of a throttled call,
// jittered exponential backoff up to rotate.DefaultCognitoMaxDelay, none
// that reaches into the last rotate.DefaultCognitoReserve before the
// invocation's deadline. Other retryable errors keep awsenv's attempts and
// backoff.
func cognitoRetryer() aws.RetryerV2 {
	return rotate.NewCognitoRetryer(rotate.CognitoRetryOptions{
		OtherMaxAttempts: awsenv.MaxAttempts,
		OtherBackoff:     retry.BackoffDelayerFunc(awsenv.Backoff),
	})
}

func newRotator(logger *slog.Logger) (*rotate.Rotator, error) {
	pool := os.Getenv(UserPoolIDEnvVar)
	if pool == "" {
		return nil, fmt.Errorf("%s is not set", UserPoolIDEnvVar)
	}
	role := os.Getenv(RetireRoleEnvVar)
	if role == "" {
		return nil, fmt.Errorf("%s is not set", RetireRoleEnvVar)
	}
	overlap := rotate.DefaultOverlap
	if v := os.Getenv(OverlapEnvVar); v != "" {
		s, err := strconv.ParseInt(v, 10, 64)
		if err != nil || s < 1 || s > int64(365*24*time.Hour/time.Second) {
			return nil, fmt.Errorf("%s %q must be a number of seconds from 1 to 365 days", OverlapEnvVar, v)
		}
		overlap = time.Duration(s) * time.Second
	}
	// Region, credentials, endpoints (AWS_ENDPOINT_URL_<SERVICE> or
	// AWS_ENDPOINT_URL) and bounded retries: see package awsenv.
	cfg, err := awsenv.Config()
	if err != nil {
		return nil, err
	}
	return &rotate.Rotator{
		Cognito: cognitoidentityprovider.NewFromConfig(cfg, func(o *cognitoidentityprovider.Options) {
			if e := awsenv.Endpoint("COGNITO_IDENTITY_PROVIDER"); e != "" {
				o.BaseEndpoint = aws.String(e)
			}
			o.Retryer = cognitoRetryer()
		}),
		Secrets: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
			if e := awsenv.Endpoint("SECRETS_MANAGER"); e != "" {
				o.BaseEndpoint = aws.String(e)
			}
		}),
		Scheduler: scheduler.NewFromConfig(cfg, func(o *scheduler.Options) {
			if e := awsenv.Endpoint("SCHEDULER"); e != "" {
				o.BaseEndpoint = aws.String(e)
			}
		}),
		// Always wired: whether a secret has api_key_id is known only when
		// its value is read.
		APIKeys: apigateway.NewFromConfig(cfg, func(o *apigateway.Options) {
			if e := awsenv.Endpoint("API_GATEWAY"); e != "" {
				o.BaseEndpoint = aws.String(e)
			}
		}),
		Tokens:       rotate.HTTPTokenTester{},
		UserPoolID:   pool,
		Overlap:      overlap,
		RetireTarget: rotate.Target{FunctionArn: os.Getenv(RetireFunctionEnvVar), RoleArn: role},
		Now:          time.Now,
		Logger:       logger,
	}, nil
}
