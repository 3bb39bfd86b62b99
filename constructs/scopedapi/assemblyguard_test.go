package scopedapi_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/apiguard"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

// spoilLate is an aspect that runs after the guard's (a later priority) and
// opens every method whose path has "late" in it.
type spoilLate struct{ path string }

func (s *spoilLate) Visit(node constructs.IConstruct) {
	if m, ok := node.(awsapigateway.CfnMethod); ok && strings.Contains(*m.Node().Path(), s.path) {
		m.SetAuthorizationType(jsii.String("NONE"))
		m.SetAuthorizationScopes(nil)
	}
}

func scopedOpts(authorizer awsapigateway.IAuthorizer, scope string) *awsapigateway.MethodOptions {
	return &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_COGNITO, Authorizer: authorizer, AuthorizationScopes: jsii.Strings(scope)}
}

// synthAndJudge synthesizes app (the construct-tree check must pass) and
// judges its assembly.
func synthAndJudge(t *testing.T, app awscdk.App) []apiguard.Finding {
	t.Helper()
	var dir string
	msg := cdktest.Recover(func() { dir = *app.Synth(nil).Directory() })
	require.Empty(t, msg, "these methods get past the construct tree; only the assembly shows them")
	findings, err := apiguard.Check(dir)
	require.NoError(t, err)
	return findings
}

