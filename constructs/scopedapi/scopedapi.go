// Package scopedapi builds an API Gateway REST API whose every method requires
// an OAuth 2.0 access token from a Cognito user pool carrying one of the
// method's scopes, in front of a Lambda proxy integration or any other
// integration.
//
// Routes are declared once, with their scopes: API Gateway enforces them
// through its Cognito authorizer, and the same table reaches the function (a
// file in a Lambda layer, see package routetable) so that it can enforce
// them again. A guard (see Guard) fails synthesis if any method of the API,
// however it was added, does not require a scoped access token.
package scopedapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/gatewayresponse"
	"github.com/scopegate/scopegate/internal/nagmeta"
	"github.com/scopegate/scopegate/routetable"
)

// ScopedAPI is a REST API whose methods all require scoped access tokens.
type ScopedAPI struct {
	constructs.Construct
	// RestAPI is the API: the one ScopedAPIProps.RestAPI adopted, or a new one.
	RestAPI    awsapigateway.RestApi
	Authorizer awsapigateway.CognitoUserPoolsAuthorizer
	// URL is the stage's invoke URL, ending in "/"; nil for an adopted API
	// without a deployment stage.
	URL *string
	// AccessLogs receives one JSON line per request; nil for an adopted API,
	// whose stage logs as you set it up.
	AccessLogs awslogs.LogGroup
	// RouteTable is every route with its scopes: what API Gateway enforces
	// and what the access policy promises.
	RouteTable routetable.Table
	// HandlerRouteTable is the part of RouteTable that Handler serves, which
	// it receives to re-check scopes.
	HandlerRouteTable routetable.Table
	// RouteTableLayer carries HandlerRouteTable to the Handler's function;
	// nil when the delivery is RouteTableByYou or there is no Handler.
	RouteTableLayer awslambda.LayerVersion
	// Methods maps "METHOD /path" to the API Gateway method.
	Methods map[string]awsapigateway.Method
	// Dashboard shows the API's requests, answers, latency, function,
	// token requests and rotation failures; ContributorRules rank its
	// clients by requests and refusals ("TopClientsByRequests", "...By4xx",
	// "...By429", "...By5xx"). Both nil for an adopted API or NoDashboard.
	Dashboard        awscloudwatch.Dashboard
	ContributorRules map[string]awscloudwatch.CfnInsightRule

	tiers []m2mauth.TierPlan
}

// protect attaches the WAF web ACL when there is one, and records for
// cdk-nag why the rest of its findings do not apply to an API this
// construct created.
func (a *ScopedAPI) protect(webACLArn string) {
	stage := a.RestAPI.DeploymentStage()
	if webACLArn != "" {
		awswafv2.NewCfnWebACLAssociation(a.Construct, jsii.String("WebAcl"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: stage.StageArn(),
			WebAclArn:   jsii.String(webACLArn),
		})
	} else {
		nagmeta.Suppress(stage, false, nagmeta.Rule{
			ID: "AwsSolutions-APIG3",
			Reason: "No WAF web ACL was given (ScopedAPIProps.WebACLArn). Every method already refuses callers " +
				"without a valid access token carrying its scope, and the stage is throttled; a web ACL adds IP and rate rules at extra cost.",
		})
	}
	nagmeta.Suppress(a.RestAPI.LatestDeployment(), true, nagmeta.Rule{
		ID:        "CdkNagValidationFailure",
		AppliesTo: []string{"Serverless-APIGWStructuredLogging"},
		Reason: "The rule reads the Deployment's StageDescription, which a RestApi's deployment does not have, and throws; " +
			"the Stage it deploys to is checked by the same rule and has a JSON access log format.",
	})
}

