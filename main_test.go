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

func appWithContext(value any) awscdk.App {
	ctx := map[string]any{}
	if value != nil {
		ctx["scopegate"] = value
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
}

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
	assert.Contains(t, err.Error(), "scopegate.weatherEvents.clients: 1000 clients plus the stack's own 1 is 1001, over Cognito's quota of 1000 app clients per user pool: remove clients, or raise quotas.appClientsPerPool")
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
// key that holds it; nothing panics past synth.
func TestSynthNamesTheConfigKeyOfEveryBadValue(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config any
		want   []string
	}{
		{"undeclared scope", map[string]any{"weatherEvents": map[string]any{"clients": []any{
			map[string]any{"name": "cleaner", "scopes": []any{"weather-api/get", "weather-api/gett"}},
		}}}, []string{`scopegate.weatherEvents.clients[0].scopes[1]: scope "weather-api/gett" is not declared by resource server "weather-api" (declared: get, post, delete)`}},
		{"token lifetime out of range and a standard scope", map[string]any{"thirdPartyProxy": map[string]any{"clients": []any{
			map[string]any{"name": "partner", "scopes": []any{"default/default"}},
			map[string]any{"name": "slow", "scopes": []any{"openid"}, "accessTokenValidityMinutes": 2000},
		}}}, []string{
			"scopegate.thirdPartyProxy.clients[1].accessTokenValidityMinutes: 2000 is outside the 5m0s to 24h0m0s Cognito accepts (5 to 1440 minutes)",
			`scopegate.thirdPartyProxy.clients[1].scopes[0]: scope "openid" is a standard OpenID Connect scope`,
		}},
		{"duplicate and invalid names", map[string]any{"weatherEvents": map[string]any{"clients": []any{
			map[string]any{"name": "Weather-Service", "scopes": []any{"weather-api/get"}},
			map[string]any{"name": "bad name", "scopes": []any{"weather-api/get"}},
			map[string]any{"name": "empty"},
		}}}, []string{
			`scopegate.weatherEvents.clients[0].name: client name "Weather-Service" is already used by the stack's own client`,
			`scopegate.weatherEvents.clients[1].name: "bad name" must start with a letter or digit`,
			"scopegate.weatherEvents.clients[2].scopes: is empty",
		}},
		{"more clients than the quota", map[string]any{"quotas": map[string]any{"appClientsPerPool": 2}, "weatherEvents": map[string]any{"clients": []any{
			map[string]any{"name": "a", "scopes": []any{"weather-api/get"}},
			map[string]any{"name": "b", "scopes": []any{"weather-api/get"}},
		}}}, []string{"scopegate.weatherEvents.clients: 2 clients plus the stack's own 1 is 3, over Cognito's quota of 2 app clients per user pool: remove clients, or raise quotas.appClientsPerPool"}},
		{"bad tiers", map[string]any{"quotas": map[string]any{"usagePlansPerRegion": 1}, "thirdPartyProxy": map[string]any{
			"tiers": []any{
				map[string]any{"name": "gold", "rateLimit": 20, "burstLimit": 200, "quota": map[string]any{"limit": 10, "period": "YEAR"}},
				map[string]any{"name": "bronze", "rateLimit": 20000, "burstLimit": 10},
			},
			"defaultTier": "silver",
			"clients":     []any{map[string]any{"name": "partner", "scopes": []any{"default/default"}, "tier": "platinum"}},
		}}, []string{
			"scopegate.thirdPartyProxy.tiers[0].quota.period: \"YEAR\" must be DAY, WEEK or MONTH",
			"scopegate.thirdPartyProxy.tiers[1].rateLimit: 20000 must be more than 0 and at most 10000 requests per second",
			"scopegate.thirdPartyProxy.tiers[0].burstLimit: 200 is more than the stage's burst of 100 for all clients together: no client could reach it",
			"scopegate.thirdPartyProxy.tiers: 2 tiers, each an API Gateway usage plan, is over the quota of 1 usage plans per account and region: remove tiers, or raise quotas.usagePlansPerRegion",
			`scopegate.thirdPartyProxy.defaultTier: "silver" is not one of scopegate.thirdPartyProxy.tiers (gold, bronze)`,
			`scopegate.thirdPartyProxy.clients[0].tier: "platinum" is not one of the declared tiers (gold, bronze)`,
		}},
		{"token budget share", map[string]any{"tokenBudget": map[string]any{"share": 1.5}}, []string{
			"scopegate.tokenBudget.share: 1.5 must be more than 0 and at most 1",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = synth(synthApp(t, tc.config)) })
			require.Error(t, err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
			assert.NotContains(t, err.Error(), "goroutine")
		})
	}
}

