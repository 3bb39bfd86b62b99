package verify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/verify"
)

// table is the report's table with each run of spaces made one, so that
// rows can be compared whatever the column widths.
func table(t *testing.T, r *verify.Report) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, r.WriteTable(&b))
	return spaces.ReplaceAllString(b.String(), " ")
}

var spaces = regexp.MustCompile(` {2,}`)

// Through a rotation: while the old client secret is still live (the
// overlap), it is checked like the current one, in rows of its own; once
// retired, one row says so, and neither is a mismatch.
func TestARotatingClient(t *testing.T) {
	d := deploy(t, promisedClients)
	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	assert.Empty(t, rows(report, "weather-service", verify.SecretPrevious), "never rotated: no AWSPREVIOUS")
	assert.Len(t, report.Rows, 8)

	// Add-new and switch: AWSPREVIOUS holds the old secret, still live.
	d.rotate(t, "weather-service", "weather-service-n3w")
	report, err = d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	assert.Zero(t, report.Mismatches)
	current, previous := rows(report, "weather-service", verify.SecretCurrent), rows(report, "weather-service", verify.SecretPrevious)
	require.Len(t, current, 4)
	require.Len(t, previous, 4, "the same token requests with the previous secret")
	for i := range previous {
		assert.Equal(t, current[i].Requested, previous[i].Requested)
		assert.Equal(t, current[i].Token, previous[i].Token)
		assert.Equal(t, outcomes(current[i]), outcomes(previous[i]))
	}
	assert.Equal(t, "issued", previous[0].Token)
	out := table(t, report)
	assert.Contains(t, out, "weather-service (previous secret) (no scope) issued denied 401 allowed 200 allowed 200")
	assert.Contains(t, out, "WeatherEvents: every outcome matches the access policy")

	// Retire-old: the previous secret is refused as invalid_client.
	require.NoError(t, d.tokens.RetireSecret("weather-service-id", "weather-service-s3cret"))
	report, err = d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	assert.Zero(t, report.Mismatches)
	assert.Equal(t, 0, report.ExitCode())
	previous = rows(report, "weather-service", verify.SecretPrevious)
	require.Len(t, previous, 1, "one row for a retired secret")
	assert.Equal(t, "retired", previous[0].Token)
	assert.True(t, previous[0].OK())
	assert.Contains(t, previous[0].TokenError, "invalid_client")
	assert.Empty(t, previous[0].Calls)
	assert.Len(t, rows(report, "weather-service", verify.SecretCurrent), 4)
	out = table(t, report)
	assert.Contains(t, out, "weather-service (previous secret) (no scope) retired - - -")
	assert.NotContains(t, out, "!")
	assert.NotContains(t, out, "s3cret")
	assert.NotContains(t, out, "n3w")

	// Both versions were read for both clients, and only those stages.
	assert.ElementsMatch(t, []string{"AWSCURRENT", "AWSPREVIOUS"}, unique(d.sm.stages))
}

