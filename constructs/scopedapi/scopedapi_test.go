package scopedapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
	"github.com/scopegate/scopegate/routetable"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

type scopes struct{ get, post, del, read m2mauth.Scope }

// newAuth declares two resource servers, so routes can mix them.
func newAuth(stack awscdk.Stack) (*m2mauth.AuthServer, scopes) {
	weather := m2mauth.NewResourceServer("weather-api", "Weather")
	reports := m2mauth.NewResourceServer("reports", "Reports")
	s := scopes{
		get: weather.AddScope("get", "List"), post: weather.AddScope("post", "Create"),
		del: weather.AddScope("delete", "Delete"), read: reports.AddScope("read", "Read"),
	}
	auth := m2mauth.NewAuthServer(stack, "Auth", &m2mauth.AuthServerProps{
		ResourceServers: []*m2mauth.ResourceServer{weather, reports},
		Clients:         []m2mauth.ClientProps{{Name: "svc", Scopes: []m2mauth.Scope{s.get, s.post}}},
		Domain:          m2mauth.PrefixDomain{Prefix: "scopedapi-test"},
	})
	return auth, s
}

// usersFunction stands for a user's own function, whatever its code.
func usersFunction(stack awscdk.Stack) awslambda.Function {
	return awslambda.NewFunction(stack, jsii.String("UsersFunction"), &awslambda.FunctionProps{
		Runtime: awslambda.Runtime_PROVIDED_AL2023(),
		Handler: jsii.String("bootstrap"),
		Code:    awslambda.Code_FromBucket(awss3.Bucket_FromBucketName(stack, jsii.String("Code"), jsii.String("code-bucket")), jsii.String("fn.zip"), jsii.String("v1")),
	})
}

var bodySchema = &awsapigateway.JsonSchema{
	Type:     awsapigateway.JsonSchemaType_OBJECT,
	Required: jsii.Strings("name"),
	Properties: &map[string]*awsapigateway.JsonSchema{
		"name": {Type: awsapigateway.JsonSchemaType_STRING},
	},
	AdditionalProperties: jsii.Bool(false),
}

type fixture struct {
	stack    awscdk.Stack
	api      *scopedapi.ScopedAPI
	auth     *m2mauth.AuthServer
	fn       awslambda.Function
	template cdktest.Template
	declared map[string][]string
}

var (
	once               sync.Once
	routed, proxy      *fixture
	wide               *fixture
	suspending         *fixture
	withCloudWatchRole cdktest.Template
)

// wideRoutes lays out n routes as a real REST API would: GET, POST and
// DELETE on each of n/3 resources.
func wideRoutes(n int, scopes ...m2mauth.Scope) ([]scopedapi.Route, map[string][]string) {
	routes := make([]scopedapi.Route, n)
	declared := map[string][]string{}
	for i := range routes {
		s := scopes[i%len(scopes)]
		routes[i] = scopedapi.Route{Method: []string{"GET", "POST", "DELETE"}[i%3], Path: fmt.Sprintf("/partners/r%d", i/3), Scopes: []m2mauth.Scope{s}}
		declared[routes[i].Method+" "+routes[i].Path] = []string{s.String()}
	}
	return routes, declared
}

