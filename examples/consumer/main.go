// Command consumer is a CDK app of the kind scopegate's users write: their
// own stack, built from scopegate's constructs only, with the outputs
// scopegate's verifier reads and the synth-time limit check.
package main

import (
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/cdkapp"
	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
)

// OrdersStack is the consumer's API: billing may read orders, fulfilment may
// read and create them.
type OrdersStack struct {
	awscdk.Stack
	Auth *m2mauth.AuthServer
	API  *scopedapi.ScopedAPI
}

// NewOrdersStack builds the stack; moduleDir is this module's directory.
func NewOrdersStack(scope constructs.Construct, id, moduleDir string) *OrdersStack {
	stack := awscdk.NewStack(scope, jsii.String(id), nil)
	orders := m2mauth.NewResourceServer("orders", "Orders API")
	read := orders.AddScope("read", "Read orders")
	write := orders.AddScope("write", "Create orders")
	auth := m2mauth.NewAuthServer(stack, "Auth", &m2mauth.AuthServerProps{
		ResourceServers: []*m2mauth.ResourceServer{orders},
		Clients: []m2mauth.ClientProps{
			{Name: "billing", Scopes: []m2mauth.Scope{read}},
			{Name: "fulfilment", Scopes: []m2mauth.Scope{read, write}},
		},
		Disposable: true,
	})
	fn := golambda.NewGoFunction(stack, "Orders", &golambda.GoFunctionProps{
		Entry:      filepath.Join(moduleDir, "orders"),
		ModuleDir:  moduleDir,
		Disposable: true,
	})
	api := scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
		Auth:    auth,
		Handler: fn.Function,
		Routes: []scopedapi.Route{
			{Method: "GET", Path: "/orders", Scopes: []m2mauth.Scope{read}},
			{Method: "POST", Path: "/orders", Scopes: []m2mauth.Scope{write}},
		},
		Disposable: true,
	})
	// ApiUrl and AccessPolicy, beside the AuthServer's AuthTokenUrl and
	// AuthClients: what `go run github.com/scopegate/scopegate/cmd/verify
	// -stack Orders` reads.
	api.AddOutputs()
	return &OrdersStack{Stack: stack, Auth: auth, API: api}
}

// main synthesizes the app and checks its assembly (AWS's limits, and every
// method of the guarded API in every template): any problem is printed one
// line each and exits 1.
func main() {
	cdkapp.Main(func(app awscdk.App) error {
		dir, err := os.Getwd()
		if err != nil {
			return err
		}
		NewOrdersStack(app, "Orders", dir)
		return nil
	})
}