// accessLogFormat is one JSON object per request. clientId is the caller's
// app client; it and the authorizer's error are what an operator needs to
// tell which machine was refused and why.
var accessLogFormat = map[string]string{
	"requestId":          "$context.requestId",
	"extendedRequestId":  "$context.extendedRequestId",
	"requestTime":        "$context.requestTime",
	"ip":                 "$context.identity.sourceIp",
	"httpMethod":         "$context.httpMethod",
	"resourcePath":       "$context.resourcePath",
	"path":               "$context.path",
	"status":             "$context.status",
	"responseLength":     "$context.responseLength",
	"responseLatency":    "$context.responseLatency",
	"integrationStatus":  "$context.integration.status",
	"integrationLatency": "$context.integration.latency",
	"clientId":           "$context.authorizer.claims.client_id",
	"scope":              "$context.authorizer.claims.scope",
	"authorizerError":    "$context.authorizer.error",
	"errorType":          "$context.error.responseType",
	"xrayTraceId":        "$context.xrayTraceId",
}

// NewScopedAPI validates props and builds the API: a new one, or the routes,
// authorizer, validation and gateway responses on props.RestAPI. Every
// method of the API is guarded (see Guard).
func NewScopedAPI(scope constructs.Construct, id string, props *ScopedAPIProps) *ScopedAPI {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	var table, handlerTable routetable.Table
	for _, r := range props.Routes {
		route := routetable.Route{Method: r.Method, Path: r.Path, Scopes: routeScopes(r)}
		table = append(table, route)
		if r.Integration == nil {
			handlerTable = append(handlerTable, route)
		}
	}
	// The handoff is checked before anything exists, like the props.
	var handlerFn awslambda.Function
	deliver := props.Handler != nil && len(handlerTable) > 0 && props.RouteTableDelivery != RouteTableByYou
	if deliver {
		var err error
		if handlerFn, err = checkHandOver(props.Handler, handlerTable, props.SharedHandler); err != nil {
			panic(err)
		}
	}

	tiers := tierPlans(props.Auth)
	if err := checkTierStacks(scope, props, tiers); err != nil {
		panic(err)
	}

	a := &ScopedAPI{Construct: constructs.NewConstruct(scope, jsii.String(id)), RouteTable: table, HandlerRouteTable: handlerTable, Methods: map[string]awsapigateway.Method{}, tiers: tiers}
	if props.RestAPI != nil {
		a.RestAPI = props.RestAPI
	} else {
		removal := awscdk.RemovalPolicy_RETAIN
		if props.Disposable {
			removal = awscdk.RemovalPolicy_DESTROY
		}
		retention := props.AccessLogRetention
		if retention == "" {
			retention = awslogs.RetentionDays_ONE_MONTH
		}
		a.AccessLogs = awslogs.NewLogGroup(a.Construct, jsii.String("AccessLogs"), &awslogs.LogGroupProps{
			Retention: retention, RemovalPolicy: removal,
		})
		a.RestAPI = awsapigateway.NewRestApi(a.Construct, jsii.String("Resource"), newRestAPIProps(props, a.AccessLogs))
	}
	a.Authorizer = awsapigateway.NewCognitoUserPoolsAuthorizer(a.Construct, jsii.String("Authorizer"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
		CognitoUserPools: &[]awscognito.IUserPool{props.Auth.Pool()},
		IdentitySource:   jsii.String("method.request.header.Authorization"),
	})
	addGatewayResponses(a.RestAPI)

	var handlerIntegration awsapigateway.Integration
	if props.Handler != nil && len(handlerTable) > 0 {
		handlerIntegration = a.invoke(props.Handler, props.RestAPI == nil)
		if deliver {
			layer, err := a.handOver(handlerFn, handlerTable, props.SharedHandler)
			if err != nil {
				panic(err)
			}
			a.RouteTableLayer = layer
		}
	}
	// One validator for every method: the Authorization header must be there
	// (the authorizer would refuse without it anyway, but this refuses before
	// it runs), and bodies must match their route's model where there is one.
	validator := a.RestAPI.AddRequestValidator(jsii.String("RequestValidator"), &awsapigateway.RequestValidatorOptions{
		ValidateRequestBody:       jsii.Bool(true),
		ValidateRequestParameters: jsii.Bool(true),
	})
	// Each resource is looked up once, however many methods it has: every
	// call into the CDK is a round trip to the jsii kernel.
	root := a.RestAPI.Root()
	resources := map[string]awsapigateway.IResource{}
	for i, r := range props.Routes {
		opts := &awsapigateway.MethodOptions{
			AuthorizationType:   awsapigateway.AuthorizationType_COGNITO,
			Authorizer:          a.Authorizer,
			AuthorizationScopes: jsii.Strings(table[i].Scopes...),
			RequestValidator:    validator,
			RequestParameters:   &map[string]*bool{"method.request.header.Authorization": jsii.Bool(true)},
		}
		if len(tiers) > 0 {
			// API Gateway throttles and meters each client by its key, and
			// refuses a call without one (403 invalid_api_key).
			opts.ApiKeyRequired = jsii.Bool(true)
		}
		if r.BodySchema != nil {
			model := a.RestAPI.AddModel(jsii.String(modelID(r)), &awsapigateway.ModelOptions{
				ContentType: jsii.String("application/json"),
				Schema:      r.BodySchema,
			})
			opts.RequestModels = &map[string]awsapigateway.IModel{"application/json": model}
		}
		integration := r.Integration
		if integration == nil {
			integration = handlerIntegration
		}
		resource, ok := resources[r.Path]
		if !ok {
			resource = root.ResourceForPath(jsii.String(r.Path))
			resources[r.Path] = resource
		}
		a.Methods[r.Method+" "+r.Path] = resource.AddMethod(jsii.String(r.Method), integration, opts)
	}
	Guard(a.RestAPI, props.Auth)
	a.suspend(handlerFn, props.Auth, props.Routes)
	if props.RestAPI == nil && !props.NoDashboard {
		a.observe(props.Handler, props.Auth)
	}
	if props.RestAPI == nil {
		a.protect(props.WebACLArn)
		a.URL = a.RestAPI.Url()
	} else if stage := deploymentStage(props.RestAPI); stage != nil {
		a.URL = stage.UrlForPath(jsii.String("/"))
	}
	if stage := deploymentStage(a.RestAPI); stage != nil {
		// Once per API: a second ScopedAPI on the same RestApi is refused
		// (its gateway responses would collide).
		for _, t := range tiers {
			t.UsagePlan.AddApiStage(&awsapigateway.UsagePlanPerApiStage{Api: a.RestAPI, Stage: stage})
		}
	}
	return a
}

