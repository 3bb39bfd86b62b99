package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
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

// The stack as deployed: what its outputs promise.
var promisedClients = map[string][]string{
	"weather-service": {"weather-api/get", "weather-api/post"},
	"janitor":         {"weather-api/get", "weather-api/delete"},
}

type fakeCloudFormation struct{ outputs map[string]string }

func (f *fakeCloudFormation) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if aws.ToString(in.StackName) != "WeatherEvents" {
		return nil, errors.New("ValidationError: Stack with id " + aws.ToString(in.StackName) + " does not exist")
	}
	var outs []cftypes.Output
	for k, v := range f.outputs {
		outs = append(outs, cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{{Outputs: outs}}}, nil
}

// fakeSecretsManager holds each secret's current value (secrets) and, for a
// rotated secret, its previous one (previous).
type fakeSecretsManager struct {
	secrets, previous map[string]string
	stages            []string // the VersionStage of every read
}

func (f *fakeSecretsManager) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	stage := aws.ToString(in.VersionStage)
	f.stages = append(f.stages, stage)
	values := f.secrets
	if stage == "AWSPREVIOUS" {
		values = f.previous
	} else if stage != "AWSCURRENT" {
		return nil, errors.New("ValidationException: unexpected stage " + stage)
	}
	s, ok := values[aws.ToString(in.SecretId)]
	if !ok {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value for staging label: " + stage)}
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(s)}, nil
}

type deployment struct {
	tokens   *oauthtest.TokenServer
	api      *oauthtest.API
	verifier *verify.Verifier
	cf       *fakeCloudFormation
	sm       *fakeSecretsManager
}

// deploy plays a deployed WeatherEvents stack. tokenClients is what the
// token endpoint really allows; open lists routes the API wrongly opens.
func deploy(t *testing.T, tokenClients map[string][]string, open ...string) *deployment {
	t.Helper()
	clients := map[string]oauthtest.Client{}
	for name, scopes := range tokenClients {
		clients[name+"-id"] = oauthtest.Client{Secret: name + "-s3cret", Scopes: scopes}
	}
	tokens := oauthtest.NewTokenServer(clients)
	api := oauthtest.NewAPI(oauthtest.WeatherRoutes, tokens, open...)
	t.Cleanup(func() { api.Close(); tokens.Close() })

	outputs := map[string]string{
		contract.APIURL:           api.URL + "/",
		contract.AccessPolicy:     oauthtest.WeatherRoutes.Policy().JSON(),
		contract.TokenURL("Auth"): tokens.TokenURL(),
	}
	secrets := map[string]string{}
	var records []contract.ClientRecord
	for name, scopes := range promisedClients {
		arn := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + name
		records = append(records, contract.ClientRecord{Name: name, ClientID: name + "-id", SecretArn: arn, Scopes: scopes})
		body, _ := json.Marshal(map[string]string{"client_id": name + "-id", "client_secret": name + "-s3cret", "token_url": tokens.TokenURL()})
		secrets[arn] = string(body)
	}
	list, _ := json.Marshal(records)
	outputs[contract.Clients("Auth")] = string(list)
	cf := &fakeCloudFormation{outputs: outputs}
	sm := &fakeSecretsManager{secrets: secrets, previous: map[string]string{}}
	return &deployment{tokens: tokens, api: api, cf: cf, sm: sm,
		verifier: &verify.Verifier{CloudFormation: cf, SecretsManager: sm}}
}