// One app, three configurations, one synthesis.
func load(t *testing.T) {
	t.Helper()
	once.Do(func() {
		app := cdktest.NewApp()

		stack := awscdk.NewStack(app, jsii.String("Routed"), nil)
		auth, s := newAuth(stack)
		fn := usersFunction(stack)
		api := scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
			Auth: auth, Handler: fn, StageName: "weather",
			ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40,
			Routes: []scopedapi.Route{
				{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{s.get}},
				{Method: "POST", Path: "/", Scopes: []m2mauth.Scope{s.post}, BodySchema: bodySchema},
				{Method: "DELETE", Path: "/{id}", Scopes: []m2mauth.Scope{s.del}},
				{Method: "GET", Path: "/reports/{year}", Scopes: []m2mauth.Scope{s.read, s.get}},
			},
		})
		routed = &fixture{stack: stack, api: api, auth: auth, fn: fn, declared: map[string][]string{
			"GET /": {"weather-api/get"}, "POST /": {"weather-api/post"}, "DELETE /{id}": {"weather-api/delete"},
			"GET /reports/{year}": {"reports/read", "weather-api/get"},
		}}

		pstack := awscdk.NewStack(app, jsii.String("Proxy"), nil)
		pauth, ps := newAuth(pstack)
		pfn := usersFunction(pstack)
		papi := scopedapi.NewScopedAPI(pstack, "Api", &scopedapi.ScopedAPIProps{Auth: pauth, Handler: pfn, Routes: scopedapi.ProxyRoutes(ps.read)})
		proxy = &fixture{stack: pstack, api: papi, auth: pauth, fn: pfn, declared: map[string][]string{
			"ANY /": {"reports/read"}, "ANY /{proxy+}": {"reports/read"},
		}}

		cstack := awscdk.NewStack(app, jsii.String("WithRole"), nil)
		cauth, cs := newAuth(cstack)
		scopedapi.NewScopedAPI(cstack, "Api", &scopedapi.ScopedAPIProps{
			Auth: cauth, Handler: usersFunction(cstack), CreateCloudWatchRole: true,
			Routes: []scopedapi.Route{{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{cs.get}}},
		})

		wstack := awscdk.NewStack(app, jsii.String("Wide"), nil)
		wauth, ws := newAuth(wstack)
		wfn := usersFunction(wstack)
		routes, declared := wideRoutes(300, ws.get, ws.post, ws.del, ws.read)
		wapi := scopedapi.NewScopedAPI(wstack, "Api", &scopedapi.ScopedAPIProps{Auth: wauth, Handler: wfn, Routes: routes})
		wide = &fixture{stack: wstack, api: wapi, auth: wauth, fn: wfn, declared: declared}

		// A pool with a suspended client that has no API key, a route the
		// function does not serve, and no dashboard.
		sstack := awscdk.NewStack(app, jsii.String("Suspending"), nil)
		server := m2mauth.NewResourceServer("weather-api", "Weather")
		get := server.AddScope("get", "List")
		sauth := m2mauth.NewAuthServer(sstack, "Auth", &m2mauth.AuthServerProps{
			ResourceServers: []*m2mauth.ResourceServer{server},
			Clients: []m2mauth.ClientProps{
				{Name: "svc", Scopes: []m2mauth.Scope{get}},
				{Name: "gone", Scopes: []m2mauth.Scope{get}, Suspended: true, AccessTokenValidity: 2 * time.Hour},
			},
			Domain: m2mauth.PrefixDomain{Prefix: "scopedapi-suspend"},
		})
		sfn := usersFunction(sstack)
		sapi := scopedapi.NewScopedAPI(sstack, "Api", &scopedapi.ScopedAPIProps{Auth: sauth, Handler: sfn, NoDashboard: true, Routes: []scopedapi.Route{
			{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{get}},
			{Method: "GET", Path: "/status", Scopes: []m2mauth.Scope{get}, Integration: awsapigateway.NewMockIntegration(nil)},
		}})
		suspending = &fixture{stack: sstack, api: sapi, auth: sauth, fn: sfn}

		routed.template = cdktest.Synth(t, stack)
		suspending.template = cdktest.Synth(t, sstack)
		proxy.template = cdktest.Synth(t, pstack)
		wide.template = cdktest.Synth(t, wstack)
		withCloudWatchRole = cdktest.Synth(t, cstack)
	})
	if routed == nil || routed.template == nil || proxy.template == nil {
		t.Fatal("shared synthesis failed in an earlier test")
	}
}

func both(t *testing.T, check func(t *testing.T, f *fixture)) {
	load(t)
	for name, f := range map[string]*fixture{"routes": routed, "proxy": proxy, "300 routes": wide} {
		t.Run(name, func(t *testing.T) { check(t, f) })
	}
}

func authorizerID(f *fixture) string {
	return cdktest.LogicalID(f.stack, f.api.Authorizer.Node().DefaultChild().(awscdk.CfnElement))
}