// checkTierStacks refuses tiers across stacks: the usage plans and the
// clients' keys live in the AuthServer's stack, which the API's stack
// already depends on for the authorizer's pool, so a plan naming this API's
// stage from there would be a dependency cycle. It also needs a stage to add.
func checkTierStacks(scope constructs.Construct, props *ScopedAPIProps, tiers []m2mauth.TierPlan) error {
	if len(tiers) == 0 {
		return nil
	}
	apiStack, planStack := awscdk.Stack_Of(scope), awscdk.Stack_Of(tiers[0].UsagePlan)
	if *apiStack.Node().Path() != *planStack.Node().Path() {
		return fmt.Errorf("scopedapi: Auth declares rate-limit tiers, whose usage plans are in stack %s, but this API is in stack %s: "+
			"build the API in the AuthServer's stack, or declare no Tiers", *planStack.Node().Path(), *apiStack.Node().Path())
	}
	rate, burst := props.ThrottlingRateLimit, float64(props.ThrottlingBurstLimit)
	if rate == 0 {
		rate = DefaultThrottlingRateLimit
	}
	if burst == 0 {
		burst = DefaultThrottlingBurstLimit
	}
	for _, t := range tiers {
		// An adopted API's stage throttle is its owner's.
		if props.RestAPI != nil {
			break
		}
		for _, p := range TierAboveStage(t.Tier, rate, int(burst)) {
			return fmt.Errorf("scopedapi: tier %q %s: raise the stage's ThrottlingRateLimit and ThrottlingBurstLimit, or lower the tier", t.Tier.Name, p)
		}
	}
	if props.RestAPI != nil && deploymentStage(props.RestAPI) == nil {
		return errors.New("scopedapi: Auth declares rate-limit tiers, but RestAPI has no deployment stage to add to their usage plans: give it one (Deploy: true), or declare no Tiers")
	}
	return nil
}

