// Package awsenv builds the AWS SDK configuration of a Lambda function from
// the variables the Lambda runtime sets, without config.LoadDefaultConfig.
// The project's functions share it, so they read their region, credentials
// and endpoints, and retry, the same way.
package awsenv

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Retries: at most MaxAttempts attempts per call, with full-jitter backoff
// capped at MaxBackoff.
const (
	MaxAttempts = 3
	MaxBackoff  = 100 * time.Millisecond
)

// Config reads the region and the execution role's credentials from the
// variables the Lambda runtime sets, which is all config.LoadDefaultConfig
// would find in a Lambda environment. Skipping it leaves out the shared-config,
// SSO, STS and IMDS code: 3 MB, a third of the bootstrap (see BENCHMARKS.md).
//
// It honours the standard endpoint variables (AWS_ENDPOINT_URL here, and
// AWS_ENDPOINT_URL_<SERVICE> through Endpoint, which each client's options
// must apply), so the same binary runs against local stand-ins of the
// services, and retries a bounded number of times with short backoff: the
// caller's deadline, not the SDK, decides when to give up.
func Config() (aws.Config, error) {
	region, key, secret := os.Getenv("AWS_REGION"), os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (the Lambda runtime sets them)")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = MaxAttempts
				o.MaxBackoff = MaxBackoff
				// Full jitter: the SDK's exponential backoff gives a cap under
				// one second as a fixed delay, and every copy of the function
				// would then retry in step when the service comes back.
				o.Backoff = retry.BackoffDelayerFunc(Backoff)
			})
		},
	}
	if endpoint := Endpoint(""); endpoint != "" {
		cfg.BaseEndpoint = aws.String(endpoint)
	}
	return cfg, nil
}

// Backoff is the delay before retry number attempt (1 for the first retry):
// uniform in [0, min(25 ms << attempt, MaxBackoff)).
func Backoff(attempt int, _ error) (time.Duration, error) {
	ceiling := min(25*time.Millisecond<<min(attempt, 16), MaxBackoff)
	return rand.N(ceiling), nil
}

// Endpoint is AWS_ENDPOINT_URL_<serviceEnvSuffix>, else AWS_ENDPOINT_URL,
// unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true: the SDK's own rules for
// these variables, which config.LoadDefaultConfig would apply. The suffix is
// the service's SDK ServiceID in upper case with spaces as underscores
// (DYNAMODB, SECRETS_MANAGER, COGNITO_IDENTITY_PROVIDER, SCHEDULER); an empty
// suffix asks for AWS_ENDPOINT_URL alone. Empty means the service's own
// endpoint.
//
// A client applies it in its options:
//
//	dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
//		if e := awsenv.Endpoint("DYNAMODB"); e != "" {
//			o.BaseEndpoint = aws.String(e)
//		}
//	})
func Endpoint(serviceEnvSuffix string) string {
	if ignore, _ := strconv.ParseBool(os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")); ignore {
		return ""
	}
	if serviceEnvSuffix != "" {
		if v := os.Getenv("AWS_ENDPOINT_URL_" + serviceEnvSuffix); v != "" {
			return v
		}
	}
	return os.Getenv("AWS_ENDPOINT_URL")
}
