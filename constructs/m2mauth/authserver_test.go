package m2mauth_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/internal/logicalid"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

// fixture is one synthesized configuration and what the test declared for it.
type fixture struct {
	stack    awscdk.Stack
	auth     *m2mauth.AuthServer
	template cdktest.Template
	// clientTemplates are the templates of the nested stacks that hold the
	// clients, by client name.
	clientTemplates map[string]cdktest.Template
	// declared maps each client name to the scopes the test gave it.
	declared map[string][]string
	validity map[string]time.Duration
}

// The three configurations users will meet share one app and one synthesis.
var (
	fixturesOnce sync.Once
	fixtures     map[string]*fixture
)

const (
	derivedDomain = "derived-prefix"
	prefixDomain  = "explicit-prefix"
	customDomain  = "custom-domain"
)

func loadFixtures(t *testing.T) map[string]*fixture {
	t.Helper()
	fixturesOnce.Do(func() {
		app := cdktest.NewApp()
		fixtures = map[string]*fixture{
			derivedDomain: newFixture(app, "AwsWeatherStack", nil, false),
			prefixDomain:  newFixture(app, "PrefixStack", func(awscdk.Stack) m2mauth.Domain { return m2mauth.PrefixDomain{Prefix: "weather-events-test"} }, true),
			customDomain: newFixture(app, "CustomDomainStack", func(stack awscdk.Stack) m2mauth.Domain {
				return m2mauth.CustomDomain{
					DomainName:  "auth.example.com",
					Certificate: awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Cert"), jsii.String("arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555")),
					HostedZone: awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
						HostedZoneId: jsii.String("Z0123456789ABCDEFGHIJ"), ZoneName: jsii.String("example.com"),
					}),
				}
			}, false),
		}
		// An escape hatch on one client, before synthesis
		// (TestClientEscapeHatch).
		fixtures[prefixDomain].auth.Client("auditor").UserPoolClient().AddMetadata(jsii.String(escapeHatchKey), "set through UserPoolClient()")
		fixtures[prefixDomain].auth.Client("auditor").CfnSecret().AddMetadata(jsii.String(escapeHatchKey), "set through CfnSecret()")
		// A consumer in the parent stack allowed to read one client's
		// secret (TestClientSecretGrantRead).
		consumer := awsiam.NewRole(fixtures[prefixDomain].stack, jsii.String("SecretReader"), &awsiam.RoleProps{
			AssumedBy: awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		})
		fixtures[prefixDomain].auth.Client("auditor").Secret().GrantRead(consumer, nil)
		for _, f := range fixtures {
			f.template = cdktest.Synth(t, f.stack)
			f.clientTemplates = map[string]cdktest.Template{}
			for _, c := range f.auth.Clients {
				f.clientTemplates[c.Name] = cdktest.Synth(t, c.Stack)
			}
		}
	})
	if fixtures == nil || fixtures[derivedDomain].template == nil {
		t.Fatal("shared synthesis failed in an earlier test")
	}
	return fixtures
}

// newFixture declares two resource servers and two clients with different
// scope subsets and token lifetimes.
func newFixture(app awscdk.App, id string, domain func(awscdk.Stack) m2mauth.Domain, disposable bool) *fixture {
	stack := awscdk.NewStack(app, jsii.String(id), nil)
	weather := m2mauth.NewResourceServer("weather-api", "Weather events API")
	get := weather.AddScope("get", "List weather events")
	post := weather.AddScope("post", "Create weather events")
	weather.AddScope("delete", "Delete weather events")
	reports := m2mauth.NewResourceServer("https://reports.example.com", "Reports")
	read := reports.AddScope("read", "Read reports")

	props := &m2mauth.AuthServerProps{
		ResourceServers: []*m2mauth.ResourceServer{weather, reports},
		Clients: []m2mauth.ClientProps{
			{Name: "weather-service", Scopes: []m2mauth.Scope{get, post}},
			{Name: "auditor", Scopes: []m2mauth.Scope{get, read}, AccessTokenValidity: 15 * time.Minute},
		},
		Disposable: disposable,
	}
	if domain != nil {
		props.Domain = domain(stack)
	}
	return &fixture{
		stack: stack,
		auth:  m2mauth.NewAuthServer(stack, "Auth", props),
		declared: map[string][]string{
			"weather-service": {"weather-api/get", "weather-api/post"},
			"auditor":         {"weather-api/get", "https://reports.example.com/read"},
		},
		validity: map[string]time.Duration{"weather-service": 60 * time.Minute, "auditor": 15 * time.Minute},
	}
}

