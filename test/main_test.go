// Package test checks the deployable stacks as whole synthesized templates,
// the way a security reviewer would: every security property docs/security.md's
// "Security properties" section lists, cdk-nag, and golden templates that make
// every change to the emitted infrastructure visible in review.
package test

import (
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/scopegate/scopegate/config"
	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
	"github.com/scopegate/scopegate/stacks"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

// configuration is one stack as users deploy it, and what it declares.
type configuration struct {
	name     string
	stack    awscdk.Stack
	auth     *m2mauth.AuthServer
	api      *scopedapi.ScopedAPI
	function *golambda.GoFunction
	template cdktest.Template
	// clientTemplates are the nested stacks that hold the clients, by
	// construct id ("Clients07").
	clientTemplates map[string]cdktest.Template
	// routes and clients as declared: "METHOD /path" and client name to scopes.
	routes   map[string][]string
	clients  map[string][]string
	validity map[string]float64 // access-token minutes per client
	tiers    map[string]string  // client name to tier; nil without tiers
	// suspended clients by name; nil when none is.
	suspended map[string]bool
}

var weatherRoutes = map[string][]string{
	"GET /": {"weather-api/get"}, "POST /": {"weather-api/post"}, "GET /{id}": {"weather-api/get"}, "DELETE /{id}": {"weather-api/delete"},
}

var proxyRoutes = map[string][]string{"ANY /": {"default/default"}, "ANY /{proxy+}": {"default/default"}}

var partnerDomain = &stacks.CustomDomain{
	DomainName:     "auth.partners.example.com",
	CertificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
	HostedZoneID:   "Z0123456789ABCDEFGHIJ",
	HostedZoneName: "partners.example.com",
}

// fromConfig is the props the app makes from a "scopegate" configuration.
func fromConfig(value string) (*stacks.WeatherEventsStackProps, *stacks.ThirdPartyProxyStackProps) {
	cfg, err := config.Read(value)
	if err != nil {
		panic(err)
	}
	weather, proxy, err := cfg.StackProps()
	if err != nil {
		panic(err)
	}
	return weather, proxy
}

var (
	synthOnce      sync.Once
	configurations map[string]*configuration
)

// all builds every configuration in one app and synthesizes it once for the
// whole package. cdk-nag runs in its own app (TestProperty12): its errors
// fail synthesis, and one broken promise must not hide the others.
func all(t *testing.T) map[string]*configuration {
	t.Helper()
	synthOnce.Do(func() {
		cs := build(cdktest.NewApp())
		for _, c := range cs {
			c.template = cdktest.Synth(t, c.stack)
			c.clientTemplates = map[string]cdktest.Template{}
			for _, nested := range c.auth.ClientStacks {
				c.clientTemplates[*nested.Node().Id()] = cdktest.Synth(t, nested)
			}
		}
		configurations = cs
	})
	if configurations == nil {
		t.Fatal("shared synthesis failed in an earlier test")
	}
	return configurations
}

// build adds every configuration's stack to app.
func build(app awscdk.App) map[string]*configuration {
	cs := map[string]*configuration{}
	weather := func(name string, props *stacks.WeatherEventsStackProps, clients map[string][]string, validity map[string]float64) *configuration {
		s := stacks.NewWeatherEventsStack(app, name, props)
		cs[name] = &configuration{name: name, stack: s.Stack, auth: s.Auth, api: s.API, function: s.Service.Function,
			routes: weatherRoutes, clients: clients, validity: validity}
		return cs[name]
	}
	proxy := func(name string, props *stacks.ThirdPartyProxyStackProps, clients map[string][]string, validity map[string]float64) {
		s := stacks.NewThirdPartyProxyStack(app, name, props)
		cs[name] = &configuration{name: name, stack: s.Stack, auth: s.Auth, api: s.API, function: s.Service.Function,
			routes: proxyRoutes, clients: clients, validity: validity}
	}
	weather("WeatherEvents", nil,
		map[string][]string{"weather-service": {"weather-api/get", "weather-api/post"}},
		map[string]float64{"weather-service": 60})
	// More clients, in rate-limit tiers, with the token budget's alarm
	// notifying a topic.
	tieredProps, _ := fromConfig(cdktest.TieredWeatherConfig)
	tiered := weather("WeatherEventsClients", tieredProps, map[string][]string{
		"weather-service": {"weather-api/get", "weather-api/post"},
		"reporting":       {"weather-api/get"},
		"janitor":         {"weather-api/get", "weather-api/delete"},
		"retired":         {"weather-api/get"},
	}, map[string]float64{"weather-service": 60, "reporting": 15, "janitor": 5, "retired": 60})
	tiered.tiers = map[string]string{"weather-service": "bronze", "reporting": "gold", "janitor": "bronze", "retired": "bronze"}
	tiered.suspended = map[string]bool{"retired": true}
	proxy("ThirdPartyProxy", nil,
		map[string][]string{"ThirdPartyAppClient": {"default/default"}},
		map[string]float64{"ThirdPartyAppClient": 60})
	proxy("ThirdPartyProxyCustomDomain", &stacks.ThirdPartyProxyStackProps{CustomDomain: partnerDomain},
		map[string][]string{"ThirdPartyAppClient": {"default/default"}},
		map[string]float64{"ThirdPartyAppClient": 60})
	return cs
}

// each runs check as a subtest for every configuration, in a stable order.
func each(t *testing.T, check func(t *testing.T, c *configuration)) {
	eachOf(t, all(t), check)
}

func eachOf(t *testing.T, cs map[string]*configuration, check func(t *testing.T, c *configuration)) {
	names := make([]string, 0, len(cs))
	for name := range cs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) { check(t, cs[name]) })
	}
}

// resources lists the resources of a type in the stack and its client
// stacks.
func (c *configuration) resources(cfnType string) []cdktest.Resource {
	out := c.template.Resources(cfnType)
	for _, id := range sortedKeys(c.clientTemplates) {
		out = append(out, c.clientTemplates[id].Resources(cfnType)...)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// logicalID resolves the CloudFormation logical id of a construct's default child.
func (c *configuration) logicalID(construct constructs.IConstruct) string {
	return cdktest.LogicalID(c.stack, construct.Node().DefaultChild().(awscdk.CfnElement))
}
