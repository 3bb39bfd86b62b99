package m2mauth_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

// validProps returns props that pass, for each bad-prop case to spoil one way.
func validProps() (*m2mauth.AuthServerProps, *m2mauth.ResourceServer) {
	server := m2mauth.NewResourceServer("weather-api", "Weather events API")
	get := server.AddScope("get", "List weather events")
	return &m2mauth.AuthServerProps{
		ResourceServers: []*m2mauth.ResourceServer{server},
		Clients:         []m2mauth.ClientProps{{Name: "weather-service", Scopes: []m2mauth.Scope{get}}},
	}, server
}

func TestInvalidPropsPanicBeforeCreatingAnything(t *testing.T) {
	app := cdktest.NewApp()
	cases := []struct {
		name  string
		spoil func(stack awscdk.Stack, p *m2mauth.AuthServerProps, server *m2mauth.ResourceServer)
		want  string
	}{
		{"no resource servers", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.ResourceServers = nil
		}, "ResourceServers is empty"},
		{"resource server without scopes", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.ResourceServers = append(p.ResourceServers, m2mauth.NewResourceServer("reports", "Reports"))
		}, `ResourceServers[1] "reports" declares no scopes`},
		{"duplicate resource server identifier", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			other := m2mauth.NewResourceServer("weather-api", "Other")
			other.AddScope("get", "x")
			p.ResourceServers = append(p.ResourceServers, other)
		}, `ResourceServers[1].Identifier "weather-api" is already used by ResourceServers[0]`},
		{"resource server identifiers that differ only in punctuation", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			other := m2mauth.NewResourceServer("weather.api", "Other")
			other.AddScope("get", "x")
			p.ResourceServers = append(p.ResourceServers, other)
		}, `Identifier "weather.api" differs from ResourceServers[0] only in punctuation or case`},
		{"identifier with a space", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			bad := m2mauth.NewResourceServer("weather api", "Weather")
			bad.AddScope("get", "x")
			p.ResourceServers = append(p.ResourceServers, bad)
		}, `Identifier "weather api" must be 1-256 printable characters`},
		{"duplicate scope name", func(_ awscdk.Stack, _ *m2mauth.AuthServerProps, server *m2mauth.ResourceServer) {
			server.AddScope("get", "again")
		}, `ResourceServers[0].Scopes[1] "get" is declared twice on "weather-api"`},
		{"scope name with a slash", func(_ awscdk.Stack, _ *m2mauth.AuthServerProps, server *m2mauth.ResourceServer) {
			server.AddScope("get/all", "x")
		}, `Scopes[1] "get/all" must be 1-256 printable characters without spaces, '/'`},
		{"scope without description", func(_ awscdk.Stack, _ *m2mauth.AuthServerProps, server *m2mauth.ResourceServer) {
			server.AddScope("post", "")
		}, `Scopes[1] "post" needs a description of 1-256 characters (got 0)`},
		{"no clients", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients = nil
		}, "Clients is empty"},
		{"client with empty scope list", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients[0].Scopes = nil
		}, `Clients[0].Scopes is empty`},
		{"client with the zero scope", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients[0].Scopes = append(p.Clients[0].Scopes, m2mauth.Scope{})
		}, `Clients[0].Scopes[1] is the zero Scope`},
		{"client with a scope from a server outside the pool", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			stray := m2mauth.NewResourceServer("billing", "Billing")
			p.Clients[0].Scopes = append(p.Clients[0].Scopes, stray.AddScope("read", "Read"))
		}, `Scopes[1] "billing/read" comes from resource server "billing", which is not in ResourceServers`},
		{"client listing a scope twice", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients[0].Scopes = append(p.Clients[0].Scopes, p.Clients[0].Scopes[0])
		}, `Scopes[1] "weather-api/get" is already listed at Scopes[0]`},
		{"duplicate client name", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients = append(p.Clients, m2mauth.ClientProps{Name: "Weather-Service", Scopes: p.Clients[0].Scopes})
		}, `Clients[1].Name "Weather-Service" is already used by Clients[0]`},
		{"client names that differ only in punctuation", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients = append(p.Clients, m2mauth.ClientProps{Name: "weather.service", Scopes: p.Clients[0].Scopes})
		}, `Name "weather.service" differs from Clients[0] only in punctuation`},
		{"client name with a space", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients[0].Name = "weather service"
		}, `Name "weather service" must start with a letter or digit`},
		{"token validity under 5 minutes", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients[0].AccessTokenValidity = 4 * time.Minute
		}, `AccessTokenValidity 4m0s is outside the range Cognito accepts, 5 to 1440 minutes`},
		{"token validity over a day", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients[0].AccessTokenValidity = 25 * time.Hour
		}, `AccessTokenValidity 25h0m0s is outside the range`},
		{"token validity not in whole minutes", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients[0].AccessTokenValidity = 10*time.Minute + 30*time.Second
		}, `AccessTokenValidity 10m30s must be a whole number of minutes`},
		{"tier with no rate", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Tiers, p.DefaultTier = []m2mauth.Tier{{Name: "gold", BurstLimit: 10}}, "gold"
		}, `Tiers[0].RateLimit 0 must be more than 0 and at most 10000 requests per second`},
		{"tier burst over the account's", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Tiers, p.DefaultTier = []m2mauth.Tier{{Name: "gold", RateLimit: 10, BurstLimit: 6000}}, "gold"
		}, `Tiers[0].BurstLimit 6000 must be from 1 to 5000`},
		{"tier quota per year", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Tiers, p.DefaultTier = []m2mauth.Tier{{Name: "gold", RateLimit: 10, BurstLimit: 20, Quota: &m2mauth.TierQuota{Limit: 5, Period: "YEAR"}}}, "gold"
		}, `Tiers[0].Quota.Period "YEAR" must be DAY, WEEK or MONTH`},
		{"two tiers of one name", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Tiers = []m2mauth.Tier{{Name: "gold", RateLimit: 10, BurstLimit: 20}, {Name: "Gold", RateLimit: 1, BurstLimit: 2}}
			p.DefaultTier = "gold"
		}, `Tiers[1].Name "Gold" is already used by Tiers[0]`},
		{"client in an undeclared tier", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Tiers = []m2mauth.Tier{{Name: "gold", RateLimit: 10, BurstLimit: 20}}
			p.Clients[0].Tier = "platinum"
		}, `Clients[0].Tier "platinum" is not one of the declared Tiers (gold)`},
		{"client without a tier and no default", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Tiers = []m2mauth.Tier{{Name: "gold", RateLimit: 10, BurstLimit: 20}}
		}, `Clients[0].Tier is empty and there is no DefaultTier`},
		{"client tier without tiers", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients[0].Tier = "gold"
		}, `Clients[0].Tier "gold" names a tier, but no Tiers are declared`},
		{"tiers without rotation", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Tiers, p.DefaultTier = []m2mauth.Tier{{Name: "gold", RateLimit: 10, BurstLimit: 20}}, "gold"
			p.Rotation.Disabled = true
		}, `Tiers need rotation: the rotation function writes each client's API key value into its secret`},
		{"more tiers than usage plans", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Quotas.UsagePlansPerRegion = 1
			p.Tiers = []m2mauth.Tier{{Name: "gold", RateLimit: 10, BurstLimit: 20}, {Name: "bronze", RateLimit: 1, BurstLimit: 2}}
			p.DefaultTier = "gold"
		}, `Tiers has 2 tiers, over API Gateway's quota of 1 usage plans per account and region (Quotas.UsagePlansPerRegion`},
		{"too many tiered clients for one client stack", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.ClientStacks = 1
			p.Tiers, p.DefaultTier = []m2mauth.Tier{{Name: "gold", RateLimit: 10, BurstLimit: 20}}, "gold"
			for i := range p.MaxClientsPerStack() {
				p.Clients = append(p.Clients, m2mauth.ClientProps{Name: fmt.Sprintf("partner-%04d", i), Scopes: p.Clients[0].Scopes})
			}
		}, "ClientStacks is too few: client stack 0 of 1 would hold 97 clients, over the 96 that keep it (5 resources each)"},
		{"token budget share over one", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.TokenBudget.Share = 1.5
		}, "TokenBudget.Share 1.5 must be more than 0 and at most 1"},
		{"negative token validity", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Clients[0].AccessTokenValidity = -time.Hour
		}, `AccessTokenValidity -1h0m0s is outside the range Cognito accepts, 5 to 1440 minutes`},
		{"certificate outside us-east-1", func(stack awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			d := newCustomDomain(stack, "arn:aws:acm:eu-west-1:123456789012:certificate/abc")
			p.Domain = d
		}, `CustomDomain.Certificate arn:aws:acm:eu-west-1:123456789012:certificate/abc is in eu-west-1: Cognito custom domains need an ACM certificate in us-east-1`},
		{"custom domain outside its hosted zone", func(stack awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			d := newCustomDomain(stack, "arn:aws:acm:us-east-1:123456789012:certificate/abc")
			d.DomainName = "auth.example.org"
			p.Domain = d
		}, `CustomDomain.DomainName "auth.example.org" is not inside HostedZone "example.com"`},
		{"custom domain without certificate and zone", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Domain = m2mauth.CustomDomain{DomainName: "auth.example.com"}
		}, "CustomDomain.Certificate is required"},
		{"custom domain name that is not a domain", func(stack awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			d := newCustomDomain(stack, "arn:aws:acm:us-east-1:123456789012:certificate/abc")
			d.DomainName = "Auth_Example"
			p.Domain = d
		}, `CustomDomain.DomainName "Auth_Example" is not a fully qualified lowercase domain name`},
		{"more clients than the pool's quota", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Quotas.AppClientsPerPool = 2
			for i := range 2 {
				p.Clients = append(p.Clients, m2mauth.ClientProps{Name: fmt.Sprintf("partner-%d", i), Scopes: p.Clients[0].Scopes})
			}
		}, "Clients has 3 clients, over Cognito's quota of 2 app clients per user pool (Quotas.AppClientsPerPool"},
		{"one client more than Cognito's default quota", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			for i := range m2mauth.DefaultAppClientsPerPool {
				p.Clients = append(p.Clients, m2mauth.ClientProps{Name: fmt.Sprintf("partner-%04d", i), Scopes: p.Clients[0].Scopes})
			}
		}, "Clients has 1001 clients, over Cognito's quota of 1000 app clients per user pool"},
		{"more resource servers than the pool's quota", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			for i := range m2mauth.DefaultResourceServersPerPool {
				r := m2mauth.NewResourceServer(fmt.Sprintf("api-%d", i), "API")
				r.AddScope("read", "Read")
				p.ResourceServers = append(p.ResourceServers, r)
			}
		}, "ResourceServers has 26 resource servers, over Cognito's quota of 25 per user pool (Quotas.ResourceServersPerPool"},
		{"more scopes than a resource server may hold", func(_ awscdk.Stack, _ *m2mauth.AuthServerProps, server *m2mauth.ResourceServer) {
			for i := range m2mauth.MaxScopesPerResourceServer {
				server.AddScope(fmt.Sprintf("s%d", i), "scope")
			}
		}, `ResourceServers[0] "weather-api" declares 101 scopes, over Cognito's hard limit of 100 custom scopes per resource server`},
		{"more scopes than a client may hold", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, server *m2mauth.ResourceServer) {
			for i := range m2mauth.MaxScopesPerClient {
				p.Clients[0].Scopes = append(p.Clients[0].Scopes, server.AddScope(fmt.Sprintf("s%d", i), "scope"))
			}
		}, `Clients[0].Scopes has 51 scopes, over Cognito's hard limit of 50 per app client`},
		{"client stacks out of range", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.ClientStacks = 65
		}, "ClientStacks 65 must be from 1 to 64"},
		{"too many clients for one client stack", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.ClientStacks = 1
			for i := range p.MaxClientsPerStack() {
				p.Clients = append(p.Clients, m2mauth.ClientProps{Name: fmt.Sprintf("partner-%04d", i), Scopes: p.Clients[0].Scopes})
			}
		}, "ClientStacks is too few: client stack 0 of 1 would hold 161 clients, over the 160"},
		{"rotation interval not in days", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Rotation.Interval = 36 * time.Hour
		}, "Rotation.Interval 36h0m0s must be a whole number of days from 1 to 1000"},
		{"overlap as long as the interval", func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Rotation.Interval, p.Rotation.Overlap = 7*24*time.Hour, 7*24*time.Hour
		}, "Rotation.Overlap 168h0m0s must be a whole number of hours, at least one, and shorter than the interval between rotations (168h0m0s)"},
		{"resource server already used by another pool", func(stack awscdk.Stack, p *m2mauth.AuthServerProps, server *m2mauth.ResourceServer) {
			m2mauth.NewAuthServer(stack, "First", &m2mauth.AuthServerProps{
				ResourceServers: []*m2mauth.ResourceServer{server},
				Clients:         p.Clients,
			})
		}, `ResourceServers[0] "weather-api" already belongs to another AuthServer`},
	}
	for _, prefix := range []struct{ value, want string }{
		{"Weather", "must be 1-63 lowercase letters, digits or hyphens"},
		{"weather_events", "must be 1-63 lowercase letters"},
		{"-weather", "must be 1-63 lowercase letters"},
		{"weather-", "must be 1-63 lowercase letters"},
		{strings.Repeat("a", 64), "must be 1-63 lowercase letters"},
		{"my-aws-auth", `must not contain the reserved word "aws"`},
		{"amazonauth", `must not contain the reserved word "amazon"`},
		{"cognito-weather", `must not contain the reserved word "cognito"`},
	} {
		cases = append(cases, struct {
			name  string
			spoil func(awscdk.Stack, *m2mauth.AuthServerProps, *m2mauth.ResourceServer)
			want  string
		}{"domain prefix " + prefix.value, func(_ awscdk.Stack, p *m2mauth.AuthServerProps, _ *m2mauth.ResourceServer) {
			p.Domain = m2mauth.PrefixDomain{Prefix: prefix.value}
		}, fmt.Sprintf("Domain is invalid: Prefix %q %s", prefix.value, prefix.want)})
	}

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stack := awscdk.NewStack(app, jsii.String(fmt.Sprintf("Case%d", i)), nil)
			props, server := validProps()
			tc.spoil(stack, props, server)
			before := len(*stack.Node().Children())
			msg := cdktest.Recover(func() { m2mauth.NewAuthServer(stack, "Auth", props) })
			require.NotEmpty(t, msg, "NewAuthServer accepted bad props")
			assert.Contains(t, msg, tc.want)
			assert.True(t, strings.HasPrefix(msg, "m2mauth: "), "message should say where it comes from: %s", msg)
			assert.Nil(t, stack.Node().TryFindChild(jsii.String("Auth")), "a construct was created before validation failed")
			assert.Len(t, *stack.Node().Children(), before, "children were added before validation failed")
		})
	}
}