// TierAboveStage reports a tier whose rate or burst per client is above the
// stage's throttle (rate, burst), which caps all clients together: no
// client could reach it. Problems name the tier's field (RateLimit,
// BurstLimit), so configuration tools can name their own keys.
func TierAboveStage(t m2mauth.Tier, rate float64, burst int) []m2mauth.FieldProblem {
	var problems []m2mauth.FieldProblem
	if t.RateLimit > rate {
		problems = append(problems, m2mauth.FieldProblem{Field: "RateLimit", Value: t.RateLimit, Rule: fmt.Sprintf("requests per second is more than the stage's throttle of %v for all clients together: no client could reach it", rate)})
	}
	if t.BurstLimit > burst {
		problems = append(problems, m2mauth.FieldProblem{Field: "BurstLimit", Value: t.BurstLimit, Rule: fmt.Sprintf("is more than the stage's burst of %d for all clients together: no client could reach it", burst)})
	}
	return problems
}

// invoke is the Lambda proxy integration of handler, with one invoke
// permission for the whole API rather than one per method (as
// LambdaIntegration adds): a function's resource policy holds 20 KB, about
// 50 per-method statements. The permission names this API and, when the
// construct made the API, its stage.
func (a *ScopedAPI) invoke(handler awslambda.IFunction, ownStage bool) awsapigateway.Integration {
	stage := jsii.String("*")
	if ownStage {
		stage = a.RestAPI.DeploymentStage().StageName()
	}
	handler.AddPermission(jsii.String("InvokeByScopedApi"+*awscdk.Names_NodeUniqueId(a.Node())), &awslambda.Permission{
		Principal: awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
		Action:    jsii.String("lambda:InvokeFunction"),
		SourceArn: a.RestAPI.ArnForExecuteApi(jsii.String("*"), jsii.String("/*"), stage),
		Scope:     a.Construct,
	})
	return awsapigateway.NewAwsIntegration(&awsapigateway.AwsIntegrationProps{
		Proxy:                 jsii.Bool(true),
		Service:               jsii.String("lambda"),
		Path:                  jsii.String("2015-03-31/functions/" + *handler.FunctionArn() + "/invocations"),
		IntegrationHttpMethod: jsii.String("POST"),
	})
}

// deploymentStage is api's stage, or nil for an API built with Deploy false
// (CDK throws rather than answer nil).
func deploymentStage(api awsapigateway.RestApi) (stage awsapigateway.Stage) {
	defer func() {
		if recover() != nil {
			stage = nil
		}
	}()
	return api.DeploymentStage()
}

// AddOutputs adds the outputs cmd/verify reads besides the AuthServer's own:
// ApiUrl (the invoke URL) and AccessPolicy (each route's scopes), with those
// fixed names. One ScopedAPI per stack may add them.
func (a *ScopedAPI) AddOutputs() {
	if a.URL != nil {
		addOutput(a.Construct, contract.APIURL, "Invoke URL of the API", a.URL)
	}
	if a.AccessLogs != nil {
		addOutput(a.Construct, contract.AccessLogGroup, "Access log group of the API: one JSON line per request, with the caller's clientId", a.AccessLogs.LogGroupName())
	}
	addOutput(a.Construct, contract.AccessPolicy, "JSON: the scopes of each route (any one opens it); each client's scopes are in the clients output", jsii.String(a.AccessPolicy().JSON()))
}

func addOutput(scope constructs.Construct, id, description string, value *string) {
	out := awscdk.NewCfnOutput(scope, jsii.String(id), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(description)})
	out.OverrideLogicalId(jsii.String(id))
}

func routeScopes(r Route) []string {
	scopes := make([]string, len(r.Scopes))
	for i, s := range r.Scopes {
		scopes[i] = s.String()
	}
	return scopes
}

