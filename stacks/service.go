package stacks

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
	"github.com/scopegate/scopegate/stackoutputs"
)

// ServiceOptions are the settings both stacks share for the weather-events
// service behind their API.
type ServiceOptions struct {
	// Disposable lets the user pool, the table and the log groups be deleted
	// with the stack. Default: false (deletion protection and RETAIN).
	Disposable bool
	// CreateAPIGatewayCloudWatchRole creates the account-wide API Gateway
	// CloudWatch role. Default: false (see scopedapi.ScopedAPIProps).
	CreateAPIGatewayCloudWatchRole bool
	// ReservedConcurrency of the function. Default: golambda's default.
	ReservedConcurrency int
	// AdditionalClients are machine clients beyond the stack's own, each
	// allowed the scopes it names.
	AdditionalClients []ClientConfig
}

// ClientConfig declares a machine client in configuration, with its scopes
// written as text ("weather-api/get").
type ClientConfig struct {
	Name                       string   `json:"name"`
	Scopes                     []string `json:"scopes"`
	AccessTokenValidityMinutes int      `json:"accessTokenValidityMinutes"`
}

// clientProps resolves configured clients against the stack's resource
// servers; a scope nobody declared is an error that names the client.
func clientProps(servers []*m2mauth.ResourceServer, configs []ClientConfig) []m2mauth.ClientProps {
	var clients []m2mauth.ClientProps
	var errs []error
	for i, c := range configs {
		client := m2mauth.ClientProps{Name: c.Name, AccessTokenValidity: time.Duration(c.AccessTokenValidityMinutes) * time.Minute}
		for _, text := range c.Scopes {
			scope, err := m2mauth.ParseScope(servers, text)
			if err != nil {
				errs = append(errs, fmt.Errorf("stacks: AdditionalClients[%d] %q: %w", i, c.Name, err))
				continue
			}
			client.Scopes = append(client.Scopes, scope)
		}
		clients = append(clients, client)
	}
	if err := errors.Join(errs...); err != nil {
		panic(err)
	}
	return clients
}

// weatherService is the events table and the function that serves it.
type weatherService struct {
	Table    awsdynamodb.Table
	Function *golambda.GoFunction
}

// repoRoot is the directory of this module's go.mod, found from this source
// file so that synthesis works from any working directory (tests run in their
// package's directory, `cdk synth` in the repository's).
func repoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("stacks: cannot locate the module's source directory")
	}
	return filepath.Dir(filepath.Dir(file))
}

func newWeatherService(scope constructs.Construct, opts ServiceOptions) weatherService {
	removal := awscdk.RemovalPolicy_RETAIN
	if opts.Disposable {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	table := awsdynamodb.NewTable(scope, jsii.String("Events"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String("id"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(!opts.Disposable),
		RemovalPolicy:      removal,
	})
	root := repoRoot()
	fn := golambda.NewGoFunction(scope, "Service", &golambda.GoFunctionProps{
		Entry:               filepath.Join(root, "lambda", "weatherevents"),
		ModuleDir:           filepath.Join(root, "go.mod"),
		Description:         "weather-events service behind the scoped API",
		Environment:         map[string]string{"TABLE_NAME": *table.TableName()},
		ReservedConcurrency: opts.ReservedConcurrency,
		Disposable:          opts.Disposable,
	})
	// Exactly the calls weather.DynamoStore makes, on this table only.
	table.Grant(fn.Role, *jsii.Strings(weather.DynamoActions...)...)
	cdknag.NagSuppressions_AddResourceSuppressions(fn.Function, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("Serverless-LambdaDLQ"),
		Reason: jsii.String("API Gateway invokes the function synchronously and gets its errors; a dead-letter queue only receives failed asynchronous invocations."),
	}}, nil)
	return weatherService{Table: table, Function: fn}
}

// eventSchema is the body API Gateway accepts for POST /; the function checks
// the same rules and more (real calendar dates, start <= end).
func eventSchema() *awsapigateway.JsonSchema {
	date := &awsapigateway.JsonSchema{Type: awsapigateway.JsonSchemaType_STRING, Pattern: jsii.String(`^\d{4}-\d{2}-\d{2}$`)}
	return &awsapigateway.JsonSchema{
		Schema:               awsapigateway.JsonSchemaVersion_DRAFT4,
		Title:                jsii.String("NewWeatherEvent"),
		Type:                 awsapigateway.JsonSchemaType_OBJECT,
		Required:             jsii.Strings("name", "dateStart", "dateEnd"),
		AdditionalProperties: jsii.Bool(false),
		Properties: &map[string]*awsapigateway.JsonSchema{
			"name":      {Type: awsapigateway.JsonSchemaType_STRING, MinLength: jsii.Number(1), MaxLength: jsii.Number(weather.MaxNameLength)},
			"dateStart": date,
			"dateEnd":   date,
		},
	}
}

// serveWeatherEvents puts the weather-events service behind a ScopedAPI with
// the given routes and stage (empty for the default), and adds the outputs a
// caller needs besides the AuthServer's own: where the API is, and which
// client may call which route.
func serveWeatherEvents(stack awscdk.Stack, auth *m2mauth.AuthServer, stageName string, opts ServiceOptions, routes []scopedapi.Route) (weatherService, *scopedapi.ScopedAPI) {
	service := newWeatherService(stack, opts)
	api := scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
		Auth:                 auth,
		Handler:              service.Function.Function,
		Routes:               routes,
		StageName:            stageName,
		CreateCloudWatchRole: opts.CreateAPIGatewayCloudWatchRole,
		Disposable:           opts.Disposable,
	})
	addOutput(stack, stackoutputs.APIURL, "Invoke URL of the API", api.URL)
	addOutput(stack, stackoutputs.AccessPolicy, "JSON: the scopes of each route (any one opens it); each client's scopes are in the clients output", jsii.String(api.AccessPolicy().JSON()))
	return service, api
}

func addOutput(scope constructs.Construct, id, description string, value *string) {
	out := awscdk.NewCfnOutput(scope, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	out.OverrideLogicalId(jsii.String(id))
}