// Security properties 1 and 2 (docs/security.md): every method needs a Cognito access
// token with one of its scopes, and every scope is a declared custom scope.
func TestEveryMethodRequiresScopedAccessTokens(t *testing.T) {
	both(t, func(t *testing.T, f *fixture) {
		methods := f.template.Methods()
		require.NotEmpty(t, methods)
		for _, m := range methods {
			if m.HTTPMethod == "OPTIONS" {
				continue
			}
			where := m.HTTPMethod + " " + m.Path
			assert.Equal(t, "COGNITO_USER_POOLS", m.Properties["AuthorizationType"], where)
			assert.Equal(t, map[string]any{"Ref": authorizerID(f)}, m.Properties["AuthorizerId"], where)
			require.NotEmpty(t, m.Scopes, where)
			for _, s := range m.Scopes {
				scope, err := m2mauth.ParseScope(f.auth.ResourceServers, s)
				assert.NoError(t, err, where)
				assert.True(t, f.auth.Owns(scope), where)
			}
		}
	})
}

// Security property 4 (docs/security.md): the deployed (method, path, scopes) are exactly
// the declared routes, no more, no fewer.
func TestMethodsAreExactlyTheDeclaredRoutes(t *testing.T) {
	both(t, func(t *testing.T, f *fixture) {
		got := map[string][]string{}
		for _, m := range f.template.Methods() {
			got[m.HTTPMethod+" "+m.Path] = m.Scopes
		}
		assert.Equal(t, f.declared, got)
	})
}

// Security property 3 (docs/security.md).
func TestAuthorizerTrustsOnlyThisPoolAndReadsTheAuthorizationHeader(t *testing.T) {
	both(t, func(t *testing.T, f *fixture) {
		authorizers := f.template.Resources("AWS::ApiGateway::Authorizer")
		require.Len(t, authorizers, 1)
		p := authorizers[0].Properties
		pool := cdktest.LogicalID(f.stack, f.auth.UserPool.Node().DefaultChild().(awscdk.CfnElement))
		assert.Equal(t, "COGNITO_USER_POOLS", p["Type"])
		assert.Equal(t, []any{map[string]any{"Fn::GetAtt": []any{pool, "Arn"}}}, p["ProviderARNs"])
		assert.Equal(t, "method.request.header.Authorization", p["IdentitySource"])
		assert.NotContains(t, p, "IdentityValidationExpression")
	})
}

// Security property 10 (docs/security.md).
func TestStageLogsThrottlesAndTraces(t *testing.T) {
	load(t)
	stages := routed.template.Resources("AWS::ApiGateway::Stage")
	require.Len(t, stages, 1)
	p := stages[0].Properties
	assert.Equal(t, "weather", p["StageName"])
	assert.Equal(t, true, p["TracingEnabled"])

	access := p["AccessLogSetting"].(map[string]any)
	logGroup := cdktest.LogicalID(routed.stack, routed.api.AccessLogs.Node().DefaultChild().(awscdk.CfnElement))
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{logGroup, "Arn"}}, access["DestinationArn"])
	var format map[string]string
	require.NoError(t, json.Unmarshal([]byte(access["Format"].(string)), &format), "access log format must be JSON")
	assert.Equal(t, "$context.requestId", format["requestId"])
	assert.Equal(t, "$context.authorizer.claims.client_id", format["clientId"])

	require.Len(t, p["MethodSettings"], 1)
	settings := p["MethodSettings"].([]any)[0].(map[string]any)
	assert.Equal(t, "/*", settings["ResourcePath"])
	assert.Equal(t, "*", settings["HttpMethod"])
	assert.Equal(t, "ERROR", settings["LoggingLevel"])
	assert.Equal(t, false, settings["DataTraceEnabled"])
	assert.EqualValues(t, 20, settings["ThrottlingRateLimit"])
	assert.EqualValues(t, 40, settings["ThrottlingBurstLimit"])

	accessLogs := routed.template.Resource(logGroup)["Properties"].(map[string]any)
	assert.EqualValues(t, 30, accessLogs["RetentionInDays"])
}

func TestProxyStageUsesDefaults(t *testing.T) {
	load(t)
	p := proxy.template.Resources("AWS::ApiGateway::Stage")[0].Properties
	assert.Equal(t, scopedapi.DefaultStageName, p["StageName"])
	settings := p["MethodSettings"].([]any)[0].(map[string]any)
	assert.EqualValues(t, scopedapi.DefaultThrottlingRateLimit, settings["ThrottlingRateLimit"])
	assert.EqualValues(t, scopedapi.DefaultThrottlingBurstLimit, settings["ThrottlingBurstLimit"])
}

