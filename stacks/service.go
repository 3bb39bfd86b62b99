package stacks

import (
	"fmt"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/nagmeta"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
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
	// golambda.NoReservedConcurrency reserves none, for the service's
	// function and the rotation function alike.
	ReservedConcurrency int
	// Clients are machine clients beyond the stack's own, their scopes
	// from the stack's resource servers (WeatherAPI, ProxyAPI).
	Clients []m2mauth.ClientProps
	// Quotas are the account's Cognito quotas. Default: Cognito's defaults.
	Quotas m2mauth.Quotas
	// Rotation of the client secrets. Default: m2mauth's (every 90 days).
	Rotation m2mauth.RotationProps
	// Tiers are the stack's rate-limit tiers; every client then gets an API
	// key in its tier's usage plan. Default: none.
	Tiers []m2mauth.Tier
	// DefaultTier is the tier of clients that name none, the stack's own
	// client included.
	DefaultTier string
	// NoDashboard leaves out the API's dashboard and contributor rules.
	NoDashboard bool
	// TokenBudget is the alarm on client-credentials token requests.
	// Default: m2mauth's (at 80% of 150 per second).
	TokenBudget m2mauth.TokenBudgetProps
	// TokenBudgetTopicArn, when set, is an SNS topic the alarm notifies
	// (imported into the stack). Default: none.
	TokenBudgetTopicArn string
}

// authServerProps are the AuthServer's props of a stack: its resource
// servers, its own clients and the others, tiers, and the options both
// stacks share. NewAuthServer judges them all.
func authServerProps(stack awscdk.Stack, servers []*m2mauth.ResourceServer, own []m2mauth.ClientProps, domain m2mauth.Domain, opts ServiceOptions) *m2mauth.AuthServerProps {
	if arn := opts.TokenBudgetTopicArn; arn != "" && opts.TokenBudget.AlarmTopic == nil {
		opts.TokenBudget.AlarmTopic = awssns.Topic_FromTopicArn(stack, jsii.String("TokenBudgetTopic"), jsii.String(arn))
	}
	rotation := opts.Rotation
	if opts.ReservedConcurrency == golambda.NoReservedConcurrency && rotation.ReservedConcurrency == 0 {
		rotation.ReservedConcurrency = golambda.NoReservedConcurrency
	}
	return &m2mauth.AuthServerProps{
		ResourceServers: servers,
		Clients:         append(own, opts.Clients...),
		Domain:          domain,
		Disposable:      opts.Disposable,
		Quotas:          opts.Quotas,
		Rotation:        rotation,
		Tiers:           opts.Tiers,
		DefaultTier:     opts.DefaultTier,
		TokenBudget:     opts.TokenBudget,
	}
}

// weatherService is the events table and the function that serves it.
type weatherService struct {
	Table    awsdynamodb.Table
	Keys     awsdynamodb.Table
	Function *golambda.GoFunction
}

// modulePath is this module's path, as its go.mod declares it.
const modulePath = "github.com/scopegate/scopegate"

// repoRoot is the directory of this module's go.mod, found by walking up from
// the working directory: `cdk synth` runs the app in the repository's root,
// `go test` in the package's directory. It works in a binary built with
// -trimpath, and refuses a go.mod of any other module, so the function is
// never built from a consumer's module by mistake.
func repoRoot() string {
	dir, err := golambda.FindModuleDir(modulePath)
	if err != nil {
		panic(fmt.Sprintf("stacks: cannot find the scopegate module (%s): %v. Run the app from inside the scopegate module: cdk synth in its root, go test in its packages", modulePath, err))
	}
	return dir
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
	// Idempotency keys of POST, deleted by DynamoDB once expired. Losing them
	// only lets an old retry create a second event, so no recovery backups.
	keys := awsdynamodb.NewTable(scope, jsii.String("IdempotencyKeys"), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("key"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String(weather.TTLAttribute),
		RemovalPolicy:       awscdk.RemovalPolicy_DESTROY,
	})
	nagmeta.Suppress(keys, false, nagmeta.Rule{
		ID:     "AwsSolutions-DDB3",
		Reason: "The table only holds idempotency keys that expire after 24 hours; restoring them from a backup would bring back keys that should be gone.",
	})
	root := repoRoot()
	fn := golambda.NewGoFunction(scope, "Service", &golambda.GoFunctionProps{
		Entry:       filepath.Join(root, "lambda", "weatherevents"),
		ModuleDir:   root,
		Description: "weather-events service behind the scoped API",
		Environment: map[string]string{
			contract.EnvEventsTable:      *table.TableName(),
			contract.EnvIdempotencyTable: *keys.TableName(),
		},
		ReservedConcurrency: opts.ReservedConcurrency,
		Disposable:          opts.Disposable,
	})
	// Exactly the calls weather.DynamoStore and weather.DynamoKeys make, each
	// on its own table only.
	table.Grant(fn.Role, *jsii.Strings(weather.DynamoActions...)...)
	keys.Grant(fn.Role, *jsii.Strings(weather.KeyActions...)...)
	nagmeta.Suppress(fn.Function, false, nagmeta.Rule{
		ID:     "Serverless-LambdaDLQ",
		Reason: "API Gateway invokes the function synchronously and gets its errors; a dead-letter queue only receives failed asynchronous invocations.",
	})
	return weatherService{Table: table, Keys: keys, Function: fn}
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
		NoDashboard:          opts.NoDashboard,
		Disposable:           opts.Disposable,
	})
	api.AddOutputs()
	return service, api
}
