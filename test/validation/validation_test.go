// Package validation synthesizes every stack with aws-cdk-lib's built-in
// CloudFormation template validation on, as `cdk synth` does, and fails on
// any finding. It is its own package because the validation setting is read
// once per process (see cdktest.MainWithValidation).
package validation

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/cdkapp"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
	"github.com/scopegate/scopegate/stacks"
)

func TestMain(m *testing.M) { cdktest.MainWithValidation(m) }

type report struct {
	PluginReports []struct {
		PluginName string `json:"pluginName"`
		Violations []struct {
			RuleName            string `json:"ruleName"`
			Description         string `json:"description"`
			ViolatingResources  []any  `json:"violatingResources"`
			ViolatingConstructs []any  `json:"violatingConstructs"`
		} `json:"violations"`
	} `json:"pluginReports"`
}

// synth synthesizes app into a temporary directory and returns the panic
// message (findings are errors under the cdk.json flag) and the report. The
// app is cdkapp.NewApp's, as `cdk synth` of the repository's app builds it:
// with validation on it registers the validation plugin itself.
func synth(t *testing.T, app func(awscdk.App)) (string, report) {
	t.Helper()
	ctx := cdktest.ProjectContext()
	ctx["aws:cdk:bundling-stacks"] = []string{}
	dir := t.TempDir()
	a := cdkapp.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(dir)})
	// The app's plugins (a deprecated reader; Validations has none): the one
	// NewApp registered, before any construct.
	require.Len(t, *a.PolicyValidationBeta1(), 1, "cdkapp.NewApp registers the validation plugin when validation is on")
	app(a)
	msg := cdktest.Recover(func() { a.Synth(nil) })
	var r report
	if data, err := os.ReadFile(filepath.Join(dir, "validation-report.json")); err == nil {
		require.NoError(t, json.Unmarshal(data, &r))
	}
	return msg, r
}

func TestEveryStackPassesCloudFormationValidation(t *testing.T) {
	msg, r := synth(t, func(app awscdk.App) {
		stacks.NewWeatherEventsStack(app, "WeatherEvents", nil)
		api := stacks.NewWeatherAPI()
		stacks.NewWeatherEventsStack(app, "WeatherEventsClients", &stacks.WeatherEventsStackProps{API: api, ServiceOptions: stacks.ServiceOptions{
			Clients: []m2mauth.ClientProps{{Name: "reporting", Scopes: []m2mauth.Scope{api.Scopes.Get}, AccessTokenValidity: 15 * time.Minute}},
		}})
		stacks.NewThirdPartyProxyStack(app, "ThirdPartyProxy", nil)
		stacks.NewThirdPartyProxyStack(app, "ThirdPartyProxyCustomDomain", &stacks.ThirdPartyProxyStackProps{CustomDomain: &stacks.CustomDomain{
			DomainName: "auth.partners.example.com", CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
			HostedZoneID: "Z0123456789ABCDEFGHIJ", HostedZoneName: "partners.example.com",
		}})
	})
	assert.Empty(t, msg, "synthesis with validation failed")
	for _, plugin := range r.PluginReports {
		assert.Empty(t, plugin.Violations, "%s reported findings", plugin.PluginName)
	}
}

// The control: a template CloudFormation would reject does produce a
// finding, so a clean report above means validation ran and found nothing.
func TestValidationCatchesABrokenTemplate(t *testing.T) {
	msg, r := synth(t, func(app awscdk.App) {
		stack := awscdk.NewStack(app, jsii.String("Broken"), nil)
		awscdk.NewCfnResource(stack, jsii.String("Queue"), &awscdk.CfnResourceProps{
			Type:       jsii.String("AWS::SQS::Queue"),
			Properties: &map[string]any{"MessageRetentionPeriod": "a week", "NoSuchProperty": true},
		})
	})
	findings := 0
	var plugins []string
	for _, plugin := range r.PluginReports {
		findings += len(plugin.Violations)
		plugins = append(plugins, plugin.PluginName)
	}
	assert.Contains(t, msg, "ValidationFailed", "validation let a broken template through")
	assert.Equal(t, 2, findings, "one finding for the bad type, one for the unknown property")
	assert.Equal(t, []string{"CloudFormation Validate"}, plugins,
		"the plugin cdkapp.NewApp registers replaces aws-cdk-lib's own: one report, not two")
}
