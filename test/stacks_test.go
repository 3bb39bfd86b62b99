// Package test checks the deployable stacks as whole synthesized templates.
package test

import (
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/cdktest"
	"github.com/scopegate/scopegate/stacks"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

type synthesized struct {
	weather, proxy, proxyCustomDomain cdktest.Template
	weatherStack                      *stacks.WeatherEventsStack
	proxyStack                        *stacks.ThirdPartyProxyStack
}

var (
	synthOnce sync.Once
	synthAll  *synthesized
)

// synth builds every stack configuration in one app and synthesizes it once
// for the whole package.
func synth(t *testing.T) *synthesized {
	t.Helper()
	synthOnce.Do(func() {
		app := cdktest.NewApp()
		weather := stacks.NewWeatherEventsStack(app, "WeatherEvents", nil)
		proxy := stacks.NewThirdPartyProxyStack(app, "ThirdPartyProxy", nil)
		custom := stacks.NewThirdPartyProxyStack(app, "ThirdPartyProxyCustomDomain", &stacks.ThirdPartyProxyStackProps{
			CustomDomain: &stacks.CustomDomainConfig{
				DomainName:     "auth.partners.example.com",
				CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
				HostedZoneID:   "Z0123456789ABCDEFGHIJ",
				HostedZoneName: "partners.example.com",
			},
		})
		s := &synthesized{weatherStack: weather, proxyStack: proxy}
		s.weather = cdktest.Synth(t, weather.Stack)
		s.proxy = cdktest.Synth(t, proxy.Stack)
		s.proxyCustomDomain = cdktest.Synth(t, custom.Stack)
		synthAll = s
	})
	if synthAll == nil {
		t.Fatal("shared synthesis failed in an earlier test")
	}
	return synthAll
}

func onlyResource(t *testing.T, tmpl cdktest.Template, cfnType string) cdktest.Resource {
	t.Helper()
	rs := tmpl.Resources(cfnType)
	require.Len(t, rs, 1, cfnType)
	return rs[0]
}

// The walkthrough's resource server: weather-api with get, post and delete.
func TestWeatherEventsDeclaresWeatherAPIScopes(t *testing.T) {
	server := onlyResource(t, synth(t).weather, "AWS::Cognito::UserPoolResourceServer")
	assert.Equal(t, "weather-api", server.Properties["Identifier"])
	var names []string
	for _, s := range server.Properties["Scopes"].([]any) {
		names = append(names, s.(map[string]any)["ScopeName"].(string))
	}
	assert.Equal(t, []string{"get", "post", "delete"}, names)
}

// The walkthrough's "unavailable scope": the service client may request get
// and post, so the token endpoint refuses weather-api/delete.
func TestWeatherServiceClientCannotRequestDelete(t *testing.T) {
	s := synth(t)
	client := onlyResource(t, s.weather, "AWS::Cognito::UserPoolClient")
	assert.Equal(t, stacks.ServiceClientName, client.Properties["ClientName"])
	assert.Equal(t, []any{"weather-api/get", "weather-api/post"}, client.Properties["AllowedOAuthScopes"])
	assert.NotContains(t, client.Properties["AllowedOAuthScopes"], s.weatherStack.Scopes.Delete.String())
	assert.EqualValues(t, 60, client.Properties["AccessTokenValidity"])
}

func TestWeatherEventsUsesDerivedPrefixDomain(t *testing.T) {
	domain := onlyResource(t, synth(t).weather, "AWS::Cognito::UserPoolDomain")
	join := domain.Properties["Domain"].(map[string]any)["Fn::Join"].([]any)
	assert.Equal(t, "weatherevents-", join[1].([]any)[0])
}

// Seed 001: one default/default scope and a ThirdPartyAppClient.
func TestThirdPartyProxyHasDefaultScopeAndClient(t *testing.T) {
	for name, tmpl := range map[string]cdktest.Template{"prefix": synth(t).proxy, "custom domain": synth(t).proxyCustomDomain} {
		t.Run(name, func(t *testing.T) {
			server := onlyResource(t, tmpl, "AWS::Cognito::UserPoolResourceServer")
			assert.Equal(t, "default", server.Properties["Identifier"])
			client := onlyResource(t, tmpl, "AWS::Cognito::UserPoolClient")
			assert.Equal(t, stacks.ThirdPartyClientName, client.Properties["ClientName"])
			assert.Equal(t, []any{"default/default"}, client.Properties["AllowedOAuthScopes"])
			assert.Contains(t, tmpl.Section("Outputs"), "AuthThirdPartyAppClientClientId")
		})
	}
}

func TestThirdPartyProxyCustomDomain(t *testing.T) {
	tmpl := synth(t).proxyCustomDomain
	domain := onlyResource(t, tmpl, "AWS::Cognito::UserPoolDomain")
	assert.Equal(t, "auth.partners.example.com", domain.Properties["Domain"])
	assert.Equal(t, "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
		domain.Properties["CustomDomainConfig"].(map[string]any)["CertificateArn"])
	record := onlyResource(t, tmpl, "AWS::Route53::RecordSet")
	assert.Equal(t, "auth.partners.example.com.", record.Properties["Name"])
	assert.Equal(t, "Z0123456789ABCDEFGHIJ", record.Properties["HostedZoneId"])
	assert.Equal(t, "https://auth.partners.example.com/oauth2/token",
		tmpl.Section("Outputs")["AuthTokenUrl"].(map[string]any)["Value"])
}

func TestBadCustomDomainConfigIsRefusedBeforeAnythingIsCreated(t *testing.T) {
	app := cdktest.NewApp()
	msg := cdktest.Recover(func() {
		stacks.NewThirdPartyProxyStack(app, "Bad", &stacks.ThirdPartyProxyStackProps{
			CustomDomain: &stacks.CustomDomainConfig{DomainName: "auth.example.com", CertificateArn: "not-an-arn"},
		})
	})
	assert.Contains(t, msg, `certificateArn "not-an-arn" is not an ACM certificate ARN`)
	assert.Contains(t, msg, "hostedZoneId is required")
	stack := app.Node().TryFindChild(jsii.String("Bad"))
	require.NotNil(t, stack)
	assert.Nil(t, stack.Node().TryFindChild(jsii.String("CognitoCertificate")))
}

func routesOf(tmpl cdktest.Template) map[string][]string {
	got := map[string][]string{}
	for _, m := range tmpl.Methods() {
		got[m.HTTPMethod+" "+m.Path] = m.Scopes
		if m.Properties["AuthorizationType"] != "COGNITO_USER_POOLS" {
			got[m.HTTPMethod+" "+m.Path] = append(got[m.HTTPMethod+" "+m.Path], "NOT COGNITO")
		}
	}
	return got
}

// The walkthrough's API: GET and POST on the root, DELETE on /{id}, each with
// its own scope, on stage "weather".
func TestWeatherEventsRoutesAndStage(t *testing.T) {
	tmpl := synth(t).weather
	assert.Equal(t, map[string][]string{
		"GET /":        {"weather-api/get"},
		"POST /":       {"weather-api/post"},
		"DELETE /{id}": {"weather-api/delete"},
	}, routesOf(tmpl))
	stage := onlyResource(t, tmpl, "AWS::ApiGateway::Stage")
	assert.Equal(t, stacks.WeatherStageName, stage.Properties["StageName"])
	assert.Contains(t, tmpl.Section("Outputs"), "ApiUrl")
}

// Seed 001: every path and method, all behind default/default.
func TestThirdPartyProxyRoutes(t *testing.T) {
	for name, tmpl := range map[string]cdktest.Template{"prefix": synth(t).proxy, "custom domain": synth(t).proxyCustomDomain} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, map[string][]string{
				"ANY /":         {"default/default"},
				"ANY /{proxy+}": {"default/default"},
			}, routesOf(tmpl))
		})
	}
}