func forEachFixture(t *testing.T, check func(t *testing.T, f *fixture)) {
	for name, f := range loadFixtures(t) {
		t.Run(name, func(t *testing.T) { check(t, f) })
	}
}

const escapeHatchKey = "scopegate:test-escape-hatch"

// TestClientEscapeHatch: the app client that UserPoolClient() returns is
// the resource in the client stack's template, under the logical id the
// client always had (a new one would replace the deployed client), and what
// is set on it reaches the template.
func TestClientEscapeHatch(t *testing.T) {
	f := loadFixtures(t)[prefixDomain]
	c := f.auth.Client("auditor")
	id := cdktest.LogicalID(c.Stack, c.UserPoolClient())
	assert.Equal(t, logicalid.Must("AuditorClient", "Resource"), id, "the logical id of the client's L2 UserPoolClient")
	r := f.clientTemplates[c.Name].Resource(id)
	require.NotNil(t, r, "client %s not in its stack's template", id)
	assert.Equal(t, map[string]any{escapeHatchKey: "set through UserPoolClient()"}, r["Metadata"])
	assert.Same(t, c.UserPoolClient(), c.UserPoolClient(), "looked up once")
	other := f.clientTemplates["weather-service"].Resource(cdktest.LogicalID(f.auth.Client("weather-service").Stack, f.auth.Client("weather-service").UserPoolClient()))
	require.NotNil(t, other)
	assert.Nil(t, other["Metadata"], "the hatch on one client reaches no other")
}

// TestClientSecretEscapeHatch: CfnSecret() is the secret in the client
// stack's template, under the logical id it had as the default child of an
// L2 Secret named after the client, and what is set on it reaches the
// template.
func TestClientSecretEscapeHatch(t *testing.T) {
	f := loadFixtures(t)[prefixDomain]
	c := f.auth.Client("auditor")
	id := cdktest.LogicalID(c.Stack, c.CfnSecret())
	assert.Equal(t, logicalid.Must("AuditorSecret", "Resource"), id)
	r := f.clientTemplates[c.Name].Resource(id)
	require.NotNil(t, r, "secret %s not in its stack's template", id)
	assert.Equal(t, "AWS::SecretsManager::Secret", r["Type"])
	assert.Equal(t, map[string]any{escapeHatchKey: "set through CfnSecret()"}, r["Metadata"])
	assert.Same(t, c.CfnSecret(), c.CfnSecret(), "looked up once")
	assert.Same(t, c.Secret(), c.Secret(), "created once")
}