func TestReadConfigFromCdkJSONObject(t *testing.T) {
	cfg, err := readConfig(appWithContext(map[string]any{
		"disposable":    true,
		"weatherEvents": map[string]any{"domainPrefix": "weather-prod"},
		"thirdPartyProxy": map[string]any{"customDomain": map[string]any{
			"domainName": "auth.example.com", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
			"hostedZoneId": "Z1", "hostedZoneName": "example.com",
		}},
	}))
	require.NoError(t, err)
	assert.True(t, cfg.Disposable)
	assert.Equal(t, "weather-prod", cfg.WeatherEvents.DomainPrefix)
	require.NotNil(t, cfg.ThirdPartyProxy.CustomDomain)
	assert.Equal(t, "auth.example.com", cfg.ThirdPartyProxy.CustomDomain.DomainName)
	assert.Equal(t, "Z1", cfg.ThirdPartyProxy.CustomDomain.HostedZoneID)
}

// `cdk synth -c scopegate='{...}'` hands the value over as a JSON string.
func TestReadConfigFromCommandLineString(t *testing.T) {
	cfg, err := readConfig(appWithContext(`{"thirdPartyProxy":{"domainPrefix":"partners-auth"}}`))
	require.NoError(t, err)
	assert.Equal(t, "partners-auth", cfg.ThirdPartyProxy.DomainPrefix)
}

func TestReadConfigWithoutContextIsDefault(t *testing.T) {
	cfg, err := readConfig(appWithContext(nil))
	require.NoError(t, err)
	assert.Equal(t, config{}, cfg)
}

// Every configuration mistake is one line naming its cdk.json key, in the
// configuration's words: an unknown key with the nearest known one, a value
// of the wrong kind, a zero where a default was meant, and a value the
// constructs would refuse, by their own rule.
func TestReadConfigNamesTheKeyOfEveryMistake(t *testing.T) {
	for _, tc := range []struct {
		name   string
		config any
		want   []string
	}{
		{"a misspelt key", map[string]any{"weatherEvents": map[string]any{"domainprefx": "x"}},
			[]string{`scopegate.weatherEvents: unknown key "domainprefx"; did you mean "domainPrefix"?`}},
		{"clients written as client", `{"weatherEvents": {"client": []}}`,
			[]string{`scopegate.weatherEvents: unknown key "client"; did you mean "clients"?`}},
		{"a key nothing is near", `{"colour": "blue"}`,
			[]string{`scopegate: unknown key "colour" (known keys: apiGatewayCloudWatchRoleStack, disposable,`}},
		{"a string for a boolean", `{"disposable": "yes"}`,
			[]string{`scopegate.disposable: must be true or false, not the string "yes"`}},
		{"a string for a number of minutes", `{"weatherEvents": {"clients": [{"name": "x", "scopes": ["weather-api/get"], "accessTokenValidityMinutes": "60"}]}}`,
			[]string{`scopegate.weatherEvents.clients[0].accessTokenValidityMinutes: must be a whole number, not the string "60"`}},
		{"a fraction of a day", `{"rotation": {"intervalDays": 1.5}}`,
			[]string{`scopegate.rotation.intervalDays: must be a whole number, not the number 1.5`}},
		{"a negative interval", `{"rotation": {"intervalDays": -1}}`,
			[]string{`scopegate.rotation.intervalDays: -1 must be at least 1 (leave the key out for the default)`}},
		{"an overlap of zero", `{"rotation": {"overlapHours": 0}}`,
			[]string{`scopegate.rotation.overlapHours: 0 must be at least 1 (leave the key out for the default)`}},
		{"an interval past the limit, an overlap the default cannot fit", `{"rotation": {"intervalDays": 2000}}`,
			[]string{`scopegate.rotation.intervalDays: 2000 days must be a whole number of days from 1 to 1000`}},
		{"an overlap as long as the interval", `{"rotation": {"intervalDays": 7}}`,
			[]string{`scopegate.rotation.overlapHours: 168 hours must be a whole number of hours, at least one, and shorter than the interval between rotations (rotation.intervalDays: 168h0m0s)`}},
		{"two mistakes, two lines", `{"disposable": 1, "tokenBudget": {"shar": 0.5}}`,
			[]string{"scopegate.disposable: must be true or false, not the number 1\nscopegate.tokenBudget: unknown key \"shar\"; did you mean \"share\"?"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readConfig(appWithContext(tc.config))
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "Go struct")
			assert.NotContains(t, err.Error(), "json:")
		})
	}
}

func TestReadConfigChecksTheCloudWatchRoleStack(t *testing.T) {
	cfg, err := readConfig(appWithContext(map[string]any{"apiGatewayCloudWatchRoleStack": "WeatherEvents"}))
	require.NoError(t, err)
	assert.Equal(t, "WeatherEvents", cfg.APIGatewayCloudWatchRoleStack)
	_, err = readConfig(appWithContext(map[string]any{"apiGatewayCloudWatchRoleStack": "Weather"}))
	assert.ErrorContains(t, err, `scopegate.apiGatewayCloudWatchRoleStack: "Weather" names no stack (WeatherEvents or ThirdPartyProxy)`)
}
