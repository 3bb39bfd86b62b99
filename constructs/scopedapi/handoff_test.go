package scopedapi_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
	"github.com/scopegate/scopegate/routetable"
)

// handlerRouteFiles reads the route table files a function's environment
// names, from the layers in the synthesized template.
func handlerTable(t *testing.T, stack awscdk.Stack, fn awslambda.Function, layers ...awslambda.LayerVersion) (routetable.Table, []string) {
	t.Helper()
	tmpl := cdktest.Synth(t, stack)
	props := tmpl.Resource(cdktest.LogicalID(stack, fn.Node().DefaultChild().(awscdk.CfnElement)))["Properties"].(map[string]any)
	files := strings.Split(props["Environment"].(map[string]any)["Variables"].(map[string]any)[routetable.FileEnvVar].(string), ":")
	require.Len(t, files, len(layers))
	var tables []routetable.Table
	for i, layer := range layers {
		data, err := cdktest.AssetFile(stack, tmpl, cdktest.LogicalID(stack, layer.Node().DefaultChild().(awscdk.CfnElement)), strings.TrimPrefix(files[i], "/opt/"))
		require.NoError(t, err)
		table, err := routetable.Parse(data)
		require.NoError(t, err)
		tables = append(tables, table)
	}
	merged, err := routetable.Merge(tables...)
	require.NoError(t, err)
	return merged, files
}

func routesOn(path string, s m2mauth.Scope) []scopedapi.Route {
	return []scopedapi.Route{{Method: "GET", Path: path, Scopes: []m2mauth.Scope{s}}}
}

// A second API on the same function is refused before it creates anything,
// naming the first; with SharedHandler on both, the function re-checks the
// union of their tables.
func TestTwoAPIsOnOneFunction(t *testing.T) {
	app := cdktest.NewApp()
	stack := awscdk.NewStack(app, jsii.String("TwoApis"), nil)
	auth, s := newAuth(stack)
	fn := usersFunction(stack)
	scopedapi.NewScopedAPI(stack, "First", &scopedapi.ScopedAPIProps{Auth: auth, Handler: fn, Routes: routesOn("/first", s.get)})
	msg := cdktest.Recover(func() {
		scopedapi.NewScopedAPI(stack, "Second", &scopedapi.ScopedAPIProps{Auth: auth, Handler: fn, Routes: routesOn("/second", s.get)})
	})
	assert.Contains(t, msg, "scopedapi: Handler TwoApis/UsersFunction already re-checks the route table of TwoApis/First")
	assert.Contains(t, msg, "SharedHandler")
	assert.Nil(t, stack.Node().TryFindChild(jsii.String("Second")), "nothing was created")

	shared := awscdk.NewStack(app, jsii.String("Shared"), nil)
	sauth, ss := newAuth(shared)
	sfn := usersFunction(shared)
	first := scopedapi.NewScopedAPI(shared, "First", &scopedapi.ScopedAPIProps{Auth: sauth, Handler: sfn, SharedHandler: true, Routes: routesOn("/first", ss.get)})
	second := scopedapi.NewScopedAPI(shared, "Second", &scopedapi.ScopedAPIProps{Auth: sauth, Handler: sfn, SharedHandler: true, Routes: routesOn("/second", ss.read)})
	msg = cdktest.Recover(func() {
		scopedapi.NewScopedAPI(shared, "Third", &scopedapi.ScopedAPIProps{Auth: sauth, Handler: sfn, SharedHandler: true, Routes: routesOn("/first", ss.post)})
	})
	assert.Contains(t, msg, "whose route table disagrees with this one: routetable: GET /first needs weather-api/get in one table and weather-api/post in another")

	table, files := handlerTable(t, shared, sfn, first.RouteTableLayer, second.RouteTableLayer)
	assert.Len(t, files, 2)
	assert.True(t, table.Equal(routetable.Table{
		{Method: "GET", Path: "/first", Scopes: []string{"weather-api/get"}},
		{Method: "GET", Path: "/second", Scopes: []string{"reports/read"}},
	}), "%v", table)
}

// An alias of a function built in the app hands the table to its function;
// an imported function cannot take it, and the error says what to do.
func TestHandlerKinds(t *testing.T) {
	app := cdktest.NewApp()
	stack := awscdk.NewStack(app, jsii.String("Kinds"), nil)
	auth, s := newAuth(stack)
	fn := usersFunction(stack)
	alias := awslambda.NewAlias(stack, jsii.String("Live"), &awslambda.AliasProps{AliasName: jsii.String("live"), Version: fn.CurrentVersion()})
	api := scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{Auth: auth, Handler: alias, Routes: routesOn("/", s.get)})

	imported := awslambda.Function_FromFunctionArn(stack, jsii.String("Imported"), jsii.String("arn:aws:lambda:eu-west-1:123456789012:function:elsewhere"))
	msg := cdktest.Recover(func() {
		scopedapi.NewScopedAPI(stack, "ImportedApi", &scopedapi.ScopedAPIProps{Auth: auth, Handler: imported, Routes: routesOn("/", s.get)})
	})
	assert.Contains(t, msg, "scopedapi: Handler Kinds/Imported cannot take the route table")
	assert.Contains(t, msg, "RouteTableDelivery: scopedapi.RouteTableByYou")

	manual := scopedapi.NewScopedAPI(stack, "Manual", &scopedapi.ScopedAPIProps{
		Auth: auth, Handler: imported, RouteTableDelivery: scopedapi.RouteTableByYou, Routes: routesOn("/", s.get),
	})
	assert.Nil(t, manual.RouteTableLayer)
	assert.True(t, manual.HandlerRouteTable.Equal(manual.RouteTable), "the table to ship is there")

	table, _ := handlerTable(t, stack, fn, api.RouteTableLayer)
	assert.True(t, table.Equal(api.RouteTable), "the alias's function carries the table")
}
