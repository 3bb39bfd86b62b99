// Command weatherevents is the weather-events Lambda function. It only wires
// dependencies and starts the runtime; the service is in package api.
package main

import (
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scopegate/scopegate/lambda/weatherevents/api"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
	"github.com/scopegate/scopegate/routetable"
)

// The function's configuration, set by the stack.
const (
	// TableEnvVar names the DynamoDB table the function stores events in.
	TableEnvVar = "TABLE_NAME"
	// KeysTableEnvVar names the table of idempotency keys (TTL on
	// weather.TTLAttribute).
	KeysTableEnvVar = "IDEMPOTENCY_TABLE_NAME"
	// StorageTimeoutEnvVar bounds each storage call, in milliseconds.
	// Default: api.DefaultStorageTimeout.
	StorageTimeoutEnvVar = "STORAGE_TIMEOUT_MS"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	// aws-lambda-go and the SDK write through the standard log package: make
	// each of their lines one JSON line too.
	log.SetFlags(0)
	log.SetOutput(logLines{logger})
	server, err := newServer(logger)
	if err != nil {
		// Fail the cold start loudly: a function without its route table or
		// table must not serve anything.
		logger.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(server.HandleEvent)
}

// logLines turns each write of the standard logger into one JSON line.
type logLines struct{ logger *slog.Logger }

func (l logLines) Write(p []byte) (int, error) {
	l.logger.Warn("library", "message", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// lambdaAWSConfig reads the region and the execution role's credentials from
// the variables the Lambda runtime sets, which is all config.LoadDefaultConfig
// would find in a Lambda environment. Skipping it leaves out the shared-config,
// SSO, STS and IMDS code: 3 MB, a third of the bootstrap (see BENCHMARKS.md).
// It honours the standard endpoint variables, so the same binary runs against
// a local DynamoDB, and retries a bounded number of times with short
// backoff: the storage deadline, not the SDK, decides when to give up.
func lambdaAWSConfig() (aws.Config, error) {
	region, key, secret := os.Getenv("AWS_REGION"), os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (the Lambda runtime sets them)")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 100 * time.Millisecond
				// Full jitter: the SDK's exponential backoff gives a cap under
				// one second as a fixed delay, and every copy of the function
				// would then retry in step when the table comes back.
				o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
					ceiling := min(25*time.Millisecond<<attempt, 100*time.Millisecond)
					return rand.N(ceiling), nil
				})
			})
		},
	}
	if endpoint := dynamoEndpoint(); endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}

// dynamoEndpoint is AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL, unless
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true: the SDK's own rules for these
// variables, which config.LoadDefaultConfig would apply.
func dynamoEndpoint() string {
	if ignore, _ := strconv.ParseBool(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")); ignore {
		return ""
	}
	if v := os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"); v != "" {
		return v
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}

func newServer(logger *slog.Logger) (*api.Server, error) {
	routes, err := routetable.Load()
	if err != nil {
		return nil, err
	}
	table := os.Getenv(TableEnvVar)
	if table == "" {
		return nil, fmt.Errorf("%s is not set", TableEnvVar)
	}
	storageTimeout := api.DefaultStorageTimeout
	if v := os.Getenv(StorageTimeoutEnvVar); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 1 {
			return nil, fmt.Errorf("%s %q must be a positive number of milliseconds", StorageTimeoutEnvVar, v)
		}
		storageTimeout = time.Duration(ms) * time.Millisecond
	}
	cfg, err := lambdaAWSConfig()
	if err != nil {
		return nil, err
	}
	client := dynamodb.NewFromConfig(cfg)
	server := &api.Server{
		Store:          &weather.DynamoStore{Client: client, Table: table},
		Routes:         routes,
		Logger:         logger,
		Now:            time.Now,
		StorageTimeout: storageTimeout,
	}
	if keys := os.Getenv(KeysTableEnvVar); keys != "" {
		server.Keys = &weather.DynamoKeys{Client: client, Table: keys}
	}
	return server, nil
}
