// Package scopedapi builds an API Gateway REST API whose every method requires
// an OAuth 2.0 access token from an m2mauth.AuthServer carrying one of the
// method's scopes, in front of a Lambda proxy integration.
//
// Routes are declared once, with their scopes: API Gateway enforces them
// through its Cognito authorizer, and the same table reaches the function (a
// file in a Lambda layer, see routeauth.LoadTable) so that it can enforce
// them again.
package scopedapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/scopegate/scopegate/lambda/routeauth"
)

// ScopedAPI is a REST API whose methods all require scoped access tokens.
type ScopedAPI struct {
	constructs.Construct
	RestAPI    awsapigateway.RestApi
	Authorizer awsapigateway.CognitoUserPoolsAuthorizer
	// URL is the stage's invoke URL, ending in "/".
	URL *string
	// AccessLogs receives one JSON line per request.
	AccessLogs awslogs.LogGroup
	// RouteTable is what the function receives to re-check scopes.
	RouteTable routeauth.Table
	// RouteTableLayer carries RouteTable to the function, when the handler is
	// an awslambda.Function; nil otherwise.
	RouteTableLayer awslambda.LayerVersion
	// Methods maps "METHOD /path" to the API Gateway method.
	Methods map[string]awsapigateway.Method
}

// protect attaches the WAF web ACL when there is one, and records for
// cdk-nag why the rest of its findings do not apply.
func (a *ScopedAPI) protect(webACLArn string) {
	stage := a.RestAPI.DeploymentStage()
	if webACLArn != "" {
		awswafv2.NewCfnWebACLAssociation(a.Construct, jsii.String("WebAcl"), &awswafv2.CfnWebACLAssociationProps{
			ResourceArn: stage.StageArn(),
			WebAclArn:   jsii.String(webACLArn),
		})
	} else {
		cdknag.NagSuppressions_AddResourceSuppressions(stage, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-APIG3"),
			Reason: jsii.String("No WAF web ACL was given (ScopedAPIProps.WebACLArn). Every method already refuses callers " +
				"without a valid access token carrying its scope, and the stage is throttled; a web ACL adds IP and rate rules at extra cost."),
		}}, nil)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(a.RestAPI.LatestDeployment(), &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("CdkNagValidationFailure"),
		AppliesTo: &[]any{"Serverless-APIGWStructuredLogging"},
		Reason: jsii.String("The rule reads the Deployment's StageDescription, which a RestApi's deployment does not have, and throws; " +
			"the Stage it deploys to is checked by the same rule and has a JSON access log format."),
	}}, jsii.Bool(true))
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

// NewScopedAPI validates props and builds the API.
func NewScopedAPI(scope constructs.Construct, id string, props *ScopedAPIProps) *ScopedAPI {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	a := &ScopedAPI{Construct: constructs.NewConstruct(scope, jsii.String(id)), Methods: map[string]awsapigateway.Method{}}
	for _, r := range props.Routes {
		a.RouteTable = append(a.RouteTable, routeauth.Route{Method: r.Method, Path: r.Path, Scopes: routeScopes(r)})
	}

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
	a.Authorizer = awsapigateway.NewCognitoUserPoolsAuthorizer(a.Construct, jsii.String("Authorizer"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
		CognitoUserPools: &[]awscognito.IUserPool{props.Auth.UserPool},
		IdentitySource:   jsii.String("method.request.header.Authorization"),
	})
	addGatewayResponses(a.RestAPI)

	if fn, ok := props.Handler.(awslambda.Function); ok {
		a.RouteTableLayer = a.deliverRouteTable(fn)
	}
	// One permission for the whole stage, not one per method (as
	// LambdaIntegration adds): a function's resource policy holds 20 KB, about
	// 50 per-method statements.
	props.Handler.AddPermission(jsii.String("InvokeByScopedApi"+*awscdk.Names_NodeUniqueId(a.Node())), &awslambda.Permission{
		Principal: awsiam.NewServicePrincipal(jsii.String("apigateway.amazonaws.com"), nil),
		Action:    jsii.String("lambda:InvokeFunction"),
		SourceArn: a.RestAPI.ArnForExecuteApi(jsii.String("*"), jsii.String("/*"), a.RestAPI.DeploymentStage().StageName()),
		Scope:     a.Construct,
	})
	integration := awsapigateway.NewAwsIntegration(&awsapigateway.AwsIntegrationProps{
		Proxy:                 jsii.Bool(true),
		Service:               jsii.String("lambda"),
		Path:                  jsii.String("2015-03-31/functions/" + *props.Handler.FunctionArn() + "/invocations"),
		IntegrationHttpMethod: jsii.String("POST"),
	})
	// One validator for every method: the Authorization header must be there
	// (the authorizer would refuse without it anyway, but this refuses before
	// it runs), and bodies must match their route's model where there is one.
	validator := a.RestAPI.AddRequestValidator(jsii.String("RequestValidator"), &awsapigateway.RequestValidatorOptions{
		ValidateRequestBody:       jsii.Bool(true),
		ValidateRequestParameters: jsii.Bool(true),
	})
	for i, r := range props.Routes {
		opts := &awsapigateway.MethodOptions{
			AuthorizationType:   awsapigateway.AuthorizationType_COGNITO,
			Authorizer:          a.Authorizer,
			AuthorizationScopes: jsii.Strings(a.RouteTable[i].Scopes...),
			RequestValidator:    validator,
			RequestParameters:   &map[string]*bool{"method.request.header.Authorization": jsii.Bool(true)},
		}
		if r.BodySchema != nil {
			model := a.RestAPI.AddModel(jsii.String(modelID(r)), &awsapigateway.ModelOptions{
				ContentType: jsii.String("application/json"),
				Schema:      r.BodySchema,
			})
			opts.RequestModels = &map[string]awsapigateway.IModel{"application/json": model}
		}
		resource := a.RestAPI.Root().ResourceForPath(jsii.String(r.Path))
		a.Methods[r.Method+" "+r.Path] = resource.AddMethod(jsii.String(r.Method), integration, opts)
	}
	a.protect(props.WebACLArn)
	a.URL = a.RestAPI.Url()
	return a
}

