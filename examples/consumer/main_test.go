package main

import (
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/apiguard"
	"github.com/scopegate/scopegate/budget"
)

func TestMain(m *testing.M) {
	// The jsii client copies the environment when the CDK packages load, so
	// close that first client (its Node.js process has not started) for the
	// next one to see these.
	os.Setenv("CDK_VALIDATION", "false")
	os.Setenv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	jsii.Close()
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// The feature flags of this module's cdk.json, the recommended one for
// consumers, so the test sees what `cdk synth` emits.
func projectContext(t *testing.T) map[string]any {
	data, err := os.ReadFile("cdk.json")
	require.NoError(t, err)
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	require.NoError(t, json.Unmarshal(data, &cfg))
	cfg.Context["aws:cdk:bundling-stacks"] = []string{}
	return cfg.Context
}

var (
	ordersOnce     sync.Once
	ordersStack    *OrdersStack
	ordersAssembly string
	ordersErr      error
)

// orders synthesizes the Orders app once for the package (the stack and
// its cloud assembly directory, which outlives the test that made it).
func orders(t *testing.T) (*OrdersStack, string) {
	t.Helper()
	ordersOnce.Do(func() {
		var out, dir string
		if out, ordersErr = os.MkdirTemp("", "consumer-orders-*"); ordersErr != nil {
			return
		}
		if dir, ordersErr = os.Getwd(); ordersErr != nil {
			return
		}
		ctx := projectContext(t)
		app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
		ordersStack = NewOrdersStack(app, "Orders", dir)
		ordersAssembly = *app.Synth(nil).Directory()
	})
	require.NoError(t, ordersErr)
	require.NotNil(t, ordersStack, "the shared synthesis failed in an earlier test")
	return ordersStack, ordersAssembly
}

// A consumer's stack, built outside scopegate's own stacks: it synthesizes,
// fits every limit, carries the outputs the verifier reads, and guards its
// methods.
func TestConsumerStack(t *testing.T) {
	s, assembly := orders(t)
	require.NoError(t, budget.CheckDir(assembly, budget.DefaultLimits(), nil))
	require.NoError(t, apiguard.CheckDir(assembly), "every method of the guarded API, in every template of the assembly")

	template := assertions.Template_FromStack(s.Stack, nil)
	outputs := *template.FindOutputs(jsii.String("*"), nil)
	for _, key := range []string{"ApiUrl", "AccessPolicy", "AuthTokenUrl", "AuthClients"} {
		assert.Contains(t, outputs, key)
	}
	methods := *template.FindResources(jsii.String("AWS::ApiGateway::Method"), nil)
	require.Len(t, methods, 2)
	for _, m := range methods {
		p := (*m)["Properties"].(map[string]any)
		assert.Equal(t, "COGNITO_USER_POOLS", p["AuthorizationType"])
		assert.NotEmpty(t, p["AuthorizationScopes"])
	}
	assert.Equal(t, `{"routes":{"GET /orders":["orders/read"],"POST /orders":["orders/write"]}}`, s.API.AccessPolicy().JSON())
}

// The CDK's pattern for a large API, routes added from a nested stack
// through RestApi_FromRestApiAttributes, is judged too: a method there that
// needs no scoped token fails the check of the assembly, naming its template
// and path, although the parent template alone looks fine.
func TestARouteAddedFromANestedStackIsGuardedToo(t *testing.T) {
	ctx := projectContext(t)
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
	dir, err := os.Getwd()
	require.NoError(t, err)
	s := NewOrdersStack(app, "Orders", dir)
	nested := awscdk.NewNestedStack(s.Stack, jsii.String("MoreRoutes"), nil)
	more := awsapigateway.RestApi_FromRestApiAttributes(nested, jsii.String("Api"), &awsapigateway.RestApiAttributes{
		RestApiId: s.API.RestAPI.RestApiId(), RootResourceId: s.API.RestAPI.RestApiRootResourceId(),
	})
	more.Root().AddResource(jsii.String("reports"), nil).AddMethod(jsii.String("GET"), awsapigateway.NewMockIntegration(nil), nil)

	err = apiguard.CheckDir(*app.Synth(nil).Directory())
	require.Error(t, err)
	assert.Contains(t, err.Error(), ".nested.template.json")
	assert.Contains(t, err.Error(), "GET /reports")
	assert.Contains(t, err.Error(), "authorization type NONE, not COGNITO_USER_POOLS")
}