func arnOf(name string) string { return "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + name }

// credentialsJSON is a client's secret value; extra adds keys (api_key).
func (d *deployment) credentialsJSON(name, secret string, extra ...string) string {
	v := map[string]string{"client_id": name + "-id", "client_secret": secret, "token_url": d.tokens.TokenURL(), "client_secret_id": "id-of-" + secret}
	for i := 0; i+1 < len(extra); i += 2 {
		v[extra[i]] = extra[i+1]
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// rotate plays a rotation of the client's secret up to the switch: Cognito
// has a second client secret, the Secrets Manager secret holds it as
// AWSCURRENT and the old value as AWSPREVIOUS.
func (d *deployment) rotate(t *testing.T, name, newSecret string) {
	t.Helper()
	require.NoError(t, d.tokens.AddSecret(name+"-id", newSecret))
	d.sm.previous[arnOf(name)] = d.sm.secrets[arnOf(name)]
	d.sm.secrets[arnOf(name)] = d.credentialsJSON(name, newSecret)
}

// rows returns the rows of a client's current or previous secret.
func rows(r *verify.Report, client, secret string) []verify.Row {
	var out []verify.Row
	for _, row := range r.Rows {
		if row.Client == client && row.Secret == secret {
			out = append(out, row)
		}
	}
	return out
}

// row returns a row of the client's current secret.
func row(t *testing.T, r *verify.Report, client, requested string) verify.Row {
	t.Helper()
	for _, row := range r.Rows {
		if row.Client == client && row.Requested == requested && row.Secret == verify.SecretCurrent {
			return row
		}
	}
	t.Fatalf("no row for %s / %s", client, requested)
	return verify.Row{}
}

func outcomes(row verify.Row) map[string]string {
	out := map[string]string{}
	for _, c := range row.Calls {
		out[c.Route] = c.Outcome
	}
	return out
}

func TestADeploymentThatKeepsItsPromises(t *testing.T) {
	d := deploy(t, promisedClients)
	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	assert.Zero(t, report.Mismatches)
	assert.Equal(t, []string{"DELETE /{id}", "GET /", "POST /"}, report.Routes)
	// 2 clients x (no scope + 2 allowed scopes + 1 foreign scope)
	assert.Len(t, report.Rows, 8)

	all := row(t, report, "weather-service", verify.NoScope)
	assert.Equal(t, "issued", all.Token)
	assert.Equal(t, map[string]string{"GET /": "allowed", "POST /": "allowed", "DELETE /{id}": "denied"}, outcomes(all))
	postOnly := row(t, report, "weather-service", "weather-api/post")
	assert.Equal(t, map[string]string{"GET /": "denied", "POST /": "allowed", "DELETE /{id}": "denied"}, outcomes(postOnly))
	del := row(t, report, "weather-service", "weather-api/delete")
	assert.Equal(t, "refused", del.Token, "the seed's unavailable scope")
	assert.Contains(t, del.TokenError, "invalid_scope")
	assert.Empty(t, del.Calls)
	assert.Equal(t, map[string]string{"GET /": "allowed", "POST /": "denied", "DELETE /{id}": "allowed"},
		outcomes(row(t, report, "janitor", verify.NoScope)))

	var table bytes.Buffer
	require.NoError(t, report.WriteTable(&table))
	assert.Contains(t, table.String(), "WeatherEvents: every outcome matches the access policy")
	assert.NotContains(t, table.String(), "!")
	assert.Equal(t, 0, report.ExitCode())
}

func TestAnAPIThatLetsAPostOnlyTokenGET(t *testing.T) {
	d := deploy(t, promisedClients, "GET /")
	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	// Every issued token without weather-api/get now gets through GET /.
	postOnly := row(t, report, "weather-service", "weather-api/post")
	assert.False(t, postOnly.OK())
	assert.Equal(t, "allowed", outcomes(postOnly)["GET /"])
	assert.Equal(t, 2, report.Mismatches, "weather-service's post-only and janitor's delete-only tokens")

	var table bytes.Buffer
	require.NoError(t, report.WriteTable(&table))
	assert.Contains(t, table.String(), "! allowed 200 (expected denied)")
	assert.Contains(t, table.String(), "WeatherEvents: 2 row(s) differ from the access policy")
	assert.Equal(t, 1, report.ExitCode())
}

func TestATokenEndpointThatIssuesAScopeThePolicyDenies(t *testing.T) {
	generous := map[string][]string{
		"weather-service": {"weather-api/get", "weather-api/post", "weather-api/delete"},
		"janitor":         promisedClients["janitor"],
	}
	report, err := deploy(t, generous).verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	del := row(t, report, "weather-service", "weather-api/delete")
	assert.Equal(t, "issued", del.Token)
	assert.Equal(t, "refused", del.ExpectedToken)
	assert.False(t, del.OK())
	assert.GreaterOrEqual(t, report.Mismatches, 1)
}

func TestNeverPrintsSecretsOrTokens(t *testing.T) {
	d := deploy(t, promisedClients, "GET /")
	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	var table, asJSON bytes.Buffer
	require.NoError(t, report.WriteTable(&table))
	require.NoError(t, report.WriteJSON(&asJSON))
	assert.True(t, json.Valid(asJSON.Bytes()))
	for _, out := range []string{table.String(), asJSON.String()} {
		assert.NotContains(t, out, "s3cret")
		assert.NotContains(t, out, "tok_", "no access token, whole or in part")
	}
}

func TestCannotVerifyWithoutTheStackOutputs(t *testing.T) {
	d := deploy(t, promisedClients)
	_, err := d.verifier.Run(context.Background(), "Nope")
	assert.ErrorContains(t, err, "reading stack Nope")

	delete(d.cf.outputs, contract.AccessPolicy)
	_, err = d.verifier.Run(context.Background(), "WeatherEvents")
	assert.ErrorContains(t, err, "has no readable AccessPolicy output")

	d = deploy(t, promisedClients)
	delete(d.cf.outputs, contract.Clients("Auth"))
	_, err = d.verifier.Run(context.Background(), "WeatherEvents")
	assert.ErrorContains(t, err, "has no readable AuthClients output")

	d = deploy(t, promisedClients)
	d.cf.outputs[contract.Clients("Auth")] = `[{"name":"janitor","clientId":"janitor-id","scopes":["weather-api/get"]}]`
	_, err = d.verifier.Run(context.Background(), "WeatherEvents")
	assert.ErrorContains(t, err, `client "janitor" has no secretArn in AuthClients`)

	d = deploy(t, promisedClients)
	d.verifier.SecretsManager = &fakeSecretsManager{secrets: map[string]string{
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:janitor":         "not json s3cret",
		"arn:aws:secretsmanager:eu-west-1:123456789012:secret:weather-service": "{}",
	}}
	_, err = d.verifier.Run(context.Background(), "WeatherEvents")
	assert.ErrorContains(t, err, "is not client credentials JSON")
	assert.NotContains(t, err.Error(), "s3cret")
}

// Neither the client secret nor a bearer token is sent over plain http,
// except to a loopback host (every other test here): the run stops, as
// "cannot verify", before any request.
func TestRefusesPlainTextURLs(t *testing.T) {
	d := deploy(t, promisedClients)
	d.cf.outputs[contract.APIURL] = "http://abc123.execute-api.eu-west-1.amazonaws.com/weather/"
	_, err := d.verifier.Run(context.Background(), "WeatherEvents")
	assert.EqualError(t, err, `verify: stack WeatherEvents: ApiUrl output "http://abc123.execute-api.eu-west-1.amazonaws.com/weather" is not https: the bearer token would cross the network in clear text (plain http is allowed only to a loopback host: 127.0.0.0/8, ::1 or localhost)`)

	d = deploy(t, promisedClients)
	arn := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:janitor"
	d.verifier.SecretsManager = &fakeSecretsManager{secrets: map[string]string{
		arn: `{"client_id":"janitor-id","client_secret":"janitor-s3cret","token_url":"http://auth.example.com/oauth2/token"}`,
	}}
	_, err = d.verifier.Run(context.Background(), "WeatherEvents")
	assert.EqualError(t, err, `verify: client "janitor": token_url of secret `+arn+` "http://auth.example.com/oauth2/token" is not https: the client secret would cross the network in clear text (plain http is allowed only to a loopback host: 127.0.0.0/8, ::1 or localhost)`)
	assert.EqualValues(t, 0, d.tokens.Requests())
	assert.EqualValues(t, 0, d.api.Calls())
}

// toLocal plays the network: https://api.example.test reaches the local API.
type toLocal struct{ api string }

func (l toLocal) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "api.example.test" {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = "http", strings.TrimPrefix(l.api, "http://")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestAcceptsAnHTTPSAPIURL(t *testing.T) {
	d := deploy(t, promisedClients)
	d.cf.outputs[contract.APIURL] = "https://api.example.test/"
	d.verifier.HTTP = toLocal{api: d.api.URL}
	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	assert.Zero(t, report.Mismatches)
	assert.Positive(t, d.api.Calls())
}

// A client suspended in configuration must get no token at all: refused, it
// matches; still issued tokens, it is a mismatch.
func TestASuspendedClientGetsNoToken(t *testing.T) {
	for _, tc := range []struct {
		name       string
		stillIssue bool
		mismatches int
	}{{"cut off", false, 0}, {"still issued tokens", true, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			tokenClients := map[string][]string{"weather-service": promisedClients["weather-service"], "janitor": promisedClients["janitor"]}
			if tc.stillIssue {
				tokenClients["retired"] = []string{"weather-api/get"}
			}
			d := deploy(t, tokenClients)
			var records []contract.ClientRecord
			require.NoError(t, json.Unmarshal([]byte(d.cf.outputs[contract.Clients("Auth")]), &records))
			records = append(records, contract.ClientRecord{Name: "retired", ClientID: "retired-id", SecretArn: arnOf("retired"), Scopes: []string{"weather-api/get"}, Suspended: true})
			list, _ := json.Marshal(records)
			d.cf.outputs[contract.Clients("Auth")] = string(list)
			d.sm.secrets[arnOf("retired")] = d.credentialsJSON("retired", "retired-s3cret")

			report, err := d.verifier.Run(context.Background(), "WeatherEvents")
			require.NoError(t, err)
			for _, r := range rows(report, "retired", verify.SecretCurrent) {
				assert.Equal(t, "refused", r.ExpectedToken, "requested %s", r.Requested)
			}
			assert.Equal(t, tc.mismatches, report.Mismatches)
		})
	}
}
