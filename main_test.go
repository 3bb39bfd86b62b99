package main

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/cdktest"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

func appWithContext(value any) awscdk.App {
	ctx := map[string]any{}
	if value != nil {
		ctx["scopegate"] = value
	}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
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

func TestReadConfigRefusesMisspeltKeys(t *testing.T) {
	_, err := readConfig(appWithContext(map[string]any{"weatherEvents": map[string]any{"domainprefx": "x"}}))
	assert.ErrorContains(t, err, `context key scopegate: json: unknown field "domainprefx"`)
	_, err = readConfig(appWithContext(`{"disposable": "yes"}`))
	assert.ErrorContains(t, err, "context key scopegate")
}

func TestReadConfigChecksTheCloudWatchRoleStack(t *testing.T) {
	cfg, err := readConfig(appWithContext(map[string]any{"apiGatewayCloudWatchRoleStack": "WeatherEvents"}))
	require.NoError(t, err)
	assert.Equal(t, "WeatherEvents", cfg.APIGatewayCloudWatchRoleStack)
	_, err = readConfig(appWithContext(map[string]any{"apiGatewayCloudWatchRoleStack": "Weather"}))
	assert.ErrorContains(t, err, `apiGatewayCloudWatchRoleStack "Weather" names no stack (WeatherEvents or ThirdPartyProxy)`)
}