// Every way around the construct-tree check that a careful or careless user
// takes, in one app: each is a method the assembly check must refuse, named
// by template, logical id and METHOD /path.
func TestTheAssemblyGuardHoldsWhateverTheUserWrites(t *testing.T) {
	app := cdktest.NewApp()
	stack := awscdk.NewStack(app, jsii.String("Guarded"), nil)
	auth, s := newAuth(stack)
	api := scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
		Auth: auth, Handler: usersFunction(stack),
		Routes: []scopedapi.Route{{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{s.get}}},
	})
	root := api.RestAPI.Root()

	// 1. The API split across a nested stack and another stack, the CDK's
	// own pattern for large APIs.
	nested := awscdk.NewNestedStack(stack, jsii.String("Routes"), nil)
	imported := func(scope constructs.Construct) awsapigateway.IRestApi {
		return awsapigateway.RestApi_FromRestApiAttributes(scope, jsii.String("Imported"), &awsapigateway.RestApiAttributes{
			RestApiId: api.RestAPI.RestApiId(), RootResourceId: api.RestAPI.RestApiRootResourceId(),
		})
	}
	inNested := imported(nested)
	inNested.Root().AddResource(jsii.String("nested"), nil).AddMethod(jsii.String("GET"), mockIntegration(), nil)
	inNested.Root().AddResource(jsii.String("nestedok"), nil).AddMethod(jsii.String("GET"), mockIntegration(), scopedOpts(api.Authorizer, "weather-api/get"))
	other := awscdk.NewStack(app, jsii.String("Other"), nil)
	imported(other).Root().AddResource(jsii.String("cross"), nil).AddMethod(jsii.String("POST"), mockIntegration(), nil)

	// 2. An L2 Resource whose construct scope is outside the API.
	outside := awsapigateway.NewResource(stack, jsii.String("Outside"), &awsapigateway.ResourceProps{Parent: root, PathPart: jsii.String("outside")})
	outside.AddMethod(jsii.String("DELETE"), mockIntegration(), nil)

	// 3. An authorizer that lists the pool and another pool.
	otherPool := awscognito.NewUserPool(stack, jsii.String("PartnerPool"), nil)
	twoPools := awsapigateway.NewCognitoUserPoolsAuthorizer(stack, jsii.String("TwoPools"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
		CognitoUserPools: &[]awscognito.IUserPool{auth.UserPool, otherPool},
	})
	root.AddResource(jsii.String("twopools"), nil).AddMethod(jsii.String("GET"), mockIntegration(), scopedOpts(twoPools, "weather-api/get"))

	// 4. Escape hatches on methods.
	hatch := func(path string) awsapigateway.CfnMethod {
		m := root.AddResource(jsii.String(path), nil).AddMethod(jsii.String("GET"), mockIntegration(), scopedOpts(api.Authorizer, "weather-api/get"))
		return m.Node().DefaultChild().(awsapigateway.CfnMethod)
	}
	hatch("none").AddPropertyOverride(jsii.String("AuthorizationType"), "NONE")
	hatch("noscopes").AddPropertyDeletionOverride(jsii.String("AuthorizationScopes"))
	hatch("admin").AddPropertyOverride(jsii.String("AuthorizationScopes"), []string{"aws.cognito.signin.user.admin"})
	hatch("otherauthorizer").AddPropertyOverride(jsii.String("AuthorizerId"), twoPools.AuthorizerId())

	// 5. A SpecRestApi guarded like any other: its OpenAPI body is not seen.
	spec := awsapigateway.NewSpecRestApi(stack, jsii.String("Spec"), &awsapigateway.SpecRestApiProps{
		ApiDefinition: awsapigateway.ApiDefinition_FromInline(map[string]any{
			"openapi": "3.0.1", "info": map[string]any{"title": "spec", "version": "1"},
			"paths": map[string]any{"/open": map[string]any{"get": map[string]any{"x-amazon-apigateway-integration": map[string]any{"type": "mock"}}}},
		}),
	})
	scopedapi.Guard(spec, auth)

	// 6. CORS: the preflight replaced by an integration that reaches a backend.
	cors := root.AddResource(jsii.String("cors"), &awsapigateway.ResourceOptions{
		DefaultCorsPreflightOptions: &awsapigateway.CorsOptions{AllowOrigins: awsapigateway.Cors_ALL_ORIGINS()},
	})
	cors.AddMethod(jsii.String("GET"), mockIntegration(), scopedOpts(api.Authorizer, "weather-api/get"))
	cors.Node().FindChild(jsii.String("OPTIONS")).Node().DefaultChild().(awsapigateway.CfnMethod).AddPropertyOverride(jsii.String("Integration"),
		map[string]any{"Type": "HTTP_PROXY", "IntegrationHttpMethod": "ANY", "Uri": "https://backend.example.com/"})

	findings := synthAndJudge(t, app)
	byWhere := map[string]apiguard.Finding{}
	for _, f := range findings {
		byWhere[f.Where] = f
	}
	for where, want := range map[string][]string{
		"GET /nested":          {"authorization type NONE, not COGNITO_USER_POOLS", "no authorization scopes"},
		"POST /cross":          {"authorization type NONE"},
		"DELETE /outside":      {"authorization type NONE"},
		"GET /twopools":        {"trusts [", "not exactly the guarded pool(s)"},
		"GET /none":            {"authorization type NONE"},
		"GET /noscopes":        {"no authorization scopes (the Cognito authorizer then accepts any ID token of the pool)"},
		"GET /admin":           {`scope "aws.cognito.signin.user.admin", which the trusted pool does not issue`},
		"GET /otherauthorizer": {"not exactly the guarded pool(s)"},
		"OPTIONS /cors":        {"authorization type NONE", "it is not a CORS preflight"},
		"REST API":             {"it is defined by Body"},
	} {
		f, ok := byWhere[where]
		if !assert.True(t, ok, "the assembly guard let %s through; findings: %v", where, findings) {
			continue
		}
		for _, w := range want {
			assert.Contains(t, f.Error(), w, where)
		}
		assert.NotEmpty(t, f.LogicalID, where)
		assert.Contains(t, f.Template, ".template.json", where)
	}
	assert.Equal(t, "Other.template.json", byWhere["POST /cross"].Template, "a method in another stack, through an export")
	assert.Contains(t, byWhere["GET /nested"].Template, ".nested.template.json", "a method in a nested stack, through its parameters")
	for _, fine := range []string{"GET /", "GET /nestedok", "GET /cors"} {
		assert.NotContains(t, byWhere, fine, "%s requires a scoped token of the pool", fine)
	}
	assert.Len(t, findings, 10, "%v", findings)
	err := apiguard.CheckDir(*app.Synth(nil).Directory())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Other.template.json ")
}