func TestRestAPIIsRegionalWithoutAccountRoleByDefault(t *testing.T) {
	both(t, func(t *testing.T, f *fixture) {
		apis := f.template.Resources("AWS::ApiGateway::RestApi")
		require.Len(t, apis, 1)
		assert.Equal(t, map[string]any{"Types": []any{"REGIONAL"}}, apis[0].Properties["EndpointConfiguration"])
		assert.Empty(t, f.template.Resources("AWS::ApiGateway::Account"), "the account-wide role is opt-in")
	})
}

func TestCloudWatchRoleIsCreatedOnlyWhenAskedFor(t *testing.T) {
	load(t)
	assert.Len(t, withCloudWatchRole.Resources("AWS::ApiGateway::Account"), 1)
}

// One invoke permission per API, whatever its number of methods, naming this
// API and its stage, never any API or the console's test stage.
func TestOneInvokePermissionScopedToTheStage(t *testing.T) {
	both(t, func(t *testing.T, f *fixture) {
		perms := f.template.PermissionsOf(cdktest.LogicalID(f.stack, f.fn.Node().DefaultChild().(awscdk.CfnElement)))
		require.Len(t, perms, 1)
		p := perms[0]
		api := cdktest.LogicalID(f.stack, f.api.RestAPI.Node().DefaultChild().(awscdk.CfnElement))
		stage := cdktest.LogicalID(f.stack, f.api.RestAPI.DeploymentStage().Node().DefaultChild().(awscdk.CfnElement))
		fnID := cdktest.LogicalID(f.stack, f.fn.Node().DefaultChild().(awscdk.CfnElement))
		assert.Equal(t, "apigateway.amazonaws.com", p.Properties["Principal"])
		assert.Equal(t, "lambda:InvokeFunction", p.Properties["Action"])
		assert.Equal(t, map[string]any{"Fn::GetAtt": []any{fnID, "Arn"}}, p.Properties["FunctionName"])
		arn, _ := json.Marshal(p.Properties["SourceArn"])
		assert.Contains(t, string(arn), `{"Ref":"`+api+`"}`)
		assert.Contains(t, string(arn), `{"Ref":"`+stage+`"}`)
		assert.NotContains(t, string(arn), "test-invoke-stage")
	})
}

// The function gets the same table API Gateway was configured from, in a
// layer: its environment only names the file, so any number of routes fits
// Lambda's 4 KB of environment.
func TestFunctionReceivesTheRouteTableInALayer(t *testing.T) {
	both(t, func(t *testing.T, f *fixture) {
		fnID := cdktest.LogicalID(f.stack, f.fn.Node().DefaultChild().(awscdk.CfnElement))
		props := f.template.Resource(fnID)["Properties"].(map[string]any)
		env := props["Environment"].(map[string]any)["Variables"].(map[string]any)
		file := env[routetable.FileEnvVar].(string)
		assert.Regexp(t, `^/opt/scopegate/routes-[0-9a-f]{16}\.json$`, file)
		layerID := cdktest.LogicalID(f.stack, f.api.RouteTableLayer.Node().DefaultChild().(awscdk.CfnElement))
		assert.Equal(t, []any{map[string]any{"Ref": layerID}}, props["Layers"])

		data, err := cdktest.AssetFile(f.stack, f.template, layerID, strings.TrimPrefix(file, "/opt/"))
		require.NoError(t, err)
		table, err := routetable.Parse(data)
		require.NoError(t, err)
		assert.Equal(t, f.api.RouteTable, table)
		got := map[string][]string{}
		for _, r := range table {
			got[r.Method+" "+r.Path] = r.Scopes
		}
		assert.Equal(t, f.declared, got)
	})
}

// Each route costs its method, plus a resource for each new path segment.
func TestRoutesCostAMethodAndTheirResources(t *testing.T) {
	load(t)
	assert.Len(t, wide.template.Resources("AWS::ApiGateway::Method"), 300)
	assert.Len(t, wide.template.Resources("AWS::ApiGateway::Resource"), 101) // /partners and /partners/r0..r99
}