func unique(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// A live previous secret is held to the policy like the current one.
func TestALivePreviousSecretIsCheckedLikeTheCurrentOne(t *testing.T) {
	d := deploy(t, promisedClients, "GET /")
	d.rotate(t, "weather-service", "weather-service-n3w")
	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	assert.Equal(t, 3, report.Mismatches, "post-only tokens of both weather-service secrets, janitor's delete-only token")
	var postOnly verify.Row
	for _, r := range rows(report, "weather-service", verify.SecretPrevious) {
		if r.Requested == "weather-api/post" {
			postOnly = r
		}
	}
	assert.False(t, postOnly.OK())
	assert.Contains(t, table(t, report), "weather-service (previous secret) weather-api/post issued denied 401 ! allowed 200 (expected denied)")
}

// The current secret is never "retired": a secret whose current value the
// token endpoint refuses (a rotation that deleted the wrong Cognito secret,
// say) is a mismatch in every row that expects a token.
func TestACurrentSecretTheEndpointRefusesIsAMismatch(t *testing.T) {
	d := deploy(t, promisedClients)
	d.rotate(t, "weather-service", "weather-service-n3w")
	require.NoError(t, d.tokens.RetireSecret("weather-service-id", "weather-service-n3w"))
	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	all := row(t, report, "weather-service", verify.NoScope)
	assert.Equal(t, "refused", all.Token)
	assert.Equal(t, "issued", all.ExpectedToken)
	assert.Contains(t, all.TokenError, "invalid_client")
	assert.Equal(t, 3, report.Mismatches, "no scope, get, post")
	for _, r := range rows(report, "weather-service", verify.SecretPrevious) {
		assert.True(t, r.OK(), "the previous secret is still live")
	}
	assert.Equal(t, 1, report.ExitCode())
}

// A previous version with the same client secret (a rotation of the API key
// alone, say) adds no rows.
func TestAPreviousVersionWithTheSameClientSecretIsNotCheckedTwice(t *testing.T) {
	d := deploy(t, promisedClients)
	arn := arnOf("janitor")
	d.sm.previous[arn] = d.sm.secrets[arn]
	d.sm.secrets[arn] = d.credentialsJSON("janitor", "janitor-s3cret", "api_key", "janitor-k3y")
	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	assert.Empty(t, rows(report, "janitor", verify.SecretPrevious))
	assert.Len(t, report.Rows, 8)
}

// A previous version that cannot be read, or names a plain-http token URL,
// stops the run before any request.
func TestAnUnusablePreviousVersionCannotBeVerified(t *testing.T) {
	d := deploy(t, promisedClients)
	arn := arnOf("janitor")
	d.sm.previous[arn] = "not json janitor-s3cret"
	_, err := d.verifier.Run(context.Background(), "WeatherEvents")
	assert.EqualError(t, err, `verify: client "janitor": secret `+arn+` (AWSPREVIOUS) is not client credentials JSON`)

	d.sm.previous[arn] = `{"client_id":"janitor-id","client_secret":"old-s3cret","token_url":"http://auth.example.com/oauth2/token"}`
	_, err = d.verifier.Run(context.Background(), "WeatherEvents")
	assert.EqualError(t, err, `verify: client "janitor": token_url of secret `+arn+` (AWSPREVIOUS) "http://auth.example.com/oauth2/token" is not https: the client secret would cross the network in clear text (plain http is allowed only to a loopback host: 127.0.0.0/8, ::1 or localhost)`)
	assert.EqualValues(t, 0, d.tokens.Requests())
	assert.EqualValues(t, 0, d.api.Calls())

	d.sm.previous[arn] = `{"client_id":"janitor-id"}`
	_, err = d.verifier.Run(context.Background(), "WeatherEvents")
	assert.EqualError(t, err, `verify: client "janitor": secret `+arn+` (AWSPREVIOUS) lacks client_secret and token_url`)
}

// A tiered API: each client must send its usage plan's API key. A secret
// with an api_key gets it sent; a call without one is denied by the API,
// which is a mismatch only where the policy says allowed.
func TestATieredAPIThatEnforcesAPIKeys(t *testing.T) {
	d := deploy(t, promisedClients)
	d.api.RequireAPIKey("janitor-id", "janitor-k3y")
	d.api.RequireAPIKey("weather-service-id", "weather-service-k3y")
	d.sm.secrets[arnOf("janitor")] = d.credentialsJSON("janitor", "janitor-s3cret", "api_key", "janitor-k3y")
	// weather-service's secret has no api_key.

	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	for _, r := range rows(report, "janitor", verify.SecretCurrent) {
		assert.True(t, r.APIKey)
		assert.True(t, r.OK(), r.Requested)
	}
	for _, r := range d.api.Received() {
		if r.APIKey != "" {
			assert.Equal(t, "janitor-k3y", r.APIKey)
		}
	}

	all := row(t, report, "weather-service", verify.NoScope)
	assert.False(t, all.APIKey)
	assert.Equal(t, map[string]string{"GET /": "denied", "POST /": "denied", "DELETE /{id}": "denied"}, outcomes(all))
	for _, c := range all.Calls {
		if c.Route == "DELETE /{id}" {
			assert.Equal(t, "bearer", c.Challenge, "a scope miss is the 401 of a Bearer challenge without an error code")
		} else {
			assert.Empty(t, c.Challenge, "API Gateway's API key refusal has no Bearer challenge")
		}
	}
	assert.False(t, all.OK())
	assert.True(t, row(t, report, "weather-service", "weather-api/delete").OK(), "a refused token calls nothing")
	assert.Equal(t, 3, report.Mismatches, "weather-service's no-scope, get-only and post-only rows")

	out := table(t, report)
	assert.Contains(t, out, "weather-service weather-api/get issued denied 401 ! denied 403 (expected allowed; no x-api-key) denied 401")
	assert.Contains(t, out, "WeatherEvents: 3 row(s) differ from the access policy")
	assert.Equal(t, 1, report.ExitCode())

	var asJSON bytes.Buffer
	require.NoError(t, report.WriteJSON(&asJSON))
	for _, s := range []string{out, asJSON.String()} {
		assert.NotContains(t, s, "k3y", "no API key printed")
		assert.NotContains(t, s, "s3cret")
		assert.NotContains(t, s, "tok_")
	}
	var decoded struct {
		Rows []map[string]any `json:"rows"`
	}
	require.NoError(t, json.Unmarshal(asJSON.Bytes(), &decoded))
	assert.Equal(t, "current", decoded.Rows[0]["secret"])
	assert.Equal(t, true, decoded.Rows[0]["apiKey"])
}

// A rotated secret sends its own api_key: the previous secret's rows send the
// previous key.
func TestEachSecretVersionSendsItsOwnAPIKey(t *testing.T) {
	d := deploy(t, promisedClients)
	arn := arnOf("janitor")
	d.sm.secrets[arn] = d.credentialsJSON("janitor", "janitor-s3cret", "api_key", "old-k3y")
	require.NoError(t, d.tokens.AddSecret("janitor-id", "janitor-n3w"))
	d.sm.previous[arn] = d.sm.secrets[arn]
	d.sm.secrets[arn] = d.credentialsJSON("janitor", "janitor-n3w", "api_key", "new-k3y")

	report, err := d.verifier.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	assert.Zero(t, report.Mismatches)
	keys := map[string]int{}
	for _, r := range d.api.Received() {
		keys[r.APIKey]++
	}
	assert.Equal(t, map[string]int{"": 9, "new-k3y": 9, "old-k3y": 9}, keys, "3 routes x 3 issued tokens per secret version")
}

// Without an AWSPREVIOUS read permission the run cannot be complete.
func TestAPreviousVersionThatCannotBeReadCannotBeVerified(t *testing.T) {
	d := deploy(t, promisedClients)
	d.verifier.SecretsManager = deniedPrevious{d.sm}
	_, err := d.verifier.Run(context.Background(), "WeatherEvents")
	assert.ErrorContains(t, err, `verify: client "janitor": reading secret `+arnOf("janitor")+` (AWSPREVIOUS): AccessDeniedException`)
	assert.EqualValues(t, 0, d.tokens.Requests())
}

// deniedPrevious refuses reads of AWSPREVIOUS, as a policy with a
// secretsmanager:VersionStage condition would.
type deniedPrevious struct{ *fakeSecretsManager }

func (f deniedPrevious) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if aws.ToString(in.VersionStage) == "AWSPREVIOUS" {
		return nil, errors.New("AccessDeniedException: not authorized to read AWSPREVIOUS")
	}
	return f.fakeSecretsManager.GetSecretValue(ctx, in, opts...)
}