// An aspect that opens a method, whatever its priority, is seen by the
// construct-tree check: it judges the tree when it is validated, after
// every aspect ran.
func TestTheTreeGuardSeesWhatAspectsDo(t *testing.T) {
	app := cdktest.NewApp()
	stack := awscdk.NewStack(app, jsii.String("Guarded"), nil)
	auth, s := newAuth(stack)
	api := scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
		Auth: auth, Handler: usersFunction(stack),
		Routes: []scopedapi.Route{{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{s.get}}},
	})
	api.RestAPI.Root().AddResource(jsii.String("late"), nil).AddMethod(jsii.String("GET"), mockIntegration(), scopedOpts(api.Authorizer, "weather-api/get"))
	awscdk.Aspects_Of(stack).Add(&spoilLate{path: "late"}, &awscdk.AspectOptions{Priority: jsii.Number(1000)})

	msg := cdktest.Recover(func() { app.Synth(nil) })
	assert.Contains(t, msg, "GET /late: authorization type NONE, not COGNITO_USER_POOLS; no authorization scopes")
	assert.NotContains(t, msg, "GET /:", "the declared route is fine")
}

// What documented CDK builds for a correct API passes: AddCorsPreflight, an
// authorizer of the same pool imported by id or ARN, and an L1 authorizer
// referenced by AttrAuthorizerId (in the construct tree and in the assembly).
func TestTheAssemblyGuardHasNoFalseAlarms(t *testing.T) {
	app := cdktest.NewApp()
	stack := awscdk.NewStack(app, jsii.String("Fine"), nil)
	auth, s := newAuth(stack)
	api := scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
		Auth: auth, Handler: usersFunction(stack),
		Routes: []scopedapi.Route{{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{s.get}}},
	})
	root := api.RestAPI.Root()

	preflight := root.AddResource(jsii.String("preflight"), nil)
	preflight.AddCorsPreflight(&awsapigateway.CorsOptions{AllowOrigins: jsii.Strings("https://app.example.com")})
	preflight.AddMethod(jsii.String("GET"), mockIntegration(), scopedOpts(api.Authorizer, "weather-api/get"))

	byID := awsapigateway.NewCognitoUserPoolsAuthorizer(stack, jsii.String("ById"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
		CognitoUserPools: &[]awscognito.IUserPool{awscognito.UserPool_FromUserPoolId(stack, jsii.String("SamePoolById"), auth.UserPool.UserPoolId())},
	})
	root.AddResource(jsii.String("byid"), nil).AddMethod(jsii.String("GET"), mockIntegration(), scopedOpts(byID, "weather-api/get"))
	byArn := awsapigateway.NewCognitoUserPoolsAuthorizer(stack, jsii.String("ByArn"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
		CognitoUserPools: &[]awscognito.IUserPool{awscognito.UserPool_FromUserPoolArn(stack, jsii.String("SamePoolByArn"), auth.UserPool.UserPoolArn())},
	})
	root.AddResource(jsii.String("byarn"), nil).AddMethod(jsii.String("GET"), mockIntegration(), scopedOpts(byArn, "weather-api/post"))

	l1 := awsapigateway.NewCfnAuthorizer(stack, jsii.String("L1Authorizer"), &awsapigateway.CfnAuthorizerProps{
		Name: jsii.String("l1"), RestApiId: api.RestAPI.RestApiId(), Type: jsii.String("COGNITO_USER_POOLS"),
		ProviderArns: &[]any{auth.UserPool.UserPoolArn()}, IdentitySource: jsii.String("method.request.header.Authorization"),
	})
	l1Resource := root.AddResource(jsii.String("l1"), nil)
	awsapigateway.NewCfnMethod(api.RestAPI, jsii.String("L1Method"), &awsapigateway.CfnMethodProps{
		RestApiId: api.RestAPI.RestApiId(), ResourceId: l1Resource.ResourceId(), HttpMethod: jsii.String("GET"),
		AuthorizationType: jsii.String("COGNITO_USER_POOLS"), AuthorizerId: l1.AttrAuthorizerId(),
		AuthorizationScopes: jsii.Strings("reports/read"),
		Integration:         &awsapigateway.CfnMethod_IntegrationProperty{Type: jsii.String("MOCK")},
	})

	assert.Empty(t, synthAndJudge(t, app))
}