// AccessPolicy is the scopes of each route, and the rate limits of each tier
// when the pool has tiers; with the AuthServer's clients output (each
// client's scopes and tier) it says which client may call which route, and
// how often.
func (a *ScopedAPI) AccessPolicy() routetable.AccessPolicy {
	p := a.RouteTable.Policy()
	for _, t := range a.tiers {
		if p.Tiers == nil {
			p.Tiers = map[string]routetable.RateLimit{}
		}
		limit := routetable.RateLimit{RateLimit: t.Tier.RateLimit, BurstLimit: t.Tier.BurstLimit}
		if q := t.Tier.Quota; q != nil {
			limit.QuotaLimit, limit.QuotaPeriod = q.Limit, string(q.Period)
		}
		p.Tiers[t.Tier.Name] = limit
	}
	return p
}

func modelID(r Route) string {
	var b strings.Builder
	for _, c := range r.Method + r.Path {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String() + "Body"
}

func newRestAPIProps(props *ScopedAPIProps, accessLogs awslogs.LogGroup) *awsapigateway.RestApiProps {
	stage := props.StageName
	if stage == "" {
		stage = DefaultStageName
	}
	rate, burst := props.ThrottlingRateLimit, props.ThrottlingBurstLimit
	if rate == 0 {
		rate = DefaultThrottlingRateLimit
	}
	if burst == 0 {
		burst = DefaultThrottlingBurstLimit
	}
	format, err := json.Marshal(accessLogFormat)
	if err != nil {
		panic(err)
	}
	var name *string
	if props.RestAPIName != "" {
		name = jsii.String(props.RestAPIName)
	}
	return &awsapigateway.RestApiProps{
		RestApiName:    name,
		Description:    jsii.String("REST API whose every method requires an OAuth 2.0 access token with the method's scopes"),
		EndpointTypes:  &[]awsapigateway.EndpointType{awsapigateway.EndpointType_REGIONAL},
		CloudWatchRole: jsii.Bool(props.CreateCloudWatchRole),
		DeployOptions: &awsapigateway.StageOptions{
			StageName:            jsii.String(stage),
			AccessLogDestination: awsapigateway.NewLogGroupLogDestination(accessLogs),
			AccessLogFormat:      awsapigateway.AccessLogFormat_Custom(jsii.String(string(format))),
			// ERROR, not INFO, and never data traces: those would log request
			// and response bodies and headers, bearer tokens included.
			LoggingLevel:         awsapigateway.MethodLoggingLevel_ERROR,
			DataTraceEnabled:     jsii.Bool(false),
			MetricsEnabled:       jsii.Bool(true),
			TracingEnabled:       jsii.Bool(true),
			ThrottlingRateLimit:  jsii.Number(rate),
			ThrottlingBurstLimit: jsii.Number(burst),
		},
	}
}

// addGatewayResponses makes API Gateway's own refusals JSON, as package
// gatewayresponse describes them: a 401 that says what it can mean (a bad
// token or a missing scope: the Cognito authorizer answers both alike), and
// the API-key and usage-plan refusals.
func addGatewayResponses(api awsapigateway.RestApi) {
	for _, g := range gatewayresponse.All {
		headers := map[string]*string{}
		for name, value := range g.Headers() {
			headers[name] = jsii.String("'" + value + "'")
		}
		api.AddGatewayResponse(jsii.String(g.ID), &awsapigateway.GatewayResponseOptions{
			Type:            awsapigateway.ResponseType_Of(jsii.String(g.Type)),
			StatusCode:      jsii.String(strconv.Itoa(g.Status)),
			ResponseHeaders: &headers,
			Templates:       &map[string]*string{"application/json": jsii.String(g.Template())},
		})
	}
	api.AddGatewayResponse(jsii.String("BadRequestBody"), &awsapigateway.GatewayResponseOptions{
		Type:            awsapigateway.ResponseType_BAD_REQUEST_BODY(),
		StatusCode:      jsii.String("400"),
		ResponseHeaders: &map[string]*string{"Content-Type": jsii.String("'application/json'")},
		Templates: &map[string]*string{
			"application/json": jsii.String(`{"error":"invalid_body","message":"$util.escapeJavaScript($context.error.validationErrorString)"}`),
		},
	})
}
