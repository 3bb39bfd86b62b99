package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/budget"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
	"github.com/scopegate/scopegate/internal/verify"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

// synthApp is an app as `cdk synth` builds it, with the project's feature
// flags, writing into a temporary directory; the Lambda's go build is
// skipped.
func synthApp(t *testing.T, value any) awscdk.App {
	ctx := cdktest.ProjectContext()
	ctx["aws:cdk:bundling-stacks"] = []string{}
	if value != nil {
		ctx["scopegate"] = value
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
}

// The default configuration synthesizes within every limit, and the
// preflight reads its assembly as it will deploy: both stacks, their nested
// client stacks, and the bootstrap version they need.
func TestSynthOfTheDefaultConfigurationFitsEveryLimit(t *testing.T) {
	app := synthApp(t, nil)
	require.NoError(t, synth(app))
	a, err := verify.ReadAssembly(*app.Outdir(), nil)
	require.NoError(t, err)
	require.Len(t, a.Stacks, 2)
	for _, s := range a.Stacks {
		assert.GreaterOrEqual(t, s.RequiresBootstrap, 6, s.StackName)
		assert.Greater(t, len(s.Templates), 1, "%s has nested client stacks", s.StackName)
	}
}

// A fresh account: reservedConcurrency 0 reserves nothing for any function
// (the service's and the rotation function), and apiGatewayCloudWatchRoleStack
// makes exactly one stack set the account's API Gateway CloudWatch role,
// which the stages' logging needs ("Set up CloudWatch logging for REST APIs
// in API Gateway", API Gateway developer guide).
func TestAFreshAccountConfiguration(t *testing.T) {
	app := synthApp(t, map[string]any{"reservedConcurrency": 0, "apiGatewayCloudWatchRoleStack": "WeatherEvents"})
	require.NoError(t, synth(app))
	files, err := filepath.Glob(filepath.Join(*app.Outdir(), "*.template.json"))
	require.NoError(t, err)
	functions, accounts := 0, map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var tmpl struct {
			Resources map[string]struct {
				Type       string
				Properties map[string]any
			}
		}
		require.NoError(t, json.Unmarshal(data, &tmpl))
		for id, r := range tmpl.Resources {
			switch r.Type {
			case "AWS::Lambda::Function":
				functions++
				assert.NotContains(t, r.Properties, "ReservedConcurrentExecutions", "%s %s", filepath.Base(f), id)
			case "AWS::ApiGateway::Account":
				accounts[filepath.Base(f)]++
				assert.Contains(t, r.Properties, "CloudWatchRoleArn", id)
			}
		}
	}
	assert.GreaterOrEqual(t, functions, 4, "two services and two rotation functions")
	assert.Equal(t, map[string]int{"WeatherEvents.template.json": 1}, accounts)

	err = synth(synthApp(t, map[string]any{"reservedConcurrency": -1}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "scopegate.reservedConcurrency: -1 must be 0 (reserve none) or positive")
}

// partners declares n clients for the config, each allowed weather-api/get.
func partners(n int) []any {
	clients := make([]any, n)
	for i := range clients {
		clients[i] = map[string]any{"name": fmt.Sprintf("partner-%04d", i), "scopes": []any{"weather-api/get"}}
	}
	return clients
}

// A pool at Cognito's default quota (the stack's own client and 999 more)
// synthesizes, and every template of it stays inside every limit; one client
// more is refused, naming the key and the quota to raise.
func TestSynthOfAFullPool(t *testing.T) {
	app := synthApp(t, map[string]any{"weatherEvents": map[string]any{"clients": partners(999)}})
	require.NoError(t, synth(app))
	dir := *app.Outdir()
	files, err := filepath.Glob(filepath.Join(dir, "*.template.json"))
	require.NoError(t, err)
	clients := 0
	windows := map[string]int{} // rotations per (month, day) of the 90-day cycle
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		usage, err := budget.Count(data)
		require.NoError(t, err)
		clients += usage.ResourcesByType["AWS::Cognito::UserPoolClient"]
		for _, expr := range rotationSchedules(t, data) {
			f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(expr, "cron("), ")"))
			require.Len(t, f, 6, expr)
			windows[f[3]+" "+f[2]]++
		}
		assert.LessOrEqual(t, usage.Resources, 500, f)
		assert.LessOrEqual(t, usage.Outputs, 200, f)
		assert.LessOrEqual(t, usage.Bytes, 1<<20, f)
	}
	assert.Equal(t, 1000+1, clients, "WeatherEvents' 1,000 and ThirdPartyProxy's one")
	// Spread over the interval: 1,001 rotations fall on 84 days of a 3-month
	// cycle (28 days in each of 3 month offsets), about 12 a day, none
	// crowded, instead of all on the day 90 days after the deploy.
	assert.Len(t, windows, 84, "every day of the cycle has rotations")
	for w, n := range windows {
		assert.LessOrEqual(t, n, 30, "month offset and day %s", w)
	}

	err = synth(synthApp(t, map[string]any{"weatherEvents": map[string]any{"clients": partners(1000)}}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "scopegate.weatherEvents.clients: has 1001 clients, over Cognito's quota of 1000 app clients per user pool (quotas.appClientsPerPool, if your account's quota was raised)")
}

