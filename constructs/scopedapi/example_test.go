package scopedapi_test

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
)

// A stack of your own: an orders API whose billing client may only read,
// while the fulfilment client may read and write, served by your own function.
func Example() {
	app := awscdk.NewApp(nil)
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
