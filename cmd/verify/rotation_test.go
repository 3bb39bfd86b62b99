package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/testkit/oauthtest"
	"github.com/scopegate/scopegate/internal/verify"
)

const serviceARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:weather-service"

type stackOutputs map[string]string

func (o stackOutputs) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	var outs []cftypes.Output
	for k, v := range o {
		outs = append(outs, cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{{Outputs: outs}}}, nil
}

// versions is one secret's values by version stage.
type versions map[string]string

func (v versions) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	s, ok := v[aws.ToString(in.VersionStage)]
	if !ok || aws.ToString(in.SecretId) != serviceARN {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value")}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s)}, nil
}

// stack plays a deployed WeatherEvents stack with one client, weather-service.
type stack struct {
	tokens  *oauthtest.TokenServer
	api     *oauthtest.API
	secret  versions
	outputs stackOutputs
}

func newStack(t *testing.T) *stack {
	t.Helper()
	tokens := oauthtest.NewTokenServer(map[string]oauthtest.Client{
		"weather-service-id": {Secret: "first-s3cret", Scopes: []string{"weather-api/get", "weather-api/post"}},
	})
	api := oauthtest.NewAPI(oauthtest.WeatherRoutes, tokens)
	t.Cleanup(func() { api.Close(); tokens.Close() })
	clients, _ := json.Marshal([]contract.ClientRecord{{Name: "weather-service", ClientID: "weather-service-id",
		SecretArn: serviceARN, Scopes: []string{"weather-api/get", "weather-api/post"}}})
	s := &stack{tokens: tokens, api: api, secret: versions{}, outputs: stackOutputs{
		contract.APIURL:           api.URL + "/",
		contract.AccessPolicy:     oauthtest.WeatherRoutes.Policy().JSON(),
		contract.TokenURL("Auth"): tokens.TokenURL(),
		contract.Clients("Auth"):  string(clients),
	}}
	s.secret["AWSCURRENT"] = s.value("first-s3cret", "")
	return s
}

func (s *stack) value(secret, apiKey string) string {
	v := map[string]string{"client_id": "weather-service-id", "client_secret": secret, "token_url": s.tokens.TokenURL()}
	if apiKey != "" {
		v["api_key"] = apiKey
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// verify runs the command's run and returns its exit status, and its output
// with each run of spaces made one.
func (s *stack) verify(t *testing.T, asJSON bool) (int, string) {
	t.Helper()
	v := &verify.Verifier{CloudFormation: s.outputs, SecretsManager: s.secret}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), v, "WeatherEvents", asJSON, &stdout, &stderr)
	assert.Empty(t, stderr.String())
	out := stdout.String()
	for _, secret := range []string{"s3cret", "k3y", "tok_"} {
		assert.NotContains(t, out, secret, "printed a secret, an API key or a token")
	}
	if asJSON {
		return code, out
	}
	return code, regexp.MustCompile(` {2,}`).ReplaceAllString(out, " ")
}

// A client through a rotation: exit 0 at every step; the previous secret
// has rows of its own while live, one "retired" row once deleted.
func TestVerifyFollowsARotatingClient(t *testing.T) {
	s := newStack(t)
	code, out := s.verify(t, false)
	assert.Equal(t, 0, code, out)
	assert.NotContains(t, out, "previous secret")

	require.NoError(t, s.tokens.AddSecret("weather-service-id", "second-s3cret"))
	s.secret["AWSPREVIOUS"], s.secret["AWSCURRENT"] = s.secret["AWSCURRENT"], s.value("second-s3cret", "")
	code, out = s.verify(t, false)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "\nweather-service (no scope) issued denied 401 allowed 200 allowed 200\n")
	assert.Contains(t, out, "\nweather-service (previous secret) (no scope) issued denied 401 allowed 200 allowed 200\n")
	assert.Equal(t, 8, strings.Count(out, "\nweather-service "), "4 rows per secret")

	require.NoError(t, s.tokens.RetireSecret("weather-service-id", "first-s3cret"))
	code, out = s.verify(t, false)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "\nweather-service (previous secret) (no scope) retired - - -\n")
	assert.Contains(t, out, "WeatherEvents: every outcome matches the access policy")

	code, out = s.verify(t, true)
	assert.Equal(t, 0, code)
	var report verify.Report
	require.NoError(t, json.Unmarshal([]byte(out), &report))
	last := report.Rows[len(report.Rows)-1]
	assert.Equal(t, verify.Row{Client: "weather-service", Secret: "previous", Requested: verify.NoScope, Token: "retired", ExpectedToken: "retired",
		TokenError: "m2mclient: token endpoint answered 400 invalid_client: Client authentication failed"}, last)
}

// A tiered API that requires the client's API key: without api_key in the
// secret, the calls the policy allows are denied, and the run exits 1; with
// it, they are allowed, and it exits 0.
func TestVerifyATieredAPI(t *testing.T) {
	s := newStack(t)
	s.api.RequireAPIKey("weather-service-id", "gold-k3y")
	code, out := s.verify(t, false)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "\nweather-service (no scope) issued denied 401 ! denied 403 (expected allowed; no x-api-key) ! denied 403 (expected allowed; no x-api-key)\n")
	assert.Contains(t, out, "\nweather-service weather-api/post issued denied 401 denied 401 ! denied 403 (expected allowed; no x-api-key)\n",
		"a key-less call the policy denies anyway is no mismatch")
	assert.Contains(t, out, "WeatherEvents: 3 row(s) differ from the access policy")

	s.secret["AWSCURRENT"] = s.value("first-s3cret", "gold-k3y")
	code, out = s.verify(t, false)
	assert.Equal(t, 0, code, out)
	for _, r := range s.api.Received()[len(s.api.Received())-6:] {
		assert.Equal(t, "gold-k3y", r.APIKey)
	}
}
