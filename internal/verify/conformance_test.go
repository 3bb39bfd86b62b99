package verify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/gatewayresponse"
	"github.com/scopegate/scopegate/internal/testkit/awsfake"
	"github.com/scopegate/scopegate/internal/testkit/oauthtest"
	"github.com/scopegate/scopegate/internal/verify"
)

// gateway plays a deployed API Gateway in front of oauthtest's token
// endpoint: scopeMiss is the status it answers a valid token without the
// route's scope (401 as AWS documents, 403 to play AWS differing); apiKey,
// when set, is required; badKeyStatus is its answer to an unknown key.
type gateway struct {
	scopeMiss, badKeyStatus int
	apiKey                  string
	missingKeyBody          string
	// issuesSuspended makes the token endpoint issue tokens to the
	// client suspended in configuration, as a suspension that did not hold.
	issuesSuspended bool
}

func (g *gateway) handler(tokens *oauthtest.TokenServer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := false
		var scopes []string
		for _, rt := range oauthtest.WeatherRoutes {
			if rt.Method == r.Method && (rt.Path == r.URL.Path || (strings.HasPrefix(rt.Path, "/{") && strings.Count(r.URL.Path, "/") == 1 && r.URL.Path != "/")) {
				scopes, ok = rt.Scopes, true
			}
		}
		if !ok {
			http.Error(w, `{"message":"Missing Authentication Token"}`, http.StatusForbidden)
			return
		}
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		grant, valid := tokens.Lookup(token)
		opens := false
		for _, s := range grant.Scopes {
			for _, need := range scopes {
				opens = opens || s == need
			}
		}
		if !valid || !opens {
			if g.scopeMiss == http.StatusUnauthorized || !valid {
				u := gatewayresponse.Unauthorized
				for k, v := range u.Headers() {
					w.Header().Set(k, v)
				}
				w.WriteHeader(u.Status)
				fmt.Fprint(w, u.Body("Unauthorized"))
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
			w.WriteHeader(g.scopeMiss)
			fmt.Fprint(w, `{"error":"insufficient_scope"}`)
			return
		}
		if g.apiKey != "" {
			switch key := r.Header.Get("x-api-key"); {
			case key == "":
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, g.missingKeyBody)
				return
			case key != g.apiKey && g.badKeyStatus == http.StatusForbidden:
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, gatewayresponse.InvalidAPIKey.Body("Forbidden"))
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"events":[]}`)
	})
}

type conformanceEnv struct {
	aws     *awsfake.Server
	gateway *gateway
	tiered  bool
}

// deployConformance plays a deployed WeatherEvents: one client,
// weather-service (get and post; DELETE /{id} is a scope miss), its secret
// rotated once (client_secret_id cs-2), with an api_key when tiered.
func deployConformance(t *testing.T, g *gateway, tiered bool) (*awsfake.Server, *verify.Conformance) {
	t.Helper()
	known := map[string]oauthtest.Client{"ws-id": {Secret: "ws-s3cret", Scopes: []string{"weather-api/get", "weather-api/post"}}}
	if g.issuesSuspended {
		known["archived-id"] = oauthtest.Client{Secret: "archived-s3cret", Scopes: []string{"weather-api/get"}}
	}
	tokens := oauthtest.NewTokenServer(known)
	t.Cleanup(tokens.Close)
	if tiered {
		g.apiKey = "the-api-key"
	}
	api := httptest.NewServer(g.handler(tokens))
	t.Cleanup(api.Close)

	f := awsfake.New()
	t.Cleanup(f.Close)
	arn := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scopegate-eu-west-1_Pool-weather-service-AbCdEf"
	// "archived", suspended in configuration, sorts before the client the
	// other checks must use.
	archivedArn := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:scopegate-eu-west-1_Pool-archived-GhIjKl"
	clients, _ := json.Marshal([]contract.ClientRecord{
		{Name: "weather-service", ClientID: "ws-id", SecretArn: arn, Scopes: []string{"weather-api/get", "weather-api/post"}},
		{Name: "archived", ClientID: "archived-id", SecretArn: archivedArn, Scopes: []string{"weather-api/get"}, Suspended: true},
	})
	outputs := map[string]string{
		contract.APIURL:           api.URL + "/",
		contract.AccessPolicy:     oauthtest.WeatherRoutes.Policy().JSON(),
		contract.Clients("Auth"):  string(clients),
		contract.TokenURL("Auth"): tokens.TokenURL(),
	}
	var members strings.Builder
	for _, k := range awsfake.SortedKeys(outputs) {
		fmt.Fprintf(&members, "<member><OutputKey>%s</OutputKey><OutputValue>%s</OutputValue></member>", k, awsfake.XMLText(outputs[k]))
	}
	f.Reply("cloudformation", "DescribeStacks", `<Stacks><member><StackName>WeatherEvents</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>`+members.String()+`</Outputs></member></Stacks>`)
	f.Reply("cloudformation", "ListStackResources", `<StackResourceSummaries>
<member><LogicalResourceId>Auth55780030</LogicalResourceId><PhysicalResourceId>eu-west-1_Pool</PhysicalResourceId><ResourceType>AWS::Cognito::UserPool</ResourceType><ResourceStatus>CREATE_COMPLETE</ResourceStatus><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp></member>
<member><LogicalResourceId>AuthRotationLogsCFF23D35</LogicalResourceId><PhysicalResourceId>WeatherEvents-AuthRotationLogs-XYZ</PhysicalResourceId><ResourceType>AWS::Logs::LogGroup</ResourceType><ResourceStatus>CREATE_COMPLETE</ResourceStatus><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp></member>
</StackResourceSummaries>`)
	value := map[string]string{"client_id": "ws-id", "client_secret": "ws-s3cret", "token_url": tokens.TokenURL(), "client_secret_id": "cs-2"}
	if tiered {
		value["api_key_id"], value["api_key"] = "key-id", "the-api-key"
	}
	secret, _ := json.Marshal(value)
	archived, _ := json.Marshal(map[string]string{"client_id": "archived-id", "client_secret": "archived-s3cret", "token_url": tokens.TokenURL()})
	secrets := map[string]string{arn: string(secret), archivedArn: string(archived)}
	f.Handle("secretsmanager", "GetSecretValue", func(r awsfake.Request) (any, error) {
		value, ok := secrets[r.String("SecretId")]
		if !ok || (r.String("VersionStage") != "" && r.String("VersionStage") != "AWSCURRENT") {
			return nil, &awsfake.Error{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret value"}
		}
		return map[string]any{"ARN": r.String("SecretId"), "Name": "scopegate-eu-west-1_Pool-client", "SecretString": value, "VersionId": "v2", "VersionStages": []any{"AWSCURRENT"}}, nil
	})
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Handle("cognito-idp", "ListUserPoolClientSecrets", func(r awsfake.Request) (any, error) {
		if r.String("UserPoolId") != "eu-west-1_Pool" || r.String("ClientId") != "ws-id" {
			return nil, &awsfake.Error{Code: "ResourceNotFoundException", Message: "User pool client does not exist."}
		}
		return map[string]any{"ClientSecrets": []any{
			map[string]any{"ClientSecretId": "cs-1", "ClientSecretCreateDate": created},
			map[string]any{"ClientSecretId": "cs-2", "ClientSecretCreateDate": created.Add(90 * 24 * time.Hour)},
		}}, nil
	})
	f.Reply("monitoring", "ListMetrics", map[string]any{"Metrics": []any{map[string]any{"Namespace": "AWS/Usage", "MetricName": "CallCount", "Dimensions": []any{
		map[string]any{"Name": "Service", "Value": "Cognito User Pools"}, map[string]any{"Name": "Type", "Value": "API"},
		map[string]any{"Name": "Resource", "Value": "ClientAuthentication"}, map[string]any{"Name": "Class", "Value": "None"}}}}})
	f.Handle("logs", "FilterLogEvents", func(r awsfake.Request) (any, error) {
		if r.String("logGroupName") != "WeatherEvents-AuthRotationLogs-XYZ" || !strings.Contains(r.String("filterPattern"), "pending version has no value") {
			return map[string]any{"events": []any{}}, nil
		}
		return map[string]any{"events": []any{map[string]any{"message": `{"msg":"rotation","outcome":"tested the current credentials because the pending version has no value: AWSCURRENT's client secret gets a token"}`, "timestamp": 1767225600000}}}, nil
	})
	cfg := f.Config()
	return f, &verify.Conformance{
		CloudFormation: cloudformation.NewFromConfig(cfg), SecretsManager: secretsmanager.NewFromConfig(cfg),
		Cognito: cognitoidentityprovider.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg),
		Logs: cloudwatchlogs.NewFromConfig(cfg),
	}
}

func runConformance(t *testing.T, c *verify.Conformance) (*verify.Checks, map[string]verify.Check, string) {
	t.Helper()
	checks, err := c.Run(context.Background(), "WeatherEvents")
	require.NoError(t, err)
	by := map[string]verify.Check{}
	for _, ch := range checks.Checks {
		by[ch.Name] = ch
	}
	var out strings.Builder
	require.NoError(t, checks.WriteTable(&out))
	return checks, by, out.String()
}

var documented = gateway{scopeMiss: http.StatusUnauthorized, badKeyStatus: http.StatusForbidden, missingKeyBody: gatewayresponse.ForbiddenMessage}

func TestConformanceConforming(t *testing.T) {
	g := documented
	_, c := deployConformance(t, &g, true)
	checks, by, out := runConformance(t, c)
	assert.Equal(t, 0, checks.ExitCode(), out)
	for _, name := range []string{"getatt-client-secret", "scope-miss-401", "api-key-missing-403", "api-key-bad-403", "cognito-list-client-secrets", "usage-metric-client-authentication", "secretsmanager-configuration-test", "suspended-client-no-token"} {
		assert.Equal(t, verify.StatusOK, by[name].Status, "%s: %+v", name, by[name])
	}
	assert.Equal(t, `401, WWW-Authenticate Bearer realm="scopegate", body error "unauthorized"`, by["scope-miss-401"].Seen)
	assert.Contains(t, by["scope-miss-401"].Detail, "DELETE /{id}")
	assert.Contains(t, by["api-key-missing-403"].Detail, `default 403 {"message":"Forbidden"}`)
	assert.Contains(t, by["cognito-list-client-secrets"].Seen, "2 secret(s), 2 with a create date; AWSCURRENT's client_secret_id listed")
	assert.Contains(t, by["usage-metric-client-authentication"].Seen, "{Class=None, Resource=ClientAuthentication, Service=Cognito User Pools, Type=API}")
	assert.Contains(t, by["suspended-client-no-token"].Seen, "archived: 4", "the refusal's status and error are recorded")
	assert.Contains(t, out, "AWS behaves as scopegate assumes")
	assert.NotContains(t, out, "ws-s3cret")
	assert.NotContains(t, out, "the-api-key")
}

// A missing key answered with INVALID_API_KEY's body passes too, and says so.
func TestConformanceMissingKeyWithInvalidAPIKeyBody(t *testing.T) {
	g := documented
	g.missingKeyBody = gatewayresponse.InvalidAPIKey.Body("Forbidden")
	_, c := deployConformance(t, &g, true)
	checks, by, _ := runConformance(t, c)
	assert.Equal(t, 0, checks.ExitCode())
	assert.Contains(t, by["api-key-missing-403"].Detail, "with INVALID_API_KEY")
}

func TestConformanceAWSDiffers(t *testing.T) {
	for _, tc := range []struct {
		name, check string
		g           gateway
		tiered      bool
		setup       func(*awsfake.Server)
	}{
		// What oauthtest's API and the old README assumed: a scope miss is
		// 403 insufficient_scope. AWS documents 401.
		{"scope miss answered 403", "scope-miss-401", gateway{scopeMiss: http.StatusForbidden}, false, nil},
		{"bad API key let through", "api-key-bad-403", gateway{scopeMiss: http.StatusUnauthorized, badKeyStatus: http.StatusOK, missingKeyBody: gatewayresponse.ForbiddenMessage}, true, nil},
		{"missing API key answered 401", "api-key-missing-403", documented, true, nil},
		{"no client secrets listed", "cognito-list-client-secrets", documented, false, func(f *awsfake.Server) {
			f.Reply("cognito-idp", "ListUserPoolClientSecrets", map[string]any{"ClientSecrets": []any{}})
		}},
		{"current client_secret_id not listed", "cognito-list-client-secrets", documented, false, func(f *awsfake.Server) {
			f.Reply("cognito-idp", "ListUserPoolClientSecrets", map[string]any{"ClientSecrets": []any{map[string]any{"ClientSecretId": "cs-1", "ClientSecretCreateDate": time.Now()}}})
		}},
		{"usage metric under another Resource", "usage-metric-client-authentication", documented, false, func(f *awsfake.Server) {
			f.Reply("monitoring", "ListMetrics", map[string]any{"Metrics": []any{map[string]any{"Namespace": "AWS/Usage", "MetricName": "CallCount", "Dimensions": []any{map[string]any{"Name": "Resource", "Value": "TokenRequests"}}}}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.g
			if tc.name == "missing API key answered 401" {
				g.missingKeyBody = ""
			}
			f, c := deployConformance(t, &g, tc.tiered)
			if tc.setup != nil {
				tc.setup(f)
			}
			if tc.name == "missing API key answered 401" {
				// the gateway answers a keyless call like a bad token
				c.HTTP = rewriteStatus{http.DefaultTransport}
			}
			checks, by, out := runConformance(t, c)
			assert.Equal(t, 1, checks.ExitCode(), out)
			assert.Equal(t, verify.StatusProblem, by[tc.check].Status, "%+v", by[tc.check])
			assert.Contains(t, out, "AWS differs from what scopegate assumes")
		})
	}
}

// rewriteStatus turns the 403 of a call without x-api-key into a 401.
type rewriteStatus struct{ http.RoundTripper }

func (r rewriteStatus) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.RoundTripper.RoundTrip(req)
	if err == nil && req.Header.Get("x-api-key") == "" && req.Header.Get("Authorization") != "" && resp.StatusCode == http.StatusForbidden {
		resp.StatusCode = http.StatusUnauthorized
	}
	return resp, err
}

// The signal scopegate waits for, not a failure: no usage metric yet, no
// configuration test in the log, no tiers.
func TestConformanceNotObservedYet(t *testing.T) {
	g := documented
	f, c := deployConformance(t, &g, false)
	f.Reply("monitoring", "ListMetrics", map[string]any{"Metrics": []any{}})
	f.Reply("logs", "FilterLogEvents", map[string]any{"events": []any{}})
	checks, by, out := runConformance(t, c)
	assert.Equal(t, 0, checks.ExitCode(), out)
	assert.Equal(t, verify.StatusNote, by["usage-metric-client-authentication"].Status)
	assert.Contains(t, by["usage-metric-client-authentication"].Detail, "cannot tell yet")
	assert.Equal(t, verify.StatusNote, by["secretsmanager-configuration-test"].Status)
	assert.Contains(t, by["secretsmanager-configuration-test"].Detail, "cannot tell from outside")
	assert.Equal(t, verify.StatusNA, by["api-key-missing-403"].Status)
}

func TestConformanceCannotCheck(t *testing.T) {
	g := documented
	f, c := deployConformance(t, &g, false)
	f.Fail("cognito-idp", "ListUserPoolClientSecrets", awsfake.AccessDenied(awsfake.AWSJSON))
	f.Fail("monitoring", "ListMetrics", awsfake.AccessDenied(awsfake.CBOR))
	checks, by, _ := runConformance(t, c)
	assert.Equal(t, 2, checks.ExitCode())
	assert.Equal(t, verify.StatusUnknown, by["cognito-list-client-secrets"].Status)
	assert.Contains(t, by["usage-metric-client-authentication"].Detail, "AccessDeniedException")

	// Outputs it cannot read: no report at all (the command exits 2).
	f.Fail("cloudformation", "DescribeStacks", awsfake.AccessDenied(awsfake.Query))
	_, err := c.Run(context.Background(), "WeatherEvents")
	assert.ErrorContains(t, err, "AccessDenied")
}

// A client suspended in configuration that still gets a token is a problem;
// the other checks use a client that is not suspended.
func TestConformanceSuspendedClientStillIssuedTokens(t *testing.T) {
	g := documented
	g.issuesSuspended = true
	_, c := deployConformance(t, &g, false)
	checks, by, out := runConformance(t, c)
	assert.Equal(t, 1, checks.ExitCode(), out)
	assert.Equal(t, verify.StatusProblem, by["suspended-client-no-token"].Status)
	assert.Equal(t, "archived: a token was issued", by["suspended-client-no-token"].Seen)
	assert.Equal(t, verify.StatusOK, by["getatt-client-secret"].Status, "checked with weather-service, not the suspended client")
	assert.NotContains(t, out, "archived-s3cret")
}
