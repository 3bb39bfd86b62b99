package test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
	"github.com/scopegate/scopegate/routetable"
	"github.com/scopegate/scopegate/stacks"
)

func onlyResource(t *testing.T, tmpl cdktest.Template, cfnType string) cdktest.Resource {
	t.Helper()
	rs := tmpl.Resources(cfnType)
	require.Len(t, rs, 1, cfnType)
	return rs[0]
}

func output(t *testing.T, c *configuration, key string) any {
	t.Helper()
	out, ok := c.template.Section("Outputs")[key].(map[string]any)
	require.True(t, ok, "output %s is missing", key)
	return out["Value"]
}

// The walkthrough's resource server: weather-api with get, post and delete.
func TestWeatherEventsDeclaresWeatherAPIScopes(t *testing.T) {
	server := onlyResource(t, all(t)["WeatherEvents"].template, "AWS::Cognito::UserPoolResourceServer")
	assert.Equal(t, "weather-api", server.Properties["Identifier"])
	var names []string
	for _, s := range server.Properties["Scopes"].([]any) {
		names = append(names, s.(map[string]any)["ScopeName"].(string))
	}
	assert.Equal(t, []string{"get", "post", "delete"}, names)
}

func TestWeatherEventsStageIsWeather(t *testing.T) {
	stage := onlyResource(t, all(t)["WeatherEvents"].template, "AWS::ApiGateway::Stage")
	assert.Equal(t, stacks.WeatherStageName, stage.Properties["StageName"])
}

// The access policy a deployed stack promises, as its outputs say: the
// service client may GET and POST but not DELETE (the seed's "unavailable
// scope"); with more clients, each gets what its scopes open.
func TestAccessPolicyOutput(t *testing.T) {
	for name, want := range map[string]map[string]map[string]bool{
		"WeatherEvents": {stacks.ServiceClientName: {"GET /": true, "POST /": true, "GET /{id}": true, "DELETE /{id}": false}},
		"WeatherEventsClients": {
			stacks.ServiceClientName: {"GET /": true, "POST /": true, "GET /{id}": true, "DELETE /{id}": false},
			"reporting":              {"GET /": true, "POST /": false, "GET /{id}": true, "DELETE /{id}": false},
			"janitor":                {"GET /": true, "POST /": false, "GET /{id}": true, "DELETE /{id}": true},
			"retired":                {"GET /": false, "POST /": false, "GET /{id}": false, "DELETE /{id}": false},
		},
		"ThirdPartyProxy": {stacks.ThirdPartyClientName: {"ANY /": true, "ANY /{proxy+}": true}},
	} {
		t.Run(name, func(t *testing.T) {
			c := all(t)[name]
			var policy routetable.AccessPolicy
			require.NoError(t, json.Unmarshal([]byte(output(t, c, "AccessPolicy").(string)), &policy))
			assert.Equal(t, c.routes, policy.Routes)
			got := map[string]map[string]bool{}
			tiers := map[string]string{}
			for _, record := range clientRecords(t, c) {
				got[record.Name] = policy.Opens(record.Scopes)
				if record.Suspended { // its scopes open nothing while it is
					for route := range got[record.Name] {
						got[record.Name][route] = false
					}
				}
				if record.Tier != "" {
					tiers[record.Name] = record.Tier
					assert.Contains(t, policy.Tiers, record.Tier, "the access policy describes every tier a client is in")
				}
			}
			assert.Equal(t, want, got)
			if c.tiers == nil {
				assert.Empty(t, tiers)
				assert.Empty(t, policy.Tiers)
			} else {
				assert.Equal(t, c.tiers, tiers)
				assert.Equal(t, map[string]routetable.RateLimit{
					"gold":   {RateLimit: 20, BurstLimit: 40, QuotaLimit: 1000000, QuotaPeriod: "MONTH"},
					"bronze": {RateLimit: 5, BurstLimit: 10},
				}, policy.Tiers)
			}
		})
	}
}

// clientRecords resolves the AuthClients output the way CloudFormation will:
// each client stack's Clients output, joined into one JSON list.
func clientRecords(t *testing.T, c *configuration) []contract.ClientRecord {
	t.Helper()
	var parts []string
	for _, id := range sortedKeys(c.clientTemplates) {
		value := c.clientTemplates[id].Section("Outputs")["Clients"].(map[string]any)["Value"]
		parts = append(parts, resolveJoin(t, value))
	}
	var records []contract.ClientRecord
	require.NoError(t, json.Unmarshal([]byte("["+strings.Join(parts, ",")+"]"), &records))
	return records
}

