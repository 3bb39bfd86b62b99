package config_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/config"
)

func TestReadConfigFromCdkJSONObject(t *testing.T) {
	cfg, err := config.Read(map[string]any{
		"disposable":    true,
		"weatherEvents": map[string]any{"domainPrefix": "weather-prod"},
		"thirdPartyProxy": map[string]any{"customDomain": map[string]any{
			"domainName": "auth.example.com", "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x",
			"hostedZoneId": "Z1", "hostedZoneName": "example.com",
		}},
	})
	require.NoError(t, err)
	assert.True(t, cfg.Disposable)
	assert.Equal(t, "weather-prod", cfg.WeatherEvents.DomainPrefix)
	require.NotNil(t, cfg.ThirdPartyProxy.CustomDomain)
	assert.Equal(t, "auth.example.com", cfg.ThirdPartyProxy.CustomDomain.DomainName)
	assert.Equal(t, "Z1", cfg.ThirdPartyProxy.CustomDomain.HostedZoneID)
}

// `cdk synth -c scopegate='{...}'` hands the value over as a JSON string.
func TestReadConfigFromCommandLineString(t *testing.T) {
	cfg, err := config.Read(`{"thirdPartyProxy":{"domainPrefix":"partners-auth"}}`)
	require.NoError(t, err)
	assert.Equal(t, "partners-auth", cfg.ThirdPartyProxy.DomainPrefix)
}

func TestReadConfigWithoutContextIsDefault(t *testing.T) {
	cfg, err := config.Read(nil)
	require.NoError(t, err)
	assert.Equal(t, config.Config{}, cfg)
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
			[]string{`scopegate: unknown key "colour" (known keys: apiGatewayCloudWatchRoleStack, dashboard, disposable,`}},
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
			_, err := config.Read(tc.config)
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
	cfg, err := config.Read(map[string]any{"apiGatewayCloudWatchRoleStack": "WeatherEvents"})
	require.NoError(t, err)
	assert.Equal(t, "WeatherEvents", cfg.APIGatewayCloudWatchRoleStack)
	_, err = config.Read(map[string]any{"apiGatewayCloudWatchRoleStack": "Weather"})
	assert.ErrorContains(t, err, `scopegate.apiGatewayCloudWatchRoleStack: "Weather" names no stack (WeatherEvents or ThirdPartyProxy)`)
}

// A bad value ends synthesis with one message per problem, each naming the
// key that holds it; nothing panics past synth.
func TestStackPropsNameTheKeyOfEveryBadValue(t *testing.T) {
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
			"scopegate.thirdPartyProxy.clients[1].accessTokenValidityMinutes: 2000 is outside the range Cognito accepts, 5 to 1440 minutes",
			`scopegate.thirdPartyProxy.clients[1].scopes[0]: scope "openid" is a standard OpenID Connect scope`,
		}},
		{"duplicate and invalid names", map[string]any{"weatherEvents": map[string]any{"clients": []any{
			map[string]any{"name": "Weather-Service", "scopes": []any{"weather-api/get"}},
			map[string]any{"name": "bad name", "scopes": []any{"weather-api/get"}},
			map[string]any{"name": "empty"},
		}}}, []string{
			`scopegate.weatherEvents.clients[0].name: "Weather-Service" is already used by the stack's own client`,
			`scopegate.weatherEvents.clients[1].name: "bad name" must start with a letter or digit`,
			"scopegate.weatherEvents.clients[2].scopes: is empty: a client-credentials client needs at least one custom scope",
		}},
		{"more clients than the quota", map[string]any{"quotas": map[string]any{"appClientsPerPool": 2}, "weatherEvents": map[string]any{"clients": []any{
			map[string]any{"name": "a", "scopes": []any{"weather-api/get"}},
			map[string]any{"name": "b", "scopes": []any{"weather-api/get"}},
		}}}, []string{"scopegate.weatherEvents.clients: has 3 clients, over Cognito's quota of 2 app clients per user pool (quotas.appClientsPerPool, if your account's quota was raised)"}},
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
			"scopegate.thirdPartyProxy.tiers: has 2 tiers, over API Gateway's quota of 1 usage plans per account and region (quotas.usagePlansPerRegion, if your account's quota was raised)",
			`scopegate.thirdPartyProxy.defaultTier: "silver" is not one of the declared tiers (gold, bronze)`,
			`scopegate.thirdPartyProxy.clients[0].tier: "platinum" is not one of the declared tiers (gold, bronze)`,
		}},
		{"custom domain", map[string]any{"thirdPartyProxy": map[string]any{"customDomain": map[string]any{"domainName": "auth.example.com", "certificateArn": "not-an-arn"}}}, []string{
			`scopegate.thirdPartyProxy.customDomain.certificateArn: "not-an-arn" is not an ACM certificate ARN`,
			"scopegate.thirdPartyProxy.customDomain.hostedZoneId: is required",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Read(tc.config)
			require.NoError(t, err)
			_, _, err = cfg.StackProps()
			require.Error(t, err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
			assert.NotContains(t, err.Error(), "goroutine")
		})
	}
}

func TestStackPropsCarrySuspensionAndDashboardSwitch(t *testing.T) {
	cfg, err := config.Read(`{"dashboard": {"disabled": true}, "weatherEvents": {"clients": [
		{"name": "gone", "scopes": ["weather-api/get"], "suspended": true},
		{"name": "here", "scopes": ["weather-api/get"]}
	]}}`)
	require.NoError(t, err)
	weather, proxy, err := cfg.StackProps()
	require.NoError(t, err)
	assert.True(t, weather.NoDashboard)
	assert.True(t, proxy.NoDashboard)
	require.Len(t, weather.Clients, 2)
	assert.True(t, weather.Clients[0].Suspended)
	assert.False(t, weather.Clients[1].Suspended)
	assert.Equal(t, []string{"weather-api/get"}, []string{weather.Clients[0].Scopes[0].String()})
}