// Every method requires the Authorization header before the authorizer runs;
// body routes also have their JSON validated against the route's model.
func TestRequestsAreValidatedByAPIGateway(t *testing.T) {
	load(t)
	validators := routed.template.Resources("AWS::ApiGateway::RequestValidator")
	require.Len(t, validators, 1)
	assert.Equal(t, true, validators[0].Properties["ValidateRequestBody"])
	assert.Equal(t, true, validators[0].Properties["ValidateRequestParameters"])
	models := routed.template.Resources("AWS::ApiGateway::Model")
	require.Len(t, models, 1)
	assert.Equal(t, false, models[0].Properties["Schema"].(map[string]any)["additionalProperties"])
	for _, m := range routed.template.Methods() {
		where := m.HTTPMethod + " " + m.Path
		assert.Equal(t, map[string]any{"Ref": validators[0].LogicalID}, m.Properties["RequestValidatorId"], where)
		assert.Equal(t, map[string]any{"method.request.header.Authorization": true}, m.Properties["RequestParameters"], where)
		if m.HTTPMethod == "POST" {
			assert.Equal(t, map[string]any{"application/json": map[string]any{"Ref": models[0].LogicalID}}, m.Properties["RequestModels"], where)
		} else {
			assert.NotContains(t, m.Properties, "RequestModels", where)
		}
	}
}

// Gateway refusals are JSON. A scope miss at the Cognito authorizer is a
// 401 (API Gateway developer guide, "Integrate a REST API with an Amazon
// Cognito user pool"), the same 401 as a bad token, so the UNAUTHORIZED
// answer must not claim the token is invalid: a Bearer challenge without an
// error code (RFC 6750 section 3) and a body that says what a 401 can mean.
func TestGatewayResponsesSayWhatA401CanMean(t *testing.T) {
	load(t)
	byType := map[string]map[string]any{}
	for _, r := range routed.template.Resources("AWS::ApiGateway::GatewayResponse") {
		byType[r.Properties["ResponseType"].(string)] = r.Properties
	}
	for kind, want := range map[string]struct{ status, challenge, code string }{
		"UNAUTHORIZED":    {"401", `'Bearer realm="scopegate"'`, "unauthorized"},
		"ACCESS_DENIED":   {"403", "", "access_denied"},
		"INVALID_API_KEY": {"403", "", "invalid_api_key"},
		"THROTTLED":       {"429", "", "throttled"},
		"QUOTA_EXCEEDED":  {"429", "", "quota_exceeded"},
	} {
		p := byType[kind]
		require.NotNil(t, p, kind)
		assert.Equal(t, want.status, p["StatusCode"], kind)
		headers := p["ResponseParameters"].(map[string]any)
		if want.challenge == "" {
			assert.NotContains(t, headers, "gatewayresponse.header.WWW-Authenticate", kind)
		} else {
			assert.Equal(t, want.challenge, headers["gatewayresponse.header.WWW-Authenticate"], kind)
		}
		assert.Equal(t, "'application/json'", headers["gatewayresponse.header.Content-Type"], kind)
		template := p["ResponseTemplates"].(map[string]any)["application/json"].(string)
		assert.Contains(t, template, `"error":"`+want.code+`"`, kind)
		assert.NotContains(t, template, "invalid_token", kind)
		assert.NotContains(t, template, "insufficient_scope", kind)
	}
	assert.Contains(t, byType["UNAUTHORIZED"]["ResponseTemplates"].(map[string]any)["application/json"], "carries none of the scopes this method requires")
	assert.Equal(t, "'1'", byType["THROTTLED"]["ResponseParameters"].(map[string]any)["gatewayresponse.header.Retry-After"])
	assert.Contains(t, byType, "BAD_REQUEST_BODY")
}