func newCustomDomain(stack awscdk.Stack, certificateArn string) m2mauth.CustomDomain {
	return m2mauth.CustomDomain{
		DomainName:  "auth.example.com",
		Certificate: awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"), jsii.String(certificateArn)),
		HostedZone: awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: jsii.String("Z0123456789ABCDEFGHIJ"), ZoneName: jsii.String("example.com"),
		}),
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	props, _ := validProps()
	props.Clients[0].AccessTokenValidity = time.Minute
	props.Domain = m2mauth.PrefixDomain{Prefix: "AWS"}
	err := props.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AccessTokenValidity 1m0s")
	assert.Contains(t, err.Error(), `Prefix "AWS"`)
}

func TestNilPropsAreRefused(t *testing.T) {
	assert.EqualError(t, (*m2mauth.AuthServerProps)(nil).Validate(), "m2mauth: AuthServerProps are required")
}

func TestAddScopeAfterAdoptionPanics(t *testing.T) {
	stack := awscdk.NewStack(cdktest.NewApp(), jsii.String("Adopted"), nil)
	props, server := validProps()
	m2mauth.NewAuthServer(stack, "Auth", props)
	msg := cdktest.Recover(func() { server.AddScope("late", "Too late") })
	assert.Contains(t, msg, `cannot add scope "late" to resource server "weather-api": it already belongs to a user pool`)
}

