package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/awsfake"
	"github.com/scopegate/scopegate/internal/verify"
)

// writeAssembly writes a cloud assembly shaped like a scopegate synth: a
// stack with a user pool, a logging stage, a function with reserved
// concurrency, a usage plan, and a nested stack holding the app clients and
// API keys (clients of them).
func writeAssembly(t *testing.T, clients int, extra map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	manifest := map[string]any{"version": "48.0.0", "artifacts": map[string]any{
		"WeatherEvents": map[string]any{"type": "aws:cloudformation:stack", "properties": map[string]any{
			"templateFile": "WeatherEvents.template.json", "requiresBootstrapStackVersion": 6,
			"bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"}},
		"Tree": map[string]any{"type": "cdk:tree", "properties": map[string]any{"file": "tree.json"}},
	}}
	top := map[string]any{
		"Auth55780030":                  map[string]any{"Type": "AWS::Cognito::UserPool", "Properties": map[string]any{}},
		"AuthWeatherApiResourceServer1": map[string]any{"Type": "AWS::Cognito::UserPoolResourceServer", "Properties": map[string]any{"UserPoolId": map[string]any{"Ref": "Auth55780030"}}},
		"ServiceAD644FD0":               map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{"ReservedConcurrentExecutions": 10}},
		"AuthRotation0CD6BBCE":          map[string]any{"Type": "AWS::Lambda::Function", "Properties": map[string]any{"ReservedConcurrentExecutions": 2}},
		"ApiDeploymentStageweather":     map[string]any{"Type": "AWS::ApiGateway::Stage", "Properties": map[string]any{"AccessLogSetting": map[string]any{"Format": "{}"}, "MethodSettings": []any{map[string]any{"LoggingLevel": "ERROR"}}}},
		"ApiGoldPlan":                   map[string]any{"Type": "AWS::ApiGateway::UsagePlan", "Properties": map[string]any{}},
		"AuthClients01NestedStackResource": map[string]any{"Type": "AWS::CloudFormation::Stack",
			"Properties": map[string]any{"Parameters": map[string]any{"referencetoWeatherEventsAuthRef": map[string]any{"Ref": "Auth55780030"}}},
			"Metadata":   map[string]any{"aws:asset:path": "WeatherEventsAuthClients01.nested.template.json"}},
	}
	for k, v := range extra {
		top[k] = v
	}
	nested := map[string]any{}
	for i := 0; i < clients; i++ {
		id := "Client" + strings.Repeat("x", i+1)
		nested[id] = map[string]any{"Type": "AWS::Cognito::UserPoolClient", "Properties": map[string]any{"UserPoolId": map[string]any{"Ref": "referencetoWeatherEventsAuthRef"}}}
		nested[id+"Key"] = map[string]any{"Type": "AWS::ApiGateway::ApiKey", "Properties": map[string]any{}}
	}
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
	write("manifest.json", manifest)
	write("WeatherEvents.template.json", map[string]any{"Resources": top, "Parameters": map[string]any{"BootstrapVersion": map[string]any{"Type": "AWS::SSM::Parameter::Value<String>"}}})
	write("WeatherEventsAuthClients01.nested.template.json", map[string]any{"Resources": nested})
	return dir
}