// The events table: on demand, point-in-time recovery, kept on delete.
func TestEventsTable(t *testing.T) {
	table := onlyResource(t, synth(t).weather, "AWS::DynamoDB::Table")
	assert.Equal(t, "PAY_PER_REQUEST", table.Properties["BillingMode"])
	assert.Equal(t, map[string]any{"PointInTimeRecoveryEnabled": true}, table.Properties["PointInTimeRecoverySpecification"])
	assert.Equal(t, []any{map[string]any{"AttributeName": "id", "KeyType": "HASH"}}, table.Properties["KeySchema"])
	assert.Equal(t, true, table.Properties["DeletionProtectionEnabled"])
	assert.Equal(t, "Retain", table.Raw["DeletionPolicy"])
}

// The function may call exactly the three DynamoDB actions the store uses,
// on its own table only, and finds the table through TABLE_NAME.
func TestFunctionMayOnlyUseItsTable(t *testing.T) {
	s := synth(t)
	tableID := cdktest.LogicalID(s.weatherStack.Stack, s.weatherStack.Service.Table.Node().DefaultChild().(awscdk.CfnElement))
	var dynamo []map[string]any
	for _, policy := range s.weather.Resources("AWS::IAM::Policy") {
		for _, st := range policy.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			statement := st.(map[string]any)
			if actions, ok := statement["Action"].([]any); ok && strings.HasPrefix(actions[0].(string), "dynamodb:") {
				dynamo = append(dynamo, statement)
			}
		}
	}
	require.Len(t, dynamo, 1)
	assert.ElementsMatch(t, []any{"dynamodb:PutItem", "dynamodb:Scan", "dynamodb:DeleteItem"}, dynamo[0]["Action"])
	assert.Equal(t, []any{map[string]any{"Fn::GetAtt": []any{tableID, "Arn"}}}, dynamo[0]["Resource"])

	fnID := cdktest.LogicalID(s.weatherStack.Stack, s.weatherStack.Service.Function.Function.Node().DefaultChild().(awscdk.CfnElement))
	env := s.weather.Resource(fnID)["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	assert.Equal(t, map[string]any{"Ref": tableID}, env["TABLE_NAME"])
	assert.Contains(t, env, "SCOPEGATE_ROUTES")
}