// resolveJoin evaluates an Fn::Join of strings and Refs, writing each Ref as
// "<ref:LogicalId>".
func resolveJoin(t *testing.T, v any) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if ref, ok := v["Ref"].(string); ok {
			return "<ref:" + ref + ">"
		}
		join, ok := v["Fn::Join"].([]any)
		require.True(t, ok, "cannot resolve %v", v)
		var parts []string
		for _, p := range join[1].([]any) {
			parts = append(parts, resolveJoin(t, p))
		}
		return strings.Join(parts, join[0].(string))
	}
	t.Fatalf("cannot resolve %v", v)
	return ""
}

// Everything the walkthrough (docs/deploying.md) reads after `cdk deploy`: where the
// API and the token endpoint are, and one list of the clients with their
// ids, secrets and scopes, however many there are.
func TestOutputsAUserNeeds(t *testing.T) {
	each(t, func(t *testing.T, c *configuration) {
		assert.Equal(t, c.stack.Resolve(c.api.URL), output(t, c, "ApiUrl"))
		assert.Equal(t, c.stack.Resolve(c.auth.TokenURL), output(t, c, "AuthTokenUrl"))
		assert.Len(t, c.template.Section("Outputs"), 8, "ApiUrl, AccessPolicy, AccessLogGroup, AuthTokenUrl, AuthClients, AuthUserPoolId, AuthSuspendedClientsTable, and the RestApi's own endpoint")
		assert.Equal(t, c.stack.Resolve(c.api.AccessLogs.LogGroupName()), output(t, c, "AccessLogGroup"))
		assert.Equal(t, c.stack.Resolve(c.auth.SuspendedClients.TableName()), output(t, c, "AuthSuspendedClientsTable"))
		records := clientRecords(t, c)
		require.Len(t, records, len(c.clients))
		for _, r := range records {
			client := c.auth.Client(r.Name)
			require.NotNil(t, client, r.Name)
			assert.Equal(t, c.clients[r.Name], r.Scopes, r.Name)
			assert.Equal(t, "<ref:"+cdktest.LogicalID(client.Stack, client.UserPoolClient())+">", r.ClientID, r.Name)
			assert.Equal(t, "<ref:"+cdktest.LogicalID(client.Stack, client.CfnSecret())+">", r.SecretArn, r.Name)
		}
	})
}

func TestDerivedDomainPrefixFromStackName(t *testing.T) {
	domain := onlyResource(t, all(t)["WeatherEvents"].template, "AWS::Cognito::UserPoolDomain")
	join := domain.Properties["Domain"].(map[string]any)["Fn::Join"].([]any)
	assert.Equal(t, "weatherevents-", join[1].([]any)[0])
}

func TestThirdPartyProxyCustomDomain(t *testing.T) {
	c := all(t)["ThirdPartyProxyCustomDomain"]
	domain := onlyResource(t, c.template, "AWS::Cognito::UserPoolDomain")
	assert.Equal(t, partnerDomain.DomainName, domain.Properties["Domain"])
	assert.Equal(t, partnerDomain.CertificateArn, domain.Properties["CustomDomainConfig"].(map[string]any)["CertificateArn"])
	record := onlyResource(t, c.template, "AWS::Route53::RecordSet")
	assert.Equal(t, "A", record.Properties["Type"])
	assert.Equal(t, partnerDomain.DomainName+".", record.Properties["Name"])
	assert.Equal(t, partnerDomain.HostedZoneID, record.Properties["HostedZoneId"])
	assert.Equal(t, "https://auth.partners.example.com/oauth2/token", output(t, c, "AuthTokenUrl"))
}