func routeScopes(r Route) []string {
	scopes := make([]string, len(r.Scopes))
	for i, s := range r.Scopes {
		scopes[i] = s.String()
	}
	return scopes
}

// AccessPolicy is the scopes of each route; with the AuthServer's clients
// output (each client's scopes) it says which client may call which route.
func (a *ScopedAPI) AccessPolicy() routeauth.AccessPolicy {
	return a.RouteTable.Policy()
}

// deliverRouteTable writes the route table into a Lambda layer and points
// the function at it. The file is written under the assembly's asset
// directory, named by its content, so that synthesis stays deterministic and
// leaves nothing behind elsewhere.
func (a *ScopedAPI) deliverRouteTable(fn awslambda.Function) awslambda.LayerVersion {
	table, err := json.Marshal(a.RouteTable)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(table)
	dir := filepath.Join(*awscdk.Stage_Of(a.Construct).AssetOutdir(), "scopegate-routes-"+hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(filepath.Join(dir, routeauth.LayerDir), 0o755); err != nil {
		panic(fmt.Errorf("scopedapi: writing the route table: %w", err))
	}
	if err := os.WriteFile(filepath.Join(dir, routeauth.LayerDir, filepath.Base(routeauth.LayerFile)), table, 0o644); err != nil {
		panic(fmt.Errorf("scopedapi: writing the route table: %w", err))
	}
	layer := awslambda.NewLayerVersion(a.Construct, jsii.String("RouteTable"), &awslambda.LayerVersionProps{
		Code:        awslambda.Code_FromAsset(jsii.String(dir), nil),
		Description: jsii.String("scopegate route table: the scopes of each route, re-checked by the function"),
	})
	fn.AddLayers(layer)
	fn.AddEnvironment(jsii.String(routeauth.FileEnvVar), jsii.String(routeauth.LayerFile), nil)
	return layer
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

// addGatewayResponses makes API Gateway's own refusals JSON with an RFC 6750
// challenge, so that a machine can tell a bad token from a missing scope.
func addGatewayResponses(api awsapigateway.RestApi) {
	for _, g := range []struct {
		id, status, code string
		kind             awsapigateway.ResponseType
	}{
		{"Unauthorized", "401", "invalid_token", awsapigateway.ResponseType_UNAUTHORIZED()},
		{"AccessDenied", "403", "insufficient_scope", awsapigateway.ResponseType_ACCESS_DENIED()},
	} {
		api.AddGatewayResponse(jsii.String(g.id), &awsapigateway.GatewayResponseOptions{
			Type:       g.kind,
			StatusCode: jsii.String(g.status),
			ResponseHeaders: &map[string]*string{
				"WWW-Authenticate": jsii.String(fmt.Sprintf(`'Bearer error="%s"'`, g.code)),
				"Content-Type":     jsii.String("'application/json'"),
			},
			Templates: &map[string]*string{
				"application/json": jsii.String(fmt.Sprintf(`{"error":"%s","message":$context.error.messageString}`, g.code)),
			},
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