func TestInvalidPropsPanicBeforeCreatingAnything(t *testing.T) {
	app := cdktest.NewApp()
	for i, tc := range []struct {
		name  string
		spoil func(p *scopedapi.ScopedAPIProps, s scopes, other m2mauth.Scope)
		want  string
	}{
		{"no auth", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Auth = nil }, "Auth is required"},
		{"no handler", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Handler = nil }, "Handler is required"},
		{"no routes", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Routes = nil }, "Routes is empty"},
		{"route without scopes", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) {
			p.Routes = append(p.Routes, scopedapi.Route{Method: "PUT", Path: "/{id}"})
		}, "Routes[1] PUT /{id} has no Scopes: every route needs at least one"},
		{"zero scope", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) {
			p.Routes[0].Scopes = append(p.Routes[0].Scopes, m2mauth.Scope{})
		}, "Routes[0] GET /: Scopes[1] is the zero Scope"},
		{"scope from another pool", func(p *scopedapi.ScopedAPIProps, _ scopes, other m2mauth.Scope) {
			p.Routes[0].Scopes = []m2mauth.Scope{other}
		}, `Routes[0] GET /: Scopes[0] "weather-api/get" is not declared by this API's AuthServer`},
		{"unknown method", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Routes[0].Method = "get" }, `Method "get" must be one of`},
		{"OPTIONS", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Routes[0].Method = "OPTIONS" }, `Method "OPTIONS" must be one of`},
		{"relative path", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Routes[0].Path = "events" }, `Path "events" must start with "/"`},
		{"trailing slash", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Routes[0].Path = "/events/" }, `must start with "/" and not end with one`},
		{"empty segment", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Routes[0].Path = "/a//b" }, `has an invalid segment ""`},
		{"greedy not last", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Routes[0].Path = "/{proxy+}/x" }, "may only use {proxy+} as its last segment"},
		{"bad parameter", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.Routes[0].Path = "/{my-id}" }, `invalid segment "{my-id}"`},
		{"duplicate route", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) {
			p.Routes = append(p.Routes, p.Routes[0])
		}, "Routes[1] GET / is declared again (first at Routes[0])"},
		{"stage name", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.StageName = "my stage" }, `StageName "my stage"`},
		{"negative rate", func(p *scopedapi.ScopedAPIProps, _ scopes, _ m2mauth.Scope) { p.ThrottlingRateLimit = -1 }, "ThrottlingRateLimit -1 must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stack := awscdk.NewStack(app, jsii.String(fmt.Sprintf("Case%d", i)), nil)
			auth, s := newAuth(stack)
			otherStack := awscdk.NewStack(app, jsii.String(fmt.Sprintf("Other%d", i)), nil)
			_, otherScopes := newAuth(otherStack)
			props := &scopedapi.ScopedAPIProps{
				Auth: auth, Handler: usersFunction(stack),
				Routes: []scopedapi.Route{{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{s.get}}},
			}
			tc.spoil(props, s, otherScopes.get)
			msg := cdktest.Recover(func() { scopedapi.NewScopedAPI(stack, "Api", props) })
			require.NotEmpty(t, msg, "bad props were accepted")
			assert.Contains(t, msg, tc.want)
			assert.True(t, strings.HasPrefix(msg, "scopedapi: "), msg)
			assert.Nil(t, stack.Node().TryFindChild(jsii.String("Api")), "a construct was created before validation failed")
		})
	}
}

// The access policy is each route's scopes; which client it opens follows
// from the scopes the client holds (svc: weather-api/get and post).
func TestAccessPolicy(t *testing.T) {
	load(t)
	policy := routed.api.AccessPolicy()
	assert.Equal(t, routetable.AccessPolicy{
		Routes: map[string][]string{
			"GET /": {"weather-api/get"}, "POST /": {"weather-api/post"}, "DELETE /{id}": {"weather-api/delete"},
			"GET /reports/{year}": {"reports/read", "weather-api/get"},
		},
	}, policy)
	var decoded routetable.AccessPolicy
	require.NoError(t, json.Unmarshal([]byte(policy.JSON()), &decoded))
	assert.Equal(t, policy, decoded)
	svc := routed.auth.Client("svc")
	scopes := []string{svc.Scopes[0].String(), svc.Scopes[1].String()}
	assert.Equal(t, map[string]bool{"GET /": true, "POST /": true, "DELETE /{id}": false, "GET /reports/{year}": true}, policy.Opens(scopes))
	assert.Equal(t, map[string]bool{"ANY /": false, "ANY /{proxy+}": false}, proxy.api.AccessPolicy().Opens(scopes))
}