// The events table: on demand, point-in-time recovery, kept on delete; the
// idempotency-keys table: on demand, TTL on expiresAt; the suspended-clients
// table as the events table. The function may call exactly the store's
// actions on the first, the keys' on the second and GetItem on the third,
// and nothing else.
func TestTablesAndTheirGrants(t *testing.T) {
	each(t, func(t *testing.T, c *configuration) {
		tables := map[string]cdktest.Resource{}
		for _, r := range c.template.Resources("AWS::DynamoDB::Table") {
			tables[r.Properties["KeySchema"].([]any)[0].(map[string]any)["AttributeName"].(string)] = r
		}
		require.Len(t, tables, 3)
		events, keys, suspended := tables["id"], tables["key"], tables["clientId"]
		for _, table := range []cdktest.Resource{events, suspended} {
			assert.Equal(t, "PAY_PER_REQUEST", table.Properties["BillingMode"])
			assert.Equal(t, map[string]any{"PointInTimeRecoveryEnabled": true}, table.Properties["PointInTimeRecoverySpecification"])
			assert.Equal(t, true, table.Properties["DeletionProtectionEnabled"])
			assert.Equal(t, "Retain", table.Raw["DeletionPolicy"])
		}
		assert.Equal(t, "PAY_PER_REQUEST", events.Properties["BillingMode"])
		assert.Equal(t, map[string]any{"PointInTimeRecoveryEnabled": true}, events.Properties["PointInTimeRecoverySpecification"])
		assert.Equal(t, true, events.Properties["DeletionProtectionEnabled"])
		assert.Equal(t, "Retain", events.Raw["DeletionPolicy"])
		assert.Equal(t, "PAY_PER_REQUEST", keys.Properties["BillingMode"])
		assert.Equal(t, map[string]any{"AttributeName": "expiresAt", "Enabled": true}, keys.Properties["TimeToLiveSpecification"])

		grants := map[string][]string{}
		for _, policy := range c.template.Resources("AWS::IAM::Policy") {
			for _, st := range policy.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				if actions := asStrings(st.(map[string]any)["Action"]); len(actions) > 0 && strings.HasPrefix(actions[0], "dynamodb:") {
					resource := st.(map[string]any)["Resource"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
					grants[resource] = append(grants[resource], actions...)
				}
			}
		}
		require.Len(t, grants, 3)
		assert.ElementsMatch(t, []string{"dynamodb:GetItem"}, grants[suspended.LogicalID])
		assert.ElementsMatch(t, []string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:DeleteItem"}, grants[events.LogicalID])
		assert.ElementsMatch(t, []string{"dynamodb:PutItem", "dynamodb:GetItem"}, grants[keys.LogicalID])

		env := c.template.Resource(c.logicalID(c.function.Function))["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
		assert.Equal(t, map[string]any{"Ref": events.LogicalID}, env["TABLE_NAME"])
		assert.Equal(t, map[string]any{"Ref": keys.LogicalID}, env["IDEMPOTENCY_TABLE_NAME"])
		assert.Regexp(t, `^/opt/scopegate/routes-[0-9a-f]{16}\.json$`, env[routetable.FileEnvVar])
		assert.Equal(t, map[string]any{"Ref": suspended.LogicalID}, env[contract.EnvSuspendedClientsTable])
		assert.NotContains(t, env, contract.EnvSuspendedClients, "no client is suspended in configuration")
	})
}

// Props a construct refuses stop the stack before anything is created in
// it (configuration's own mistakes are config's tests).
func TestBadPropsAreRefusedBeforeAnythingIsCreated(t *testing.T) {
	app := cdktest.NewApp()
	msg := cdktest.Recover(func() {
		stacks.NewThirdPartyProxyStack(app, "BadDomain", &stacks.ThirdPartyProxyStackProps{
			CustomDomain: &stacks.CustomDomain{DomainName: "auth.example.com", CertificateArn: "not-an-arn"},
		})
	})
	assert.Contains(t, msg, `stacks: CustomDomain.CertificateArn "not-an-arn" is not an ACM certificate ARN`)
	assert.Contains(t, msg, "stacks: CustomDomain.HostedZoneID is required")
	assert.Nil(t, app.Node().TryFindChild(jsii.String("BadDomain")))

	msg = cdktest.Recover(func() {
		stacks.NewWeatherEventsStack(app, "BadTiers", &stacks.WeatherEventsStackProps{ServiceOptions: stacks.ServiceOptions{
			Tiers:       []m2mauth.Tier{{Name: "gold", RateLimit: -1, BurstLimit: 0}},
			DefaultTier: "silver",
		}})
	})
	assert.Contains(t, msg, `m2mauth: Tiers[0].RateLimit -1 must be more than 0`)
	assert.Contains(t, msg, `m2mauth: Tiers[0].BurstLimit 0 must be from 1 to 5000`)
	assert.Contains(t, msg, `m2mauth: DefaultTier "silver" is not one of the declared Tiers (gold)`)
	assert.Len(t, *app.Node().TryFindChild(jsii.String("BadTiers")).Node().Children(), 0)
}