// TestClientSecretGrantRead: Secret().GrantRead gives the grantee exactly
// reading that client's secret (GetSecretValue and DescribeSecret, "Actions,
// resources, and condition keys for AWS Secrets Manager", Service
// Authorization Reference) on its ARN, passed up from the client stack.
func TestClientSecretGrantRead(t *testing.T) {
	f := loadFixtures(t)[prefixDomain]
	var statements []any
	for _, r := range f.template.Section("Resources") {
		r := r.(map[string]any)
		if r["Type"] != "AWS::IAM::Policy" {
			continue
		}
		props := r["Properties"].(map[string]any)
		if mustJSON(t, props["Roles"]) != `[{"Ref":"`+cdktest.LogicalID(f.stack, f.stack.Node().FindChild(jsii.String("SecretReader")).Node().DefaultChild().(awscdk.CfnElement))+`"}]` {
			continue
		}
		statements = append(statements, props["PolicyDocument"].(map[string]any)["Statement"].([]any)...)
	}
	c := f.auth.Client("auditor")
	require.Len(t, statements, 1, "one statement: reading the secret")
	statement := statements[0].(map[string]any)
	assert.Equal(t, "Allow", statement["Effect"])
	assert.Equal(t, []any{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"}, statement["Action"])
	// The ARN is the client stack's output of the secret's Ref.
	getAtt, _ := statement["Resource"].(map[string]any)["Fn::GetAtt"].([]any)
	require.Len(t, getAtt, 2, "Resource: %v", statement["Resource"])
	assert.Equal(t, cdktest.LogicalID(f.stack, c.Stack.NestedStackResource()), getAtt[0])
	output, _ := strings.CutPrefix(getAtt[1].(string), "Outputs.")
	require.Contains(t, f.clientTemplates[c.Name].Section("Outputs"), output)
	assert.Equal(t, map[string]any{"Ref": cdktest.LogicalID(c.Stack, c.CfnSecret())}, f.clientTemplates[c.Name].Section("Outputs")[output].(map[string]any)["Value"])
}

func clientResource(t *testing.T, f *fixture, c *m2mauth.Client) map[string]any {
	t.Helper()
	r := f.clientTemplates[c.Name].Resource(cdktest.LogicalID(c.Stack, c.UserPoolClient()))
	require.NotNil(t, r, "client %q not in template", c.Name)
	return r["Properties"].(map[string]any)
}

// Security property 5 (docs/security.md): every client is a client-credentials-only
// client with a secret and nothing a user-facing client would need.
func TestClientsUseClientCredentialsOnly(t *testing.T) {
	forEachFixture(t, func(t *testing.T, f *fixture) {
		require.Len(t, f.auth.Clients, 2)
		assert.Empty(t, f.template.Resources("AWS::Cognito::UserPoolClient"), "clients live in the client stacks")
		for _, c := range f.auth.Clients {
			p := clientResource(t, f, c)
			assert.Equal(t, true, p["GenerateSecret"], c.Name)
			assert.Equal(t, []any{"client_credentials"}, p["AllowedOAuthFlows"], c.Name)
			assert.Equal(t, true, p["AllowedOAuthFlowsUserPoolClient"], c.Name)
			assert.NotContains(t, p, "CallbackURLs", c.Name)
			assert.NotContains(t, p, "LogoutURLs", c.Name)
			assert.NotContains(t, p, "DefaultRedirectURI", c.Name)
			// Refresh is the only flow left: client credentials issue no
			// refresh token, and every flow that takes a user's password is off.
			assert.Equal(t, []any{"ALLOW_REFRESH_TOKEN_AUTH"}, p["ExplicitAuthFlows"], c.Name)
			assert.Equal(t, "ENABLED", p["PreventUserExistenceErrors"], c.Name)
			assert.Equal(t, true, p["EnableTokenRevocation"], c.Name)
			assert.Equal(t, []any{"COGNITO"}, p["SupportedIdentityProviders"], c.Name)
		}
	})
}

// Security properties 2 and 6 (docs/security.md): each client holds exactly its declared
// custom scopes, and no standard scope.
func TestClientsHoldExactlyTheirDeclaredScopes(t *testing.T) {
	forEachFixture(t, func(t *testing.T, f *fixture) {
		for _, c := range f.auth.Clients {
			p := clientResource(t, f, c)
			var got []string
			for _, s := range p["AllowedOAuthScopes"].([]any) {
				got = append(got, s.(string))
			}
			assert.ElementsMatch(t, f.declared[c.Name], got, c.Name)
			for _, s := range got {
				assert.NotContains(t, []string{"openid", "profile", "email", "phone", "aws.cognito.signin.user.admin"}, s)
				assert.Contains(t, s, "/", "scope %q is not <resource server>/<scope>", s)
			}
		}
	})
}

// Cognito rejects a client whose scopes do not exist yet, so every client
// must be created after the resource servers it draws from: its nested
// stack waits for them.
func TestClientsDependOnTheirResourceServers(t *testing.T) {
	f := loadFixtures(t)[derivedDomain]
	for _, c := range f.auth.Clients {
		r := f.template.Resource(cdktest.LogicalID(f.stack, c.Stack.NestedStackResource()))
		require.NotNil(t, r, c.Name)
		for _, s := range c.Scopes {
			server := f.auth.CognitoResourceServer(s.ResourceServer())
			want := cdktest.LogicalID(f.stack, server.Node().DefaultChild().(awscdk.CfnElement))
			assert.Contains(t, r["DependsOn"], want, c.Name)
		}
	}
}

// Security property 7 (docs/security.md): access-token lifetime set explicitly, in
// minutes, 60 by default.
func TestAccessTokenValidityIsExplicitMinutes(t *testing.T) {
	forEachFixture(t, func(t *testing.T, f *fixture) {
		for _, c := range f.auth.Clients {
			p := clientResource(t, f, c)
			assert.Equal(t, map[string]any{"AccessToken": "minutes"}, p["TokenValidityUnits"], c.Name)
			assert.EqualValues(t, f.validity[c.Name].Minutes(), p["AccessTokenValidity"], c.Name)
		}
	})
}

func TestResourceServersDeclareTheirScopes(t *testing.T) {
	f := loadFixtures(t)[derivedDomain]
	servers := f.template.Resources("AWS::Cognito::UserPoolResourceServer")
	require.Len(t, servers, 2)
	byID := map[string]map[string]any{}
	for _, s := range servers {
		byID[s.Properties["Identifier"].(string)] = s.Properties
	}
	assert.Equal(t, []any{
		map[string]any{"ScopeName": "get", "ScopeDescription": "List weather events"},
		map[string]any{"ScopeName": "post", "ScopeDescription": "Create weather events"},
		map[string]any{"ScopeName": "delete", "ScopeDescription": "Delete weather events"},
	}, byID["weather-api"]["Scopes"])
	assert.Equal(t, "Weather events API", byID["weather-api"]["Name"])
	assert.Equal(t, map[string]any{"Ref": cdktest.LogicalID(f.stack, f.auth.UserPool.Node().DefaultChild().(awscdk.CfnElement))}, byID["weather-api"]["UserPoolId"])
}

// Security property 9 (docs/security.md): nobody signs up, the password policy meets
// cdk-nag COG1, and the pool survives a stack deletion unless it is disposable.
func TestUserPoolIsAdminOnlyAndProtected(t *testing.T) {
	forEachFixture(t, func(t *testing.T, f *fixture) {
		pools := f.template.Resources("AWS::Cognito::UserPool")
		require.Len(t, pools, 1)
		pool := pools[0]
		assert.Equal(t, map[string]any{"AllowAdminCreateUserOnly": true}, pool.Properties["AdminCreateUserConfig"])
		policy := pool.Properties["Policies"].(map[string]any)["PasswordPolicy"].(map[string]any)
		assert.GreaterOrEqual(t, policy["MinimumLength"], float64(8))
		for _, k := range []string{"RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"} {
			assert.Equal(t, true, policy[k], k)
		}
		assert.Equal(t, "LITE", pool.Properties["UserPoolTier"])
		if f.stack.StackName() != nil && *f.stack.StackName() == "PrefixStack" {
			assert.Equal(t, "INACTIVE", pool.Properties["DeletionProtection"])
			assert.Equal(t, "Delete", pool.Raw["DeletionPolicy"])
			return
		}
		assert.Equal(t, "ACTIVE", pool.Properties["DeletionProtection"])
		assert.Equal(t, "Retain", pool.Raw["DeletionPolicy"])
		assert.Equal(t, "Retain", pool.Raw["UpdateReplacePolicy"])
	})
}

// Security property 8 (docs/security.md): the client secret is only ever written into a
// Secrets Manager secret, as an Fn::GetAtt of the client's ClientSecret: not
// into an output, a parameter or any other resource, and no custom resource
// reads it.
func TestClientSecretOnlyReachesSecretsManager(t *testing.T) {
	forEachFixture(t, func(t *testing.T, f *fixture) {
		const secretAttr = `"ClientSecret"`
		templates := map[string]cdktest.Template{"parent": f.template}
		for name, tmpl := range f.clientTemplates {
			templates[name] = tmpl
		}
		for where, tmpl := range templates {
			for name, section := range map[string]map[string]any{
				"Outputs": tmpl.Section("Outputs"), "Parameters": tmpl.Section("Parameters"),
			} {
				assert.NotContains(t, mustJSON(t, section), secretAttr, "%s %s", where, name)
			}
			for id, r := range tmpl.Section("Resources") {
				typ := r.(map[string]any)["Type"]
				assert.NotContains(t, typ, "Custom::", "%s: %s is a custom resource", where, id)
				if typ == "AWS::SecretsManager::Secret" {
					continue
				}
				assert.NotContains(t, mustJSON(t, r.(map[string]any)["Properties"]), secretAttr, "%s: %s (%s)", where, id, typ)
			}
		}
		for _, c := range f.auth.Clients {
			tmpl := f.clientTemplates[c.Name]
			clientID := cdktest.LogicalID(c.Stack, c.UserPoolClient())
			logical := cdktest.LogicalID(c.Stack, c.CfnSecret())
			body := mustJSON(t, tmpl.Resource(logical)["Properties"].(map[string]any)["SecretString"])
			for _, key := range []string{`\"client_id\"`, `\"client_secret\"`, `\"token_url\"`, `{"Fn::GetAtt":["` + clientID + `","ClientSecret"]}`} {
				assert.Contains(t, body, key, c.Name)
			}
			assert.Len(t, tmpl.Section("Resources"), 3, "%s: a client costs its app client, its secret and the secret's rotation schedule, nothing else", c.Name)
		}
	})
}

// However many clients there are, the parent has four outputs: the token
// URL, one JSON list of the clients, joined from one output per client
// stack, the user pool and the suspended-clients table.
func TestOutputsAreTheTokenURLAndOneClientList(t *testing.T) {
	f := loadFixtures(t)[derivedDomain]
	outputs := f.template.Section("Outputs")
	assert.Len(t, outputs, 4)
	assert.Equal(t, map[string]any{"Ref": cdktest.LogicalID(f.stack, f.auth.SuspendedClients.Node().DefaultChild().(awscdk.CfnElement))}, outputs["AuthSuspendedClientsTable"].(map[string]any)["Value"])
	assert.Contains(t, mustJSON(t, outputs["AuthTokenUrl"]), `.amazoncognito.com/oauth2/token`)
	list := mustJSON(t, outputs["AuthClients"].(map[string]any)["Value"])
	for _, stack := range f.auth.ClientStacks {
		assert.Contains(t, list, `{"Fn::GetAtt":["`+cdktest.LogicalID(f.stack, stack.NestedStackResource())+`","Outputs.Clients"]}`)
	}
	for _, c := range f.auth.Clients {
		out := f.clientTemplates[c.Name].Section("Outputs")
		require.Len(t, out, 1, c.Name)
		value := mustJSON(t, out["Clients"].(map[string]any)["Value"])
		clientID := cdktest.LogicalID(c.Stack, c.UserPoolClient())
		secretID := cdktest.LogicalID(c.Stack, c.CfnSecret())
		for _, part := range []string{`\"name\":\"` + c.Name + `\"`, `{"Ref":"` + clientID + `"}`, `{"Ref":"` + secretID + `"}`, `\"scopes\":[`} {
			assert.Contains(t, value, part, c.Name)
		}
	}
}

// A client's stack is a stable function of its name alone, so adding or
// removing a client never moves (and so never replaces) another.
func TestClientShardDependsOnlyOnTheName(t *testing.T) {
	assert.Equal(t, m2mauth.ClientShard("partner-0001", 16), m2mauth.ClientShard("Partner-0001", 16))
	counts := make([]int, 16)
	for i := range 1000 {
		counts[m2mauth.ClientShard(fmt.Sprintf("partner-%04d", i), 16)]++
	}
	for n, c := range counts {
		assert.Less(t, c, (&m2mauth.AuthServerProps{}).MaxClientsPerStack()/2, "shard %d holds %d of 1000 clients", n, c)
		assert.Greater(t, c, 0, "shard %d is empty", n)
	}
}

// The derived prefix keeps a readable part of the stack name, drops words
// Cognito reserves ("Aws" in "AwsWeatherStack"), and adds the last block of
// the stack's CloudFormation id so a redeployed stack gets a fresh prefix.
func TestDerivedPrefixComesFromStackNameAndID(t *testing.T) {
	f := loadFixtures(t)[derivedDomain]
	domains := f.template.Resources("AWS::Cognito::UserPoolDomain")
	require.Len(t, domains, 1)
	want := map[string]any{"Fn::Join": []any{"", []any{"weatherstack-", map[string]any{
		"Fn::Select": []any{float64(4), map[string]any{"Fn::Split": []any{"-", map[string]any{
			"Fn::Select": []any{float64(2), map[string]any{"Fn::Split": []any{"/", map[string]any{"Ref": "AWS::StackId"}}}},
		}}}},
	}}}}
	assert.Equal(t, want, domains[0].Properties["Domain"])
	assert.NotContains(t, domains[0].Properties, "CustomDomainConfig")
}

func TestExplicitPrefixIsUsedAsIs(t *testing.T) {
	f := loadFixtures(t)[prefixDomain]
	domains := f.template.Resources("AWS::Cognito::UserPoolDomain")
	require.Len(t, domains, 1)
	assert.Equal(t, "weather-events-test", domains[0].Properties["Domain"])
}

func TestCustomDomainHasCertificateAndAliasRecord(t *testing.T) {
	f := loadFixtures(t)[customDomain]
	domains := f.template.Resources("AWS::Cognito::UserPoolDomain")
	require.Len(t, domains, 1)
	assert.Equal(t, "auth.example.com", domains[0].Properties["Domain"])
	assert.Equal(t, map[string]any{"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"},
		domains[0].Properties["CustomDomainConfig"])

	records := f.template.Resources("AWS::Route53::RecordSet")
	require.Len(t, records, 1)
	assert.Equal(t, "A", records[0].Properties["Type"])
	assert.Equal(t, "auth.example.com.", records[0].Properties["Name"])
	assert.Equal(t, "Z0123456789ABCDEFGHIJ", records[0].Properties["HostedZoneId"])
	alias := mustJSON(t, records[0].Properties["AliasTarget"])
	assert.Contains(t, alias, "CloudFrontDistribution", "the alias must point at the domain's CloudFront distribution")
	assert.Equal(t, "https://auth.example.com/oauth2/token", *f.auth.TokenURL)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return strings.ReplaceAll(string(b), `\u0026`, "&")
}

// Security property 13: every client secret is rotated on a schedule by the
// pool's rotation function; its name starts with the pool's prefix, so one
// grant covers them all.
func TestEveryClientSecretHasARotationSchedule(t *testing.T) {
	forEachFixture(t, func(t *testing.T, f *fixture) {
		require.NotNil(t, f.auth.RotationFunction())
		for _, c := range f.auth.Clients {
			tmpl := f.clientTemplates[c.Name]
			secretID := cdktest.LogicalID(c.Stack, c.CfnSecret())
			schedules := tmpl.Resources("AWS::SecretsManager::RotationSchedule")
			require.Len(t, schedules, 1, c.Name)
			p := schedules[0].Properties
			assert.Equal(t, map[string]any{"Ref": secretID}, p["SecretId"], c.Name)
			rules := p["RotationRules"].(map[string]any)
			assert.Regexp(t, `^cron\(0 ([0-9]|1[0-9]|2[0-2]) ([1-9]|1[0-9]|2[0-8]) [1-3]/3 \? \*\)$`, rules["ScheduleExpression"], c.Name+": every third month, on a day every month has, in a window that ends within the UTC day")
			assert.Equal(t, "2h", rules["Duration"], c.Name)
			assert.Equal(t, false, p["RotateImmediatelyOnUpdate"], c.Name)
			assert.Contains(t, mustJSON(t, p["RotationLambdaARN"]), "Rotation", c.Name)
			name := mustJSON(t, tmpl.Resource(secretID)["Properties"].(map[string]any)["Name"])
			assert.Contains(t, name, `"scopegate-"`, c.Name)
			assert.Contains(t, name, `"-`+c.Name+`"`, c.Name)
		}
	})
}

// Security property 14: the rotation role may call exactly the three Cognito
// actions on this pool, the four Secrets Manager actions on this pool's
// client secrets, create retirement schedules, and pass the scheduler its
// role; nothing on "*".
func TestRotationRoleIsLeastPrivilege(t *testing.T) {
	f := loadFixtures(t)[derivedDomain]
	fn := f.auth.RotationFunction()
	roleID := cdktest.LogicalID(f.stack, fn.Role.Node().DefaultChild().(awscdk.CfnElement))
	pool := cdktest.LogicalID(f.stack, f.auth.UserPool.Node().DefaultChild().(awscdk.CfnElement))
	byAction := map[string]string{}
	for _, policy := range f.template.Resources("AWS::IAM::Policy") {
		if mustJSON(t, policy.Properties["Roles"]) != `[{"Ref":"`+roleID+`"}]` {
			continue
		}
		for _, st := range policy.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			st := st.(map[string]any)
			actions, ok := st["Action"].([]any)
			if !ok {
				actions = []any{st["Action"]}
			}
			for _, a := range actions {
				byAction[a.(string)] = mustJSON(t, st["Resource"])
			}
		}
	}
	for _, a := range []string{"cognito-idp:AddUserPoolClientSecret", "cognito-idp:ListUserPoolClientSecrets", "cognito-idp:DeleteUserPoolClientSecret"} {
		assert.Equal(t, `{"Fn::GetAtt":["`+pool+`","Arn"]}`, byAction[a], a)
	}
	for _, a := range []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"} {
		assert.Contains(t, byAction[a], `":secret:scopegate-",{"Ref":"`+pool+`"},"-*"`, a)
	}
	for _, a := range []string{"scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule"} {
		assert.Contains(t, byAction[a], "schedule/default/scopegate-retire-*", a)
	}
	assert.Contains(t, byAction["iam:PassRole"], "RetireScheduleRole")
	for a, r := range byAction {
		if !strings.HasPrefix(a, "xray:") { // X-Ray has no resource-level permissions
			assert.NotEqual(t, `"*"`, r, a)
		}
		assert.NotContains(t, a, "*", a)
	}
	actions := make([]string, 0, len(byAction))
	for a := range byAction {
		actions = append(actions, a)
	}
	assert.ElementsMatch(t, []string{
		"cognito-idp:AddUserPoolClientSecret", "cognito-idp:ListUserPoolClientSecrets", "cognito-idp:DeleteUserPoolClientSecret",
		"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage",
		"scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule", "iam:PassRole", "logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
	}, actions)
}
