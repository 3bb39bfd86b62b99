package scopedapi_test

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

// newTieredAuth is a pool whose one client is in tier "gold".
func newTieredAuth(stack awscdk.Stack) (*m2mauth.AuthServer, m2mauth.Scope) {
	weather := m2mauth.NewResourceServer("weather-api", "Weather")
	get := weather.AddScope("get", "List")
	return m2mauth.NewAuthServer(stack, "Auth", &m2mauth.AuthServerProps{
		ResourceServers: []*m2mauth.ResourceServer{weather},
		Clients:         []m2mauth.ClientProps{{Name: "svc", Scopes: []m2mauth.Scope{get}, Tier: "gold"}},
		Tiers:           []m2mauth.Tier{{Name: "gold", RateLimit: 10, BurstLimit: 20}},
		Domain:          m2mauth.PrefixDomain{Prefix: "scopedapi-tiers"},
	}), get
}

// With tiers, a method that does not require the API key lets its callers
// escape their tier: the guard refuses it, whoever added it.
func TestGuardRequiresAPIKeysWhenThePoolHasTiers(t *testing.T) {
	app := cdktest.NewApp()
	stack := awscdk.NewStack(app, jsii.String("Tiered"), nil)
	auth, get := newTieredAuth(stack)
	api := scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
		Auth: auth, Handler: usersFunction(stack),
		Routes: []scopedapi.Route{{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{get}}},
	})
	assert.Equal(t, true, api.Methods["GET /"].Node().DefaultChild().(awsapigateway.CfnMethod).ApiKeyRequired())
	api.RestAPI.Root().AddResource(jsii.String("keyless"), nil).AddMethod(jsii.String("GET"), mockIntegration(), &awsapigateway.MethodOptions{
		AuthorizationType: awsapigateway.AuthorizationType_COGNITO, Authorizer: api.Authorizer, AuthorizationScopes: jsii.Strings("weather-api/get"),
	})
	msg := cdktest.Recover(func() { app.Synth(nil) })
	require.NotEmpty(t, msg, "the guard let a keyless method through")
	assert.Contains(t, msg, "GET /keyless: no API key required, but the pool's clients are rate-limited by their keys")
	assert.NotContains(t, msg, "GET /:", "the declared route requires the key")
}

// Usage plans live with the pool; an API in another stack would need a
// dependency cycle, so it is refused before anything is created.
func TestTiersNeedTheAPIInThePoolsStack(t *testing.T) {
	app := cdktest.NewApp()
	authStack := awscdk.NewStack(app, jsii.String("Pool"), nil)
	auth, get := newTieredAuth(authStack)
	apiStack := awscdk.NewStack(app, jsii.String("Api"), nil)
	msg := cdktest.Recover(func() {
		scopedapi.NewScopedAPI(apiStack, "Api", &scopedapi.ScopedAPIProps{
			Auth: auth, Handler: usersFunction(apiStack),
			Routes: []scopedapi.Route{{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{get}}},
		})
	})
	assert.Contains(t, msg, "scopedapi: Auth declares rate-limit tiers, whose usage plans are in stack Pool, but this API is in stack Api")
	assert.Nil(t, apiStack.Node().TryFindChild(jsii.String("Api")), "nothing was created")
}

// The stage throttles all clients together: a tier above it promises each
// client what none can reach, and is refused.
func TestTiersAboveTheStageThrottleAreRefused(t *testing.T) {
	app := cdktest.NewApp()
	stack := awscdk.NewStack(app, jsii.String("Fast"), nil)
	auth, get := newTieredAuth(stack)
	msg := cdktest.Recover(func() {
		scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
			Auth: auth, Handler: usersFunction(stack), ThrottlingRateLimit: 5,
			Routes: []scopedapi.Route{{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{get}}},
		})
	})
	assert.Contains(t, msg, `scopedapi: tier "gold" RateLimit 10 requests per second is more than the stage's throttle of 5 for all clients together: no client could reach it: raise the stage's ThrottlingRateLimit and ThrottlingBurstLimit, or lower the tier`)
	assert.Nil(t, stack.Node().TryFindChild(jsii.String("Api")), "nothing was created")
}
