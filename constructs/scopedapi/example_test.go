package scopedapi_test

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
)

// A stack of your own: an orders API whose billing client may only read,
// while the fulfilment client may read and write, served by your own function.
func Example() {
	app := awscdk.NewApp(exampleAppProps())
	stack := awscdk.NewStack(app, jsii.String("Orders"), nil)

	orders := m2mauth.NewResourceServer("orders", "Orders API")
	read := orders.AddScope("read", "Read orders")
	write := orders.AddScope("write", "Create orders")
	auth := m2mauth.NewAuthServer(stack, "Auth", &m2mauth.AuthServerProps{
		ResourceServers: []*m2mauth.ResourceServer{orders},
		Clients: []m2mauth.ClientProps{
			{Name: "billing", Scopes: []m2mauth.Scope{read}},
			{Name: "fulfilment", Scopes: []m2mauth.Scope{read, write}, AccessTokenValidity: 15 * time.Minute},
		},
	})

	handler := awslambda.NewFunction(stack, jsii.String("OrdersFunction"), &awslambda.FunctionProps{
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code: awslambda.Code_FromBucket(
			awss3.Bucket_FromBucketName(stack, jsii.String("Artifacts"), jsii.String("my-artifacts")), jsii.String("orders.zip"), jsii.String("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")),
	})
	scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
		Auth:    auth,
		Handler: handler,
		Routes: []scopedapi.Route{
			{Method: "GET", Path: "/orders", Scopes: []m2mauth.Scope{read}},
			{Method: "POST", Path: "/orders", Scopes: []m2mauth.Scope{write}},
		},
	})

	template := assertions.Template_FromStack(stack, nil)
	for _, m := range *template.FindResources(jsii.String("AWS::ApiGateway::Method"), nil) {
		p := (*m)["Properties"].(map[string]any)
		fmt.Println(p["HttpMethod"], p["AuthorizationType"], p["AuthorizationScopes"])
	}
	for _, c := range auth.Clients {
		fmt.Println(c.Name, c.Scopes)
	}
	// Unordered output:
	// GET COGNITO_USER_POOLS [orders/read]
	// POST COGNITO_USER_POOLS [orders/write]
	// billing [orders/read]
	// fulfilment [orders/read orders/write]
}

// Adopt a REST API you built yourself, with CORS, and send a route to an HTTP
// backend instead of a function: the ScopedAPI adds its authorizer, scopes
// and guard, and leaves your API's stage and name alone.
func ExampleNewScopedAPI_existingRestAPIAndHTTPIntegration() {
	app := awscdk.NewApp(exampleAppProps())
	stack := awscdk.NewStack(app, jsii.String("Partners"), nil)
	partners := m2mauth.NewResourceServer("partners", "Partner API")
	quotes := partners.AddScope("quotes", "Read quotes")
	auth := m2mauth.NewAuthServer(stack, "Auth", &m2mauth.AuthServerProps{
		ResourceServers: []*m2mauth.ResourceServer{partners},
		Clients:         []m2mauth.ClientProps{{Name: "broker", Scopes: []m2mauth.Scope{quotes}}},
	})
	mine := awsapigateway.NewRestApi(stack, jsii.String("MyApi"), &awsapigateway.RestApiProps{
		RestApiName:                 jsii.String("partners"),
		DefaultCorsPreflightOptions: &awsapigateway.CorsOptions{AllowOrigins: jsii.Strings("https://partners.example.com")},
	})
	scopedapi.NewScopedAPI(stack, "Scoped", &scopedapi.ScopedAPIProps{
		Auth:    auth,
		RestAPI: mine,
		Routes: []scopedapi.Route{{
			Method: "GET", Path: "/quotes", Scopes: []m2mauth.Scope{quotes},
			Integration: awsapigateway.NewHttpIntegration(jsii.String("https://quotes.internal.example.com/v1/quotes"), nil),
		}},
	})

	template := assertions.Template_FromStack(stack, nil)
	for _, m := range sortedMethods(template) {
		fmt.Println(m)
	}
	// Output:
	// GET COGNITO_USER_POOLS [partners/quotes] HTTP_PROXY
	// OPTIONS NONE <nil> MOCK
	// OPTIONS NONE <nil> MOCK
}