// rotationSchedules lists the ScheduleExpression of every rotation schedule
// in a template.
func rotationSchedules(t *testing.T, template []byte) []string {
	t.Helper()
	var tmpl struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				RotationRules struct{ ScheduleExpression string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(template, &tmpl))
	var exprs []string
	for _, r := range tmpl.Resources {
		if r.Type == "AWS::SecretsManager::RotationSchedule" {
			exprs = append(exprs, r.Properties.RotationRules.ScheduleExpression)
		}
	}
	return exprs
}

// A pool of 1,000 clients in rate-limit tiers (five resources each: client,
// secret, rotation schedule, API key, usage plan key) still fits every
// template.
func TestSynthOfAFullTieredPool(t *testing.T) {
	clients := partners(999)
	for i, c := range clients {
		if i%2 == 0 {
			c.(map[string]any)["tier"] = "gold"
		}
	}
	app := synthApp(t, map[string]any{"weatherEvents": map[string]any{
		"clients":     clients,
		"tiers":       []any{map[string]any{"name": "gold", "rateLimit": 20, "burstLimit": 40}, map[string]any{"name": "bronze", "rateLimit": 5, "burstLimit": 10}},
		"defaultTier": "bronze",
	}})
	require.NoError(t, synth(app))
	files, err := filepath.Glob(filepath.Join(*app.Outdir(), "*.template.json"))
	require.NoError(t, err)
	keys := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		usage, err := budget.Count(data)
		require.NoError(t, err)
		keys += usage.ResourcesByType["AWS::ApiGateway::ApiKey"]
		assert.Equal(t, usage.ResourcesByType["AWS::ApiGateway::ApiKey"], usage.ResourcesByType["AWS::ApiGateway::UsagePlanKey"], f)
		assert.LessOrEqual(t, usage.Resources, 500, f)
		assert.LessOrEqual(t, usage.Bytes, 1<<20, f)
	}
	assert.Equal(t, 1000, keys, "one API key per client of WeatherEvents, none in ThirdPartyProxy")
}

// A bad value ends synthesis with one message per problem, each naming the
// key that holds it; nothing panics past synth (config's tests hold the
// messages of every kind of mistake).
func TestSynthNamesTheConfigKeyOfABadValue(t *testing.T) {
	var err error
	require.NotPanics(t, func() {
		err = synth(synthApp(t, map[string]any{"weatherEvents": map[string]any{"clients": []any{
			map[string]any{"name": "cleaner", "scopes": []any{"weather-api/gett"}},
		}}}))
	})
	require.Error(t, err)
	assert.Equal(t, `scopegate.weatherEvents.clients[0].scopes[0]: scope "weather-api/gett" is not declared by resource server "weather-api" (declared: get, post, delete)`, err.Error())
}