func TestParseScope(t *testing.T) {
	weather := m2mauth.NewResourceServer("weather-api", "Weather")
	get := weather.AddScope("get", "List")
	weather.AddScope("post", "Create")
	weather.AddScope("delete", "Delete")
	site := m2mauth.NewResourceServer("https://api.example.com", "Site")
	siteRead := site.AddScope("read", "Read")
	servers := []*m2mauth.ResourceServer{weather, site}

	for _, tc := range []struct {
		text    string
		want    m2mauth.Scope
		wantErr string
	}{
		{text: "weather-api/get", want: get},
		{text: "https://api.example.com/read", want: siteRead},
		{text: "weather-api/delet", wantErr: `scope "weather-api/delet" is not declared by resource server "weather-api" (declared: get, post, delete)`},
		{text: "weather-api/GET", wantErr: `scope "weather-api/GET" is not declared`},
		{text: "openid", wantErr: `scope "openid" is a standard OpenID Connect scope`},
		{text: "aws.cognito.signin.user.admin", wantErr: "standard OpenID Connect scope"},
		{text: "billing/read", wantErr: `scope "billing/read" names no declared resource server (declared: weather-api, https://api.example.com)`},
		{text: "", wantErr: "names no declared resource server"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got, err := m2mauth.ParseScope(servers, tc.text)
			if tc.wantErr != "" {
				assert.ErrorContains(t, err, tc.wantErr)
				assert.True(t, got.IsZero())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.text, got.String())
		})
	}
}
