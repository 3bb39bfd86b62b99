package scopedapi_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

func mockIntegration() awsapigateway.Integration {
	return awsapigateway.NewMockIntegration(&awsapigateway.IntegrationOptions{})
}

// Whoever adds a method to a guarded API, synthesis fails unless it requires
// a scoped access token of the pool; the message names every method at fault.
func TestGuardRefusesMethodsWithoutScopedTokens(t *testing.T) {
	for i, tc := range []struct {
		name  string
		spoil func(stack awscdk.Stack, api *scopedapi.ScopedAPI, s scopes)
		want  []string
	}{
		{"no authorization", func(_ awscdk.Stack, api *scopedapi.ScopedAPI, _ scopes) {
			api.RestAPI.Root().AddResource(jsii.String("open"), nil).AddMethod(jsii.String("GET"), mockIntegration(), nil)
		}, []string{"GET /open: authorization type NONE, not COGNITO_USER_POOLS", "no authorization scopes"}},
		{"authorizer without scopes", func(_ awscdk.Stack, api *scopedapi.ScopedAPI, _ scopes) {
			api.RestAPI.Root().AddResource(jsii.String("ids"), nil).AddMethod(jsii.String("GET"), mockIntegration(), &awsapigateway.MethodOptions{
				AuthorizationType: awsapigateway.AuthorizationType_COGNITO, Authorizer: api.Authorizer,
			})
		}, []string{"GET /ids: no authorization scopes"}},
		{"a scope the pool does not issue", func(_ awscdk.Stack, api *scopedapi.ScopedAPI, _ scopes) {
			api.RestAPI.Root().AddResource(jsii.String("admin"), nil).AddMethod(jsii.String("POST"), mockIntegration(), &awsapigateway.MethodOptions{
				AuthorizationType: awsapigateway.AuthorizationType_COGNITO, Authorizer: api.Authorizer, AuthorizationScopes: jsii.Strings("weather-api/admin"),
			})
		}, []string{`POST /admin: scope "weather-api/admin", which the pool does not issue`}},
		{"IAM authorization", func(_ awscdk.Stack, api *scopedapi.ScopedAPI, _ scopes) {
			r := api.RestAPI.Root().AddResource(jsii.String("iam"), nil)
			r.AddMethod(jsii.String("GET"), mockIntegration(), &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_IAM})
		}, []string{"GET /iam: authorization type AWS_IAM"}},
		// An authorizer of another pool and an OPTIONS that is no CORS
		// preflight are judged on the assembly: assemblyguard_test.go.
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := cdktest.NewApp()
			stack := awscdk.NewStack(app, jsii.String(fmt.Sprintf("Guarded%d", i)), nil)
			auth, s := newAuth(stack)
			api := scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
				Auth: auth, Handler: usersFunction(stack),
				Routes: []scopedapi.Route{{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{s.get}}},
			})
			tc.spoil(stack, api, s)
			msg := cdktest.Recover(func() { app.Synth(nil) })
			require.NotEmpty(t, msg, "the guard let a method through")
			assert.Contains(t, msg, "scopedapi: REST API Guarded"+fmt.Sprint(i)+"/Api/Resource is guarded")
			for _, want := range tc.want {
				assert.Contains(t, msg, want)
			}
			assert.NotContains(t, msg, "GET /:", "the declared route is fine")
		})
	}
}

// A RestApi built by hand is guarded with one call; CORS preflight OPTIONS
// methods pass where CORS is configured.
func TestGuardOnAnAPIBuiltByHand(t *testing.T) {
	build := func(scoped bool) awscdk.App {
		app := cdktest.NewApp()
		stack := awscdk.NewStack(app, jsii.String("Hand"), nil)
		auth, _ := newAuth(stack)
		api := awsapigateway.NewRestApi(stack, jsii.String("Api"), &awsapigateway.RestApiProps{
			DefaultCorsPreflightOptions: &awsapigateway.CorsOptions{AllowOrigins: awsapigateway.Cors_ALL_ORIGINS()},
		})
		authorizer := awsapigateway.NewCognitoUserPoolsAuthorizer(stack, jsii.String("Authorizer"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
			CognitoUserPools: &[]awscognito.IUserPool{auth.UserPool},
		})
		opts := &awsapigateway.MethodOptions{AuthorizationType: awsapigateway.AuthorizationType_COGNITO, Authorizer: authorizer}
		if scoped {
			opts.AuthorizationScopes = jsii.Strings("weather-api/get")
		}
		api.Root().AddResource(jsii.String("orders"), nil).AddMethod(jsii.String("GET"), mockIntegration(), opts)
		scopedapi.Guard(api, auth)
		return app
	}
	assert.Empty(t, cdktest.Recover(func() { build(true).Synth(nil) }), "scoped methods and CORS preflight pass")
	msg := cdktest.Recover(func() { build(false).Synth(nil) })
	assert.Contains(t, msg, "GET /orders: no authorization scopes")
	assert.NotContains(t, msg, "OPTIONS", "CORS preflight is the one exception")
}
