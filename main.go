// Command scopegate is the CDK app: it reads configuration from cdk.json
// context (or -c flags) and instantiates the stacks. Resource definitions live
// in stacks/ and constructs/.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/budget"
	"github.com/scopegate/scopegate/cdkapp"
	"github.com/scopegate/scopegate/config"
	"github.com/scopegate/scopegate/stacks"
)

func main() {
	cdkapp.UseKernelNodeFlags()
	err := synth(cdkapp.NewApp(nil))
	jsii.Close()
	if err != nil {
		// One message, never a goroutine dump: `cdk synth` prints it and
		// exits 1.
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// budgetAdvice names what to change when a template passes an AWS limit.
var budgetAdvice = budget.Advice{
	"AWS::Cognito::UserPoolClient":          "machine clients (scopegate.<stack>.clients; they are spread over nested stacks by name)",
	"AWS::SecretsManager::Secret":           "machine clients (scopegate.<stack>.clients; they are spread over nested stacks by name)",
	"AWS::SecretsManager::RotationSchedule": "machine clients (scopegate.<stack>.clients; they are spread over nested stacks by name)",
	"AWS::ApiGateway::ApiKey":               "machine clients with a tier (scopegate.<stack>.clients; one API key each once scopegate.<stack>.tiers is set)",
	"AWS::ApiGateway::UsagePlanKey":         "machine clients with a tier (scopegate.<stack>.clients; they are spread over nested stacks by name)",
	"AWS::ApiGateway::UsagePlan":            "rate-limit tiers (scopegate.<stack>.tiers; raise quotas.usagePlansPerRegion once the account's quota was raised)",
	"AWS::ApiGateway::Method":               "routes (ScopedAPIProps.Routes)",
	"AWS::ApiGateway::Resource":             "route paths (ScopedAPIProps.Routes)",
	"AWS::Lambda::Permission":               "invoke permissions on the function (one per ScopedAPI)",
	"AWS::IAM::Policy":                      "grants to the role",
	budget.AdviceOutputs:                    "outputs (CfnOutput)",
	budget.AdviceEnvironment:                "the function's environment (GoFunctionProps.Environment)",
}

// synth builds the stacks from the configuration, synthesizes them and
// checks the assembly (cdkapp.Synth: AWS's limits and the guard of every
// API). A refused configuration value, a construct's validation error, a
// limit a deploy would hit and an unguarded method all come back as an error
// that names the key, prop or method to change.
func synth(app awscdk.App) error {
	cfg, err := config.Read(app.Node().TryGetContext(jsii.String(config.Root)))
	if err != nil {
		return err
	}
	weather, proxy, err := cfg.StackProps()
	if err != nil {
		return err
	}
	if err := cdkapp.Catch(func() { build(app, weather, proxy) }); err != nil {
		return err
	}
	limits := budget.DefaultLimits()
	if n := cfg.Quotas.UsagePlansPerRegion; n > 0 {
		limits.UsagePlansPerRegion = n
	}
	// AWS's limits, and every method of a guarded API wherever it was added.
	_, err = cdkapp.Synth(app, cdkapp.Options{Limits: &limits, Advice: budgetAdvice})
	return err
}

// build adds the two stacks to app.
func build(app awscdk.App, weather *stacks.WeatherEventsStackProps, proxy *stacks.ThirdPartyProxyStackProps) {
	// The CLI fills these in from the caller's credentials; without both the
	// stacks stay environment-agnostic, and one template deploys anywhere.
	var env *awscdk.Environment
	if account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); account != "" && region != "" {
		env = &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
	}
	weather.StackProps = awscdk.StackProps{Env: env, Description: jsii.String("scopegate: weather-events API behind machine-to-machine OAuth 2.0")}
	stacks.NewWeatherEventsStack(app, config.WeatherEventsStack, weather)
	proxy.StackProps = awscdk.StackProps{Env: env, Description: jsii.String("scopegate: third-party proxy API behind machine-to-machine OAuth 2.0")}
	stacks.NewThirdPartyProxyStack(app, config.ThirdPartyProxyStack, proxy)
	// The tests run cdk-nag on every stack configuration; at synth time it is
	// opt-in (-c scopegate:nag=true, or make nag) because it costs about a
	// second of every synth (BENCHMARKS.md).
	if nag := app.Node().TryGetContext(jsii.String("scopegate:nag")); nag == true || nag == "true" {
		stacks.AddNagChecks(app)
	}
}
