package awsenv

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEndpointPrecedence(t *testing.T) {
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "")
	assert.Empty(t, Endpoint("SECRETS_MANAGER"), "nothing set: the service's own endpoint")

	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
	assert.Equal(t, "http://127.0.0.1:4566", Endpoint("SECRETS_MANAGER"))
	assert.Equal(t, "http://127.0.0.1:4566", Endpoint(""))

	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9000")
	assert.Equal(t, "http://127.0.0.1:9000", Endpoint("SECRETS_MANAGER"), "the service's variable wins")
	assert.Equal(t, "http://127.0.0.1:4566", Endpoint("DYNAMODB"), "and is that service's only")
	assert.Equal(t, "http://127.0.0.1:4566", Endpoint(""))

	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	assert.Empty(t, Endpoint("SECRETS_MANAGER"))
	assert.Empty(t, Endpoint(""))
}

func TestConfig(t *testing.T) {
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	_, err := Config()
	assert.ErrorContains(t, err, "AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")

	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_SESSION_TOKEN", "session")
	t.Setenv("AWS_ENDPOINT_URL", "")
	cfg, err := Config()
	require.NoError(t, err)
	assert.Equal(t, "eu-west-1", cfg.Region)
	assert.Nil(t, cfg.BaseEndpoint)
	creds, err := cfg.Credentials.Retrieve(context.Background())
	require.NoError(t, err)
	assert.Equal(t, aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "session", Source: creds.Source}, creds)
	assert.Equal(t, MaxAttempts, cfg.Retryer().MaxAttempts())

	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
	cfg, err = Config()
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:4566", aws.ToString(cfg.BaseEndpoint))
}

func TestBackoffIsFullJitterUnderTheCap(t *testing.T) {
	for attempt := 1; attempt <= 100; attempt++ {
		ceiling := min(25*time.Millisecond<<min(attempt, 16), MaxBackoff)
		for range 20 {
			d, err := Backoff(attempt, nil)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, d, time.Duration(0))
			assert.Less(t, d, ceiling)
		}
	}
}
