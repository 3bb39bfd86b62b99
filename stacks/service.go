package stacks

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

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
	// AdditionalClients are machine clients beyond the stack's own, each
	// allowed the scopes it names.
	AdditionalClients []ClientConfig
	// ConfigPath is where AdditionalClients came from, for error messages
	// ("weatherEvents.clients"). Default: "AdditionalClients".
	ConfigPath string
	// Quotas are the account's Cognito quotas. Default: Cognito's defaults.
	Quotas m2mauth.Quotas
	// Rotation of the client secrets. Default: m2mauth's (every 90 days).
	Rotation m2mauth.RotationProps
	// Tiers are the stack's rate-limit tiers; every client then gets an API
	// key in its tier's usage plan. Default: none.
	Tiers []TierConfig
	// DefaultTier is the tier of clients that name none, the stack's own
	// client included. Default: the first of Tiers.
	DefaultTier string
	// ConfigRoot is where Tiers and DefaultTier came from, for error
	// messages ("scopegate.weatherEvents"). Default: "ServiceOptions".
	ConfigRoot string
	// TokenBudget is the alarm on client-credentials token requests.
	// Default: m2mauth's (at 80% of 150 per second).
	TokenBudget m2mauth.TokenBudgetProps
	// TokenBudgetTopicArn, when set, is an SNS topic the alarm notifies
	// (imported into the stack). Default: none.
	TokenBudgetTopicArn string
}

// TierConfig declares a rate-limit tier in configuration.
type TierConfig struct {
	Name       string  `json:"name"`
	RateLimit  float64 `json:"rateLimit"`
	BurstLimit int     `json:"burstLimit"`
	Quota      *struct {
		Limit  int    `json:"limit"`
		Period string `json:"period"`
	} `json:"quota"`
}

// tierConfigKeys maps m2mauth.TierProblem fields to configuration keys.
var tierConfigKeys = map[string]string{
	"Name": "name", "RateLimit": "rateLimit", "BurstLimit": "burstLimit", "Quota.Limit": "quota.limit", "Quota.Period": "quota.period",
}

// tierProps turns the configured tiers into m2mauth's, and resolves the
// default tier: DefaultTier, else the first tier. Every problem is a
// ConfigError naming its key.
func tierProps(opts ServiceOptions) (tiers []m2mauth.Tier, defaultTier string, errs []error) {
	root := opts.ConfigRoot
	if root == "" {
		root = "ServiceOptions"
	}
	names := map[string]int{}
	for i, c := range opts.Tiers {
		t := m2mauth.Tier{Name: c.Name, RateLimit: c.RateLimit, BurstLimit: c.BurstLimit}
		if c.Quota != nil {
			t.Quota = &m2mauth.TierQuota{Limit: c.Quota.Limit, Period: m2mauth.QuotaPeriod(c.Quota.Period)}
		}
		where := fmt.Sprintf("%s.tiers[%d]", root, i)
		for _, p := range m2mauth.ValidateTier(t) {
			errs = append(errs, &ConfigError{Path: where + "." + tierConfigKeys[p.Field], Err: errors.New(p.Problem)})
		}
		// As m2mauth compares them: case and punctuation do not count.
		key := strings.ToLower(contract.Key(c.Name))
		if j, dup := names[key]; dup && key != "" {
			errs = append(errs, &ConfigError{Path: where + ".name", Err: fmt.Errorf("tier %q is already declared at tiers[%d] (names differing only in case or punctuation count as one)", c.Name, j)})
		} else if !dup {
			names[key] = i
		}
		for _, p := range scopedapi.TierAboveStage(t, scopedapi.DefaultThrottlingRateLimit, scopedapi.DefaultThrottlingBurstLimit) {
			errs = append(errs, &ConfigError{Path: where + "." + tierConfigKeys[p.Field], Err: errors.New(p.Problem)})
		}
		tiers = append(tiers, t)
	}
	plans := opts.Quotas.UsagePlansPerRegion
	if plans == 0 {
		plans = m2mauth.DefaultUsagePlansPerRegion
	}
	if len(tiers) > plans {
		errs = append(errs, &ConfigError{Path: root + ".tiers", Err: fmt.Errorf("%d tiers, each an API Gateway usage plan, is over the quota of %d usage plans per account and region: remove tiers, or raise quotas.usagePlansPerRegion once the account's quota was raised", len(tiers), plans)})
	}
	switch {
	case opts.DefaultTier != "" && len(tiers) == 0:
		errs = append(errs, &ConfigError{Path: root + ".defaultTier", Err: fmt.Errorf("%q names a tier, but %s.tiers declares none", opts.DefaultTier, root)})
	case opts.DefaultTier != "":
		if !declaresTier(tiers, opts.DefaultTier) {
			errs = append(errs, &ConfigError{Path: root + ".defaultTier", Err: fmt.Errorf("%q is not one of %s.tiers (%s)", opts.DefaultTier, root, tierList(tiers))})
		}
		defaultTier = opts.DefaultTier
	case len(tiers) > 0:
		defaultTier = tiers[0].Name
	}
	return tiers, defaultTier, errs
}

func declaresTier(tiers []m2mauth.Tier, name string) bool {
	for _, t := range tiers {
		if t.Name == name {
			return true
		}
	}
	return false
}