// account plays a ready account: bootstrapped at version 27, an API Gateway
// CloudWatch role, 1,000 concurrency with 900 unreserved, default quotas
// (Service Quotas lists the Cognito ones), 2 usage plans and 3 API keys,
// and WeatherEvents not deployed yet.
func account(t *testing.T) *awsfake.Server {
	f := awsfake.New()
	t.Cleanup(f.Close)
	f.Handle("cloudformation", "DescribeStacks", func(r awsfake.Request) (any, error) {
		if r.Params.Get("StackName") != "CDKToolkit" {
			return nil, &awsfake.Error{Code: "ValidationError", Message: "Stack with id " + r.Params.Get("StackName") + " does not exist"}
		}
		return `<Stacks><member><StackName>CDKToolkit</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs><member><OutputKey>BootstrapVersion</OutputKey><OutputValue>27</OutputValue></member></Outputs></member></Stacks>`, nil
	})
	f.Handle("cloudformation", "ListStackResources", func(r awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Code: "ValidationError", Message: "Stack with id " + r.Params.Get("StackName") + " does not exist"}
	})
	f.Reply("apigateway", "GET /account", map[string]any{"cloudwatchRoleArn": "arn:aws:iam::123456789012:role/apigw-logs"})
	f.Reply("lambda", "GET /2016-08-19/account-settings", map[string]any{"AccountLimit": map[string]any{"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 900}})
	f.Handle("servicequotas", "ListServiceQuotas", func(r awsfake.Request) (any, error) {
		if r.String("ServiceCode") != "cognito-idp" {
			return map[string]any{"Quotas": []any{}}, nil
		}
		return map[string]any{"Quotas": []any{
			map[string]any{"QuotaName": "App clients per user pool", "QuotaCode": "L-AAAAAAAA", "Value": 1000.0},
			map[string]any{"QuotaName": "Resource servers per user pool", "QuotaCode": "L-BBBBBBBB", "Value": 25.0},
		}}, nil
	})
	plans := []any{map[string]any{"id": "plan1"}, map[string]any{"id": "plan2"}}
	f.Handle("apigateway", "GET /usageplans", func(r awsfake.Request) (any, error) {
		page, next := awsfake.Page(plans, r.Params.Get("position"), 1, 1) // one per page: the paginator must follow position
		out := map[string]any{"item": page}
		if next != "" {
			out["position"] = next
		}
		return out, nil
	})
	f.Reply("apigateway", "GET /apikeys", map[string]any{"item": []any{map[string]any{"id": "k1"}, map[string]any{"id": "k2"}, map[string]any{"id": "k3"}}})
	return f
}

func preflight(f *awsfake.Server) *verify.Preflight {
	cfg := f.Config()
	return &verify.Preflight{
		APIGateway: apigateway.NewFromConfig(cfg), Lambda: lambda.NewFromConfig(cfg),
		CloudFormation: cloudformation.NewFromConfig(cfg), ServiceQuotas: servicequotas.NewFromConfig(cfg),
		SSM: ssm.NewFromConfig(cfg),
	}
}

func runPreflight(t *testing.T, f *awsfake.Server, dir string) (*verify.Checks, map[string]verify.Check) {
	t.Helper()
	a, err := verify.ReadAssembly(dir, nil)
	require.NoError(t, err)
	checks := preflight(f).Run(context.Background(), a)
	by := map[string]verify.Check{}
	for _, c := range checks.Checks {
		by[c.Name] = c
	}
	return checks, by
}

func TestPreflightReady(t *testing.T) {
	f := account(t)
	checks, by := runPreflight(t, f, writeAssembly(t, 3, nil))
	var out strings.Builder
	require.NoError(t, checks.WriteTable(&out))
	assert.Equal(t, 0, checks.ExitCode(), out.String())
	for _, name := range []string{"cdk-bootstrap", "apigateway-cloudwatch-role", "lambda-reserved-concurrency", "cognito-app-clients-per-pool", "cognito-resource-servers-per-pool", "apigateway-usage-plans", "apigateway-api-keys"} {
		assert.Equal(t, verify.StatusOK, by[name].Status, "%s: %+v", name, by[name])
	}
	assert.Contains(t, by["cognito-app-clients-per-pool"].Seen, "WeatherEvents/Auth55780030: 3", "clients of the nested stack are counted in the pool they reference through the nested stack's parameter")
	assert.Contains(t, by["apigateway-usage-plans"].Seen, "2 there (not the assembly's) + 1 from the assembly = 3")
	assert.Contains(t, by["apigateway-api-keys"].Seen, "3 there (not the assembly's) + 3 from the assembly = 6")
	assert.Contains(t, by["lambda-reserved-concurrency"].Expected, "the assembly reserves 12")
	assert.Contains(t, out.String(), "WeatherEvents preflight: ready to deploy")
}

func TestPreflightWouldFail(t *testing.T) {
	for _, tc := range []struct {
		name, check string
		clients     int
		setup       func(*awsfake.Server)
		fix         string
	}{
		{"no bootstrap", "cdk-bootstrap", 1, func(f *awsfake.Server) {
			f.Fail("cloudformation", "DescribeStacks", &awsfake.Error{Code: "ValidationError", Message: "Stack with id CDKToolkit does not exist"})
		}, "npx cdk bootstrap"},
		{"old bootstrap, version in SSM only", "cdk-bootstrap", 1, func(f *awsfake.Server) {
			f.Reply("cloudformation", "DescribeStacks", `<Stacks><member><StackName>CDKToolkit</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2020-01-01T00:00:00Z</CreationTime></member></Stacks>`)
			f.Reply("ssm", "GetParameter", map[string]any{"Parameter": map[string]any{"Name": "/cdk-bootstrap/hnb659fds/version", "Value": "4"}})
		}, "to upgrade"},
		{"no API Gateway CloudWatch role", "apigateway-cloudwatch-role", 1, func(f *awsfake.Server) {
			f.Reply("apigateway", "GET /account", map[string]any{"throttleSettings": map[string]any{"rateLimit": 10000.0}})
		}, "apiGatewayCloudWatchRoleStack"},
		{"new account with 10 concurrency", "lambda-reserved-concurrency", 1, func(f *awsfake.Server) {
			f.Reply("lambda", "GET /2016-08-19/account-settings", map[string]any{"AccountLimit": map[string]any{"ConcurrentExecutions": 10, "UnreservedConcurrentExecutions": 10}})
		}, "reservedConcurrency"},
		{"app clients over a lowered quota", "cognito-app-clients-per-pool", 3, func(f *awsfake.Server) {
			f.Reply("servicequotas", "ListServiceQuotas", map[string]any{"Quotas": []any{map[string]any{"QuotaName": "App clients per user pool", "Value": 2.0}}})
		}, "over the quota"},
		{"usage plans full", "apigateway-usage-plans", 1, func(f *awsfake.Server) {
			var plans []any
			for i := 0; i < 300; i++ {
				plans = append(plans, map[string]any{"id": "p" + strings.Repeat("x", i%7) + string(rune('a'+i%26))})
			}
			f.Handle("apigateway", "GET /usageplans", func(r awsfake.Request) (any, error) {
				page, next := awsfake.Page(plans, r.Params.Get("position"), 0, 100)
				out := map[string]any{"item": page}
				if next != "" {
					out["position"] = next
				}
				return out, nil
			})
		}, "delete unused ones"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := account(t)
			tc.setup(f)
			checks, by := runPreflight(t, f, writeAssembly(t, tc.clients, nil))
			assert.Equal(t, 1, checks.ExitCode())
			assert.Equal(t, verify.StatusProblem, by[tc.check].Status, "%+v", by[tc.check])
			assert.Contains(t, by[tc.check].Detail, tc.fix)
			var out strings.Builder
			require.NoError(t, checks.WriteTable(&out))
			assert.Contains(t, out.String(), "the deploy would fail")
		})
	}
}

// The assembly's own AWS::ApiGateway::Account makes the account's role
// unnecessary to have beforehand.
func TestPreflightAssemblySetsTheCloudWatchRole(t *testing.T) {
	f := account(t)
	f.Reply("apigateway", "GET /account", map[string]any{})
	_, by := runPreflight(t, f, writeAssembly(t, 1, map[string]any{"ApiAccount": map[string]any{"Type": "AWS::ApiGateway::Account", "Properties": map[string]any{}}}))
	assert.Equal(t, verify.StatusOK, by["apigateway-cloudwatch-role"].Status)
	assert.NotContains(t, f.Called(), "apigateway GET /account")
}

// A stack already deployed: its function holds its reservation already, and
// its usage plan and its pool's API keys are not counted twice.
func TestPreflightCountsADeployedStackOnce(t *testing.T) {
	f := account(t)
	f.Reply("cloudformation", "ListStackResources", `<StackResourceSummaries>
<member><LogicalResourceId>ServiceAD644FD0</LogicalResourceId><PhysicalResourceId>WeatherEvents-Service</PhysicalResourceId><ResourceType>AWS::Lambda::Function</ResourceType><ResourceStatus>CREATE_COMPLETE</ResourceStatus><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp></member>
<member><LogicalResourceId>ApiGoldPlan</LogicalResourceId><PhysicalResourceId>plan2</PhysicalResourceId><ResourceType>AWS::ApiGateway::UsagePlan</ResourceType><ResourceStatus>CREATE_COMPLETE</ResourceStatus><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp></member>
<member><LogicalResourceId>Auth55780030</LogicalResourceId><PhysicalResourceId>eu-west-1_Pool</PhysicalResourceId><ResourceType>AWS::Cognito::UserPool</ResourceType><ResourceStatus>CREATE_COMPLETE</ResourceStatus><LastUpdatedTimestamp>2026-01-01T00:00:00Z</LastUpdatedTimestamp></member>
</StackResourceSummaries>`)
	f.Reply("lambda", "GET /2019-09-30/functions/WeatherEvents-Service/concurrency", map[string]any{"ReservedConcurrentExecutions": 10})
	f.Reply("lambda", "GET /2016-08-19/account-settings", map[string]any{"AccountLimit": map[string]any{"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 102}})
	f.Reply("apigateway", "GET /apikeys", map[string]any{"item": []any{
		map[string]any{"id": "k1", "tags": map[string]any{"scopegate:user-pool": "eu-west-1_Pool"}}, map[string]any{"id": "k2"}}})
	checks, by := runPreflight(t, f, writeAssembly(t, 1, nil))
	assert.Equal(t, 0, checks.ExitCode(), "%+v", checks.Checks)
	assert.Contains(t, by["lambda-reserved-concurrency"].Expected, "unreserved concurrency - 2 newly reserved", "only the rotation function's 2 are new")
	assert.Contains(t, by["apigateway-usage-plans"].Seen, "1 there (not the assembly's) + 1 from the assembly")
	assert.Contains(t, by["apigateway-api-keys"].Seen, "1 there (not the assembly's) + 1 from the assembly")
}

func TestPreflightCannotTell(t *testing.T) {
	for _, tc := range []struct {
		name, check string
		setup       func(*awsfake.Server)
	}{
		{"CloudFormation denied", "cdk-bootstrap", func(f *awsfake.Server) {
			f.Fail("cloudformation", "DescribeStacks", awsfake.AccessDenied(awsfake.Query))
		}},
		{"API Gateway denied", "apigateway-cloudwatch-role", func(f *awsfake.Server) {
			f.Fail("apigateway", "GET /account", awsfake.AccessDenied(awsfake.RESTJSON))
		}},
		{"Lambda denied", "lambda-reserved-concurrency", func(f *awsfake.Server) {
			f.Fail("lambda", "GET /2016-08-19/account-settings", awsfake.AccessDenied(awsfake.RESTJSON))
		}},
		{"API keys denied", "apigateway-api-keys", func(f *awsfake.Server) {
			f.Fail("apigateway", "GET /apikeys", awsfake.AccessDenied(awsfake.RESTJSON))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := account(t)
			tc.setup(f)
			checks, by := runPreflight(t, f, writeAssembly(t, 1, nil))
			assert.Equal(t, 2, checks.ExitCode())
			assert.Equal(t, verify.StatusUnknown, by[tc.check].Status)
			assert.Contains(t, by[tc.check].Detail, "AccessDenied")
		})
	}
}

// Service Quotas denied is no reason to stop: the defaults stand, and the
// line says so.
func TestPreflightFallsBackToDefaultQuotas(t *testing.T) {
	f := account(t)
	f.Fail("servicequotas", "ListServiceQuotas", awsfake.AccessDenied(awsfake.AWSJSON))
	checks, by := runPreflight(t, f, writeAssembly(t, 2, nil))
	assert.Equal(t, 0, checks.ExitCode())
	assert.Contains(t, by["cognito-app-clients-per-pool"].Detail, "default quota 1000")
	assert.Contains(t, by["cognito-resource-servers-per-pool"].Expected, "at most 25 per pool")
}

func TestReadAssembly(t *testing.T) {
	dir := writeAssembly(t, 2, nil)
	a, err := verify.ReadAssembly(dir, []string{"WeatherEvents"})
	require.NoError(t, err)
	require.Len(t, a.Stacks, 1)
	assert.Equal(t, 6, a.Stacks[0].RequiresBootstrap)
	require.Len(t, a.Stacks[0].Templates, 2, "the stack and its nested stack")
	_, err = verify.ReadAssembly(dir, []string{"Nope"})
	assert.ErrorContains(t, err, "has no stack Nope")
	_, err = verify.ReadAssembly(t.TempDir(), nil)
	assert.ErrorContains(t, err, "make synth")
}