// A user pool that another stack (or team) owns: declare the resource
// servers it has, so that routes name typed scopes; nothing is created in
// the pool.
func ExampleImportedPool() {
	app := awscdk.NewApp(exampleAppProps())
	stack := awscdk.NewStack(app, jsii.String("Reports"), nil)
	pool := awscognito.UserPool_FromUserPoolArn(stack, jsii.String("Pool"),
		jsii.String("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEfGhI"))
	reports := m2mauth.NewResourceServer("reports", "Reports API")
	read := reports.AddScope("read", "Read reports")

	scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
		Auth: scopedapi.ImportedPool{UserPool: pool, ResourceServers: []*m2mauth.ResourceServer{reports}},
		Routes: []scopedapi.Route{{
			Method: "GET", Path: "/reports", Scopes: []m2mauth.Scope{read},
			Integration: awsapigateway.NewHttpIntegration(jsii.String("https://reports.internal.example.com/"), nil),
		}},
	})

	template := assertions.Template_FromStack(stack, nil)
	for _, a := range *template.FindResources(jsii.String("AWS::ApiGateway::Authorizer"), nil) {
		fmt.Println((*a)["Properties"].(map[string]any)["ProviderARNs"])
	}
	for _, m := range sortedMethods(template) {
		fmt.Println(m)
	}
	// Output:
	// [arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbCdEfGhI]
	// GET COGNITO_USER_POOLS [reports/read] HTTP_PROXY
}

// Guard a REST API you build entirely yourself, so that nobody can add a
// method that skips the scopes: synthesis fails and names the method.
func ExampleGuard() {
	app := awscdk.NewApp(exampleAppProps())
	stack := awscdk.NewStack(app, jsii.String("Hand"), nil)
	orders := m2mauth.NewResourceServer("orders", "Orders API")
	read := orders.AddScope("read", "Read orders")
	auth := m2mauth.NewAuthServer(stack, "Auth", &m2mauth.AuthServerProps{
		ResourceServers: []*m2mauth.ResourceServer{orders},
		Clients:         []m2mauth.ClientProps{{Name: "billing", Scopes: []m2mauth.Scope{read}}},
	})
	api := awsapigateway.NewRestApi(stack, jsii.String("Api"), nil)
	authorizer := awsapigateway.NewCognitoUserPoolsAuthorizer(stack, jsii.String("Authorizer"), &awsapigateway.CognitoUserPoolsAuthorizerProps{
		CognitoUserPools: &[]awscognito.IUserPool{auth.UserPool},
	})
	mock := awsapigateway.NewMockIntegration(nil)
	orderResource := api.Root().AddResource(jsii.String("orders"), nil)
	orderResource.AddMethod(jsii.String("GET"), mock, &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_COGNITO, Authorizer: authorizer, AuthorizationScopes: jsii.Strings(read.String()),
	})
	orderResource.AddMethod(jsii.String("DELETE"), mock, nil) // forgot the authorizer

	scopedapi.Guard(api, auth)

	defer func() {
		msg := fmt.Sprint(recover())
		fmt.Println(msg[strings.Index(msg, "scopedapi:"):])
	}()
	app.Synth(nil)
	// Output:
	// scopedapi: REST API Hand/Api is guarded: every method must require an access token of its pool with a scope, but:
	//   DELETE /orders: authorization type NONE, not COGNITO_USER_POOLS; no authorization scopes
}

// sortedMethods prints each method as "HTTP-METHOD AUTHORIZATION SCOPES
// INTEGRATION-TYPE", sorted.
func sortedMethods(template assertions.Template) []string {
	var out []string
	for _, m := range *template.FindResources(jsii.String("AWS::ApiGateway::Method"), nil) {
		p := (*m)["Properties"].(map[string]any)
		out = append(out, fmt.Sprint(p["HttpMethod"], " ", p["AuthorizationType"], " ", p["AuthorizationScopes"], " ", p["Integration"].(map[string]any)["Type"]))
	}
	sort.Strings(out)
	return out
}

// exampleAppProps skip building the functions' code (the AuthServer's
// rotation function among them): an example shows the template, and a real
// `cdk synth` builds them.
func exampleAppProps() *awscdk.AppProps {
	return &awscdk.AppProps{Context: &map[string]any{"aws:cdk:bundling-stacks": []string{}}}
}