func tierList(tiers []m2mauth.Tier) string {
	names := make([]string, len(tiers))
	for i, t := range tiers {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// ConfigError is a configuration value the stacks refuse, with the path of
// the key that holds it.
type ConfigError struct {
	// Path is the key, e.g. "weatherEvents.clients[0].scopes[1]".
	Path string
	Err  error
}

func (e *ConfigError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ClientConfig declares a machine client in configuration, with its scopes
// written as text ("weather-api/get").
type ClientConfig struct {
	Name                       string   `json:"name"`
	Scopes                     []string `json:"scopes"`
	AccessTokenValidityMinutes int      `json:"accessTokenValidityMinutes"`
	// Tier is the client's rate-limit tier. Default: the stack's default.
	Tier string `json:"tier"`
}

// authProps resolves configured clients and tiers against the stack's
// resource servers, with builtIn clients the stack declares itself. Every
// problem is a ConfigError naming the key that holds the bad value, found
// before any construct is created.
func authProps(servers []*m2mauth.ResourceServer, builtIn []m2mauth.ClientProps, opts ServiceOptions) ([]m2mauth.ClientProps, []m2mauth.Tier, string) {
	tiers, defaultTier, tierErrs := tierProps(opts)
	root := opts.ConfigRoot
	if root == "" {
		root = "ServiceOptions"
	}
	path := opts.ConfigPath
	if path == "" {
		path = "AdditionalClients"
	}
	clients := append([]m2mauth.ClientProps(nil), builtIn...)
	names := map[string]string{}
	for _, c := range builtIn {
		names[strings.ToLower(c.Name)] = "the stack's own client"
	}
	errs := tierErrs
	bad := func(key string, format string, args ...any) {
		errs = append(errs, &ConfigError{Path: key, Err: fmt.Errorf(format, args...)})
	}
	for i, c := range opts.AdditionalClients {
		where := fmt.Sprintf("%s[%d]", path, i)
		if err := m2mauth.ValidateClientName(c.Name); err != nil {
			bad(where+".name", "%v", err)
		} else if first, dup := names[strings.ToLower(c.Name)]; dup {
			bad(where+".name", "client name %q is already used by %s", c.Name, first)
		} else {
			names[strings.ToLower(c.Name)] = where
		}
		client := m2mauth.ClientProps{Name: c.Name, AccessTokenValidity: time.Duration(c.AccessTokenValidityMinutes) * time.Minute, Tier: c.Tier}
		if c.Tier != "" && !declaresTier(tiers, c.Tier) {
			if len(tiers) == 0 {
				bad(where+".tier", "%q names a tier, but no tiers are declared (%s.tiers)", c.Tier, root)
			} else {
				bad(where+".tier", "%q is not one of the declared tiers (%s)", c.Tier, tierList(tiers))
			}
		}
		if m := c.AccessTokenValidityMinutes; m != 0 && (client.AccessTokenValidity < m2mauth.MinAccessTokenValidity || client.AccessTokenValidity > m2mauth.MaxAccessTokenValidity) {
			bad(where+".accessTokenValidityMinutes", "%d is outside the %v to %v Cognito accepts (%d to %d minutes)", m,
				m2mauth.MinAccessTokenValidity, m2mauth.MaxAccessTokenValidity, int(m2mauth.MinAccessTokenValidity.Minutes()), int(m2mauth.MaxAccessTokenValidity.Minutes()))
		}
		if len(c.Scopes) == 0 {
			bad(where+".scopes", "is empty: a machine client needs at least one scope")
		}
		if len(c.Scopes) > m2mauth.MaxScopesPerClient {
			bad(where+".scopes", "has %d scopes, over Cognito's hard limit of %d per app client", len(c.Scopes), m2mauth.MaxScopesPerClient)
		}
		seen := map[string]int{}
		for k, text := range c.Scopes {
			key := fmt.Sprintf("%s.scopes[%d]", where, k)
			if j, dup := seen[text]; dup {
				bad(key, "scope %q is already listed at scopes[%d]", text, j)
				continue
			}
			seen[text] = k
			scope, err := m2mauth.ParseScope(servers, text)
			if err != nil {
				bad(key, "%v", err)
				continue
			}
			client.Scopes = append(client.Scopes, scope)
		}
		clients = append(clients, client)
	}
	quota := opts.Quotas.AppClientsPerPool
	if quota == 0 {
		quota = m2mauth.DefaultAppClientsPerPool
	}
	if len(clients) > quota {
		bad(path, "%d clients plus the stack's own %d is %d, over Cognito's quota of %d app clients per user pool: remove clients, or raise quotas.appClientsPerPool once the account's quota was raised",
			len(opts.AdditionalClients), len(builtIn), len(clients), quota)
	}
	if err := errors.Join(errs...); err != nil {
		panic(err)
	}
	return clients, tiers, defaultTier
}

// authServerProps are the AuthServer's props of a stack: its resource
// servers, its own clients and the configured ones, tiers, and the options
// both stacks share.
func authServerProps(stack awscdk.Stack, servers []*m2mauth.ResourceServer, builtIn []m2mauth.ClientProps, domain m2mauth.Domain, opts ServiceOptions) *m2mauth.AuthServerProps {
	clients, tiers, defaultTier := authProps(servers, builtIn, opts)
	if arn := opts.TokenBudgetTopicArn; arn != "" && opts.TokenBudget.AlarmTopic == nil {
		opts.TokenBudget.AlarmTopic = awssns.Topic_FromTopicArn(stack, jsii.String("TokenBudgetTopic"), jsii.String(arn))
	}
	rotation := opts.Rotation
	if opts.ReservedConcurrency == golambda.NoReservedConcurrency && rotation.ReservedConcurrency == 0 {
		rotation.ReservedConcurrency = golambda.NoReservedConcurrency
	}
	return &m2mauth.AuthServerProps{
		ResourceServers: servers,
		Clients:         clients,
		Domain:          domain,
		Disposable:      opts.Disposable,
		Quotas:          opts.Quotas,
		Rotation:        rotation,
		Tiers:           tiers,
		DefaultTier:     defaultTier,
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
		Disposable:           opts.Disposable,
	})
	api.AddOutputs()
	return service, api
}
