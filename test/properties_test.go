package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
	"github.com/scopegate/scopegate/stacks"
)

// Each test below is one numbered security property, as docs/security.md's
// "Security properties" section lists them; its failure messages start with
// the property, so a red run says which promise broke.

func property(n int, what string) string { return fmt.Sprintf("security property %d (%s)", n, what) }

var standardScopes = []string{"openid", "profile", "email", "phone", "aws.cognito.signin.user.admin"}

func TestProperty01_EveryMethodNeedsCognitoAndScopes(t *testing.T) {
	p := property(1, "every method: COGNITO_USER_POOLS, this pool's authorizer, scopes")
	each(t, func(t *testing.T, c *configuration) {
		methods := c.template.Methods()
		require.NotEmpty(t, methods, p)
		authorizer := c.logicalID(c.api.Authorizer)
		for _, m := range methods {
			if m.HTTPMethod == "OPTIONS" {
				continue
			}
			where := m.HTTPMethod + " " + m.Path
			assert.Equal(t, "COGNITO_USER_POOLS", m.Properties["AuthorizationType"], "%s: %s", p, where)
			assert.Equal(t, map[string]any{"Ref": authorizer}, m.Properties["AuthorizerId"], "%s: %s", p, where)
			assert.NotEmpty(t, m.Scopes, "%s: %s has no AuthorizationScopes", p, where)
		}
	})
}

func TestProperty02_MethodScopesAreDeclaredCustomScopes(t *testing.T) {
	p := property(2, "every method scope is <resource server>/<declared scope>, never a standard scope")
	each(t, func(t *testing.T, c *configuration) {
		for _, m := range c.template.Methods() {
			for _, s := range m.Scopes {
				assert.NotContains(t, standardScopes, s, "%s: %s %s", p, m.HTTPMethod, m.Path)
				scope, err := m2mauth.ParseScope(c.auth.ResourceServers, s)
				assert.NoError(t, err, "%s: %s %s", p, m.HTTPMethod, m.Path)
				assert.True(t, c.auth.Owns(scope), "%s: %q", p, s)
			}
		}
	})
}

func TestProperty03_AuthorizerTrustsOnlyThisPool(t *testing.T) {
	p := property(3, "authorizer: exactly this pool, Authorization header, no validation regex")
	each(t, func(t *testing.T, c *configuration) {
		authorizers := c.template.Resources("AWS::ApiGateway::Authorizer")
		require.Len(t, authorizers, 1, p)
		a := authorizers[0].Properties
		assert.Equal(t, "COGNITO_USER_POOLS", a["Type"], p)
		assert.Equal(t, []any{map[string]any{"Fn::GetAtt": []any{c.logicalID(c.auth.UserPool), "Arn"}}}, a["ProviderARNs"], p)
		assert.Equal(t, "method.request.header.Authorization", a["IdentitySource"], p)
		assert.NotContains(t, a, "IdentityValidationExpression", p)
	})
}

func TestProperty04_MethodsAreExactlyTheDeclaredRoutes(t *testing.T) {
	p := property(4, "the set of (method, path, scopes) equals the declared routes")
	each(t, func(t *testing.T, c *configuration) {
		got := map[string][]string{}
		for _, m := range c.template.Methods() {
			got[m.HTTPMethod+" "+m.Path] = m.Scopes
		}
		assert.Equal(t, c.routes, got, p)
	})
}

func clientsByName(t *testing.T, c *configuration) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range c.resources("AWS::Cognito::UserPoolClient") {
		out[r.Properties["ClientName"].(string)] = r.Properties
	}
	require.Len(t, out, len(c.clients), "clients in the template")
	return out
}

func TestProperty05_ClientsAreClientCredentialsOnly(t *testing.T) {
	p := property(5, "every client: secret, client_credentials only, no URLs, no user flows, prevent-user-existence, revocation")
	each(t, func(t *testing.T, c *configuration) {
		for name, props := range clientsByName(t, c) {
			where := p + ": " + name
			assert.Equal(t, true, props["GenerateSecret"], where)
			if c.suspended[name] {
				// No OAuth flow at all: Cognito issues it no token.
				assert.Equal(t, false, props["AllowedOAuthFlowsUserPoolClient"], where)
				assert.NotContains(t, props, "AllowedOAuthFlows", where)
			} else {
				assert.Equal(t, []any{"client_credentials"}, props["AllowedOAuthFlows"], where)
				assert.Equal(t, true, props["AllowedOAuthFlowsUserPoolClient"], where)
			}
			for _, key := range []string{"CallbackURLs", "LogoutURLs", "DefaultRedirectURI"} {
				assert.NotContains(t, props, key, where)
			}
			for _, flow := range props["ExplicitAuthFlows"].([]any) {
				assert.Equal(t, "ALLOW_REFRESH_TOKEN_AUTH", flow, "%s: a user sign-in flow is on", where)
			}
			assert.Equal(t, "ENABLED", props["PreventUserExistenceErrors"], where)
			assert.NotEqual(t, false, props["EnableTokenRevocation"], where)
		}
	})
}

func TestProperty06_ClientsHoldExactlyTheirDeclaredScopes(t *testing.T) {
	p := property(6, "every client's AllowedOAuthScopes is exactly its declared subset (none while it is suspended)")
	each(t, func(t *testing.T, c *configuration) {
		for name, props := range clientsByName(t, c) {
			if c.suspended[name] {
				assert.NotContains(t, props, "AllowedOAuthScopes", "%s: %s", p, name)
				continue
			}
			var got []string
			for _, s := range props["AllowedOAuthScopes"].([]any) {
				got = append(got, s.(string))
			}
			assert.ElementsMatch(t, c.clients[name], got, "%s: %s", p, name)
		}
	})
}

func TestProperty07_AccessTokenValidityIsExplicit(t *testing.T) {
	p := property(7, "access token validity explicit, in minutes, <= 60 by default")
	each(t, func(t *testing.T, c *configuration) {
		for name, props := range clientsByName(t, c) {
			assert.Equal(t, map[string]any{"AccessToken": "minutes"}, props["TokenValidityUnits"], "%s: %s", p, name)
			assert.EqualValues(t, c.validity[name], props["AccessTokenValidity"], "%s: %s", p, name)
			assert.LessOrEqual(t, props["AccessTokenValidity"], float64(60), "%s: %s", p, name)
		}
	})
}

func TestProperty08_NoSecretInOutputsParametersOrLambdaEnvironment(t *testing.T) {
	p := property(8, "no client secret in Outputs, Parameters or a Lambda environment")
	each(t, func(t *testing.T, c *configuration) {
		// The attribute CloudFormation hands the generated secret out as.
		const secret = `"ClientSecret"`
		for where, tmpl := range c.clientTemplates {
			assert.NotContains(t, mustJSON(t, tmpl.Section("Outputs")), secret, "%s: %s", p, where)
			assert.NotContains(t, mustJSON(t, tmpl.Section("Parameters")), secret, "%s: %s", p, where)
		}
		assert.NotContains(t, mustJSON(t, c.template.Section("Outputs")), secret, p)
		assert.NotContains(t, mustJSON(t, c.template.Section("Parameters")), secret, p)
		for _, fn := range c.template.Resources("AWS::Lambda::Function") {
			assert.NotContains(t, mustJSON(t, fn.Properties["Environment"]), secret, "%s: %s", p, fn.LogicalID)
		}
		// Where it does go: one Secrets Manager secret per client.
		secrets := c.resources("AWS::SecretsManager::Secret")
		assert.Len(t, secrets, len(c.clients), p)
		for _, s := range secrets {
			assert.Contains(t, mustJSON(t, s.Properties["SecretString"]), `"ClientSecret"]}`, "%s: %s", p, s.LogicalID)
		}
	})
}

func TestProperty09_UserPoolIsAdminOnlyAndProtected(t *testing.T) {
	p := property(9, "user pool: admin-create-only, deletion protection, RETAIN, COG1 password policy")
	each(t, func(t *testing.T, c *configuration) {
		pool := c.template.Resource(c.logicalID(c.auth.UserPool))
		props := pool["Properties"].(map[string]any)
		assert.Equal(t, map[string]any{"AllowAdminCreateUserOnly": true}, props["AdminCreateUserConfig"], p)
		assert.Equal(t, "ACTIVE", props["DeletionProtection"], p)
		assert.Equal(t, "Retain", pool["DeletionPolicy"], p)
		assert.Equal(t, "Retain", pool["UpdateReplacePolicy"], p)
		policy := props["Policies"].(map[string]any)["PasswordPolicy"].(map[string]any)
		assert.GreaterOrEqual(t, policy["MinimumLength"], float64(8), p)
		for _, k := range []string{"RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"} {
			assert.Equal(t, true, policy[k], "%s: %s", p, k)
		}
	})
}

func TestProperty10_StageLogsThrottlesAndTraces(t *testing.T) {
	p := property(10, "stage: JSON access log with requestId and client_id, ERROR/INFO execution logs without data trace, throttling on */*, tracing")
	each(t, func(t *testing.T, c *configuration) {
		stages := c.template.Resources("AWS::ApiGateway::Stage")
		require.Len(t, stages, 1, p)
		stage := stages[0].Properties
		assert.Equal(t, true, stage["TracingEnabled"], p)
		access := stage["AccessLogSetting"].(map[string]any)
		var format map[string]string
		require.NoError(t, json.Unmarshal([]byte(access["Format"].(string)), &format), "%s: access log format is not JSON", p)
		assert.Equal(t, "$context.requestId", format["requestId"], p)
		assert.Equal(t, "$context.authorizer.claims.client_id", format["clientId"], p)
		var settings map[string]any
		for _, s := range stage["MethodSettings"].([]any) {
			if m := s.(map[string]any); m["ResourcePath"] == "/*" && m["HttpMethod"] == "*" {
				settings = m
			}
		}
		require.NotNil(t, settings, "%s: no method settings for */*", p)
		assert.Contains(t, []any{"ERROR", "INFO"}, settings["LoggingLevel"], p)
		assert.Equal(t, false, settings["DataTraceEnabled"], p)
		assert.Greater(t, settings["ThrottlingRateLimit"], float64(0), p)
		assert.Greater(t, settings["ThrottlingBurstLimit"], float64(0), p)
	})
}

func TestProperty11_LambdaIsBoundedTracedAndLeastPrivilege(t *testing.T) {
	p := property(11, "Lambda: al2023 arm64, timeout < 29 s, memory, reserved concurrency, tracing, finite log retention, least-privilege role, API-scoped invoke")
	each(t, func(t *testing.T, c *configuration) {
		fn := c.template.Resource(c.logicalID(c.function.Function))["Properties"].(map[string]any)
		assert.Equal(t, "provided.al2023", fn["Runtime"], p)
		assert.Equal(t, []any{"arm64"}, fn["Architectures"], p)
		assert.Less(t, fn["Timeout"], float64(29), p)
		assert.Contains(t, fn, "MemorySize", p)
		assert.Contains(t, fn, "ReservedConcurrentExecutions", p)
		assert.Equal(t, map[string]any{"Mode": "Active"}, fn["TracingConfig"], p)
		logGroup := c.template.Resource(c.logicalID(c.function.LogGroup))["Properties"].(map[string]any)
		assert.Greater(t, logGroup["RetentionInDays"], float64(0), p)

		// No IAM statement in the stack has a wildcard action; only X-Ray's
		// calls, which have no resource-level permissions, use Resource *.
		for _, policy := range c.template.Resources("AWS::IAM::Policy") {
			for _, st := range policy.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				statement := st.(map[string]any)
				actions := asStrings(statement["Action"])
				for _, a := range actions {
					assert.False(t, a == "*" || strings.HasSuffix(a, ":*"), "%s: wildcard action %q in %s", p, a, policy.LogicalID)
				}
				if statement["Resource"] == "*" {
					for _, a := range actions {
						assert.True(t, strings.HasPrefix(a, "xray:"), "%s: %q on Resource * in %s", p, a, policy.LogicalID)
					}
				}
			}
		}
		role := c.template.Resource(c.logicalID(c.function.Role))["Properties"].(map[string]any)
		assert.NotContains(t, role, "ManagedPolicyArns", p)

		api := c.logicalID(c.api.RestAPI)
		perms := c.template.PermissionsOf(c.logicalID(c.function.Function))
		require.Len(t, perms, 1, "%s: one invoke permission for the API", p)
		assert.Contains(t, mustJSON(t, perms[0].Properties["SourceArn"]), `{"Ref":"`+api+`"}`, p)
	})
}

func TestProperty12_CdkNagClean(t *testing.T) {
	p := property(12, "zero unsuppressed cdk-nag AwsSolutions or Serverless findings")
	listed, err := os.ReadFile(filepath.Join(cdktest.ModuleRoot(), "docs", "security.md"))
	require.NoError(t, err)
	app := cdktest.NewApp()
	stacks.AddNagChecks(app)
	eachOf(t, build(app), func(t *testing.T, c *configuration) {
		// An unsuppressed error fails synthesis; the failure lists the rules.
		msg := cdktest.Recover(func() { c.template = cdktest.Template(*assertions.Template_FromStack(c.stack, nil).ToJSON()) })
		require.Empty(t, msg, "%s:\n%s", p, strings.Join(cdktest.ErrorAnnotations(c.stack), "\n"))
		annotations := assertions.Annotations_FromStack(c.stack)
		var warnings []string
		cdktest.Check(t, func() { warnings = messages(annotations.FindWarning(jsii.String("*"), assertions.Match_AnyValue())) })
		assert.Empty(t, warnings, "%s: unsuppressed warnings", p)

		// Every suppression carries a reason a reviewer can judge, and
		// docs/security.md lists its rule.
		resources := c.template.Section("Resources")
		for _, nested := range c.auth.ClientStacks {
			for id, r := range cdktest.Template(*assertions.Template_FromStack(nested, nil).ToJSON()).Section("Resources") {
				resources[*nested.Node().Id()+"/"+id] = r
			}
		}
		for id, r := range resources {
			meta, _ := r.(map[string]any)["Metadata"].(map[string]any)
			nag, _ := meta["cdk_nag"].(map[string]any)
			rules, _ := nag["rules_to_suppress"].([]any)
			for _, rule := range rules {
				rule := rule.(map[string]any)
				assert.GreaterOrEqual(t, len(rule["reason"].(string)), 60, "%s: suppression of %s on %s needs a real reason", p, rule["id"], id)
				assert.True(t, strings.Contains(string(listed), rule["id"].(string)), "%s: docs/security.md must list the suppression of %s", p, rule["id"])
			}
		}
	})
}

func messages(found *[]*cxapi.SynthesisMessage) []string {
	var out []string
	for _, m := range *found {
		out = append(out, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
	}
	sort.Strings(out)
	return out
}

func asStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			if str, ok := s.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func TestProperty13_EveryClientSecretRotates(t *testing.T) {
	p := property(13, "every client secret has a rotation schedule run by the pool's rotation function, but a suspended client's")
	each(t, func(t *testing.T, c *configuration) {
		require.NotNil(t, c.auth.RotationFunction(), p)
		scheduled := 0
		for id, tmpl := range c.clientTemplates {
			secrets := tmpl.Resources("AWS::SecretsManager::Secret")
			schedules := map[string]bool{}
			for _, s := range tmpl.Resources("AWS::SecretsManager::RotationSchedule") {
				schedules[mustJSON(t, s.Properties["SecretId"])] = true
				assert.Contains(t, mustJSON(t, s.Properties["RotationLambdaARN"]), "Rotation", "%s: %s", p, id)
				// Every 90 days as every third month, in a 2-hour window of
				// the client's own (spread by its name's hash).
				rules := s.Properties["RotationRules"].(map[string]any)
				assert.Regexp(t, `^cron\(0 \d+ \d+ [1-3]/3 \? \*\)$`, rules["ScheduleExpression"], "%s: %s", p, id)
				assert.Equal(t, "2h", rules["Duration"], "%s: %s", p, id)
			}
			for _, s := range secrets {
				if schedules[`{"Ref":"`+s.LogicalID+`"}`] {
					scheduled++
				}
			}
		}
		assert.Equal(t, len(c.clients)-len(c.suspended), scheduled, "%s: one schedule per client secret", p)
		for name := range c.suspended {
			client := c.auth.Client(name)
			secretID := cdktest.LogicalID(client.Stack, client.CfnSecret())
			for _, s := range c.clientTemplates[*client.Stack.Node().Id()].Resources("AWS::SecretsManager::RotationSchedule") {
				assert.NotEqual(t, `{"Ref":"`+secretID+`"}`, mustJSON(t, s.Properties["SecretId"]), "%s: suspended %s is not rotated", p, name)
			}
		}
	})
}

func TestProperty14_RotationRoleIsLeastPrivilege(t *testing.T) {
	p := property(14, "the rotation role: three Cognito actions on this pool, four Secrets Manager actions on its client secrets, retirement schedules, nothing on * but X-Ray")
	each(t, func(t *testing.T, c *configuration) {
		role := c.logicalID(c.auth.RotationFunction().Role)
		pool := `{"Fn::GetAtt":["` + c.logicalID(c.auth.UserPool) + `","Arn"]}`
		for _, policy := range c.template.Resources("AWS::IAM::Policy") {
			if mustJSON(t, policy.Properties["Roles"]) != `[{"Ref":"`+role+`"}]` {
				continue
			}
			for _, st := range policy.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := st.(map[string]any)
				resource := mustJSON(t, st["Resource"])
				for _, a := range asStrings(st["Action"]) {
					switch {
					case strings.HasPrefix(a, "cognito-idp:"):
						assert.Contains(t, []string{"cognito-idp:AddUserPoolClientSecret", "cognito-idp:ListUserPoolClientSecrets", "cognito-idp:DeleteUserPoolClientSecret"}, a, p)
						assert.Equal(t, pool, resource, "%s: %s", p, a)
					case strings.HasPrefix(a, "secretsmanager:"):
						assert.Contains(t, resource, `":secret:scopegate-",{"Ref":"`+c.logicalID(c.auth.UserPool)+`"},"-*"`, "%s: %s", p, a)
					case a == "scheduler:CreateSchedule", a == "scheduler:GetSchedule", a == "scheduler:UpdateSchedule":
						assert.Contains(t, resource, "schedule/default/scopegate-retire-*", p)
					case a == "apigateway:GET":
						// Only with tiers: reading the pool's clients' API keys.
						require.NotNil(t, c.tiers, "%s: apigateway:GET without tiers", p)
						assert.Contains(t, resource, `"::/apikeys/*"`, p)
						assert.Equal(t, `{"StringEquals":{"aws:ResourceTag/scopegate:user-pool":{"Ref":"`+c.logicalID(c.auth.UserPool)+`"}}}`, mustJSON(t, st["Condition"]), p)
					case a == "iam:PassRole", strings.HasPrefix(a, "logs:"), strings.HasPrefix(a, "xray:"):
					default:
						t.Errorf("%s: unexpected action %s", p, a)
					}
				}
			}
		}
	})
}

func TestProperty18_SuspendedClientsAreCutOff(t *testing.T) {
	p := property(18, "a suspended client gets no token, its key is disabled, and the function can read the suspensions")
	c := all(t)["WeatherEventsClients"]
	require.NotEmpty(t, c.suspended, "the configuration suspends a client")
	records := map[string]contract.ClientRecord{}
	for _, r := range clientRecords(t, c) {
		records[r.Name] = r
	}
	for name := range c.clients {
		client := c.auth.Client(name)
		props := clientsByName(t, c)[name]
		assert.Equal(t, !c.suspended[name], props["AllowedOAuthFlowsUserPoolClient"], "%s: %s", p, name)
		assert.Equal(t, c.suspended[name], records[name].Suspended, "%s: %s's record", p, name)
		assert.Equal(t, "<ref:"+cdktest.LogicalID(client.Stack, client.APIKey())+">", records[name].APIKeyID, "%s: %s's record names its key", p, name)
	}
	each(t, func(t *testing.T, c *configuration) {
		env := c.template.Resource(c.logicalID(c.function.Function))["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
		table := cdktest.LogicalID(c.stack, c.auth.SuspendedClients.Node().DefaultChild().(awscdk.CfnElement))
		assert.Equal(t, map[string]any{"Ref": table}, env[contract.EnvSuspendedClientsTable], p)
		// Suspended clients here all have keys, which refuse them on every
		// route; keyless ones would be named (scopedapi's tests).
		assert.NotContains(t, env, contract.EnvSuspendedClients, p)
	})
}

func TestProperty19_EveryAPIHasItsPartnerView(t *testing.T) {
	p := property(19, "a dashboard and four contributor rules on the access log per API")
	each(t, func(t *testing.T, c *configuration) {
		assert.Len(t, c.template.Resources("AWS::CloudWatch::Dashboard"), 1, p)
		rules := c.template.Resources("AWS::CloudWatch::InsightRule")
		require.Len(t, rules, 4, p)
		logs := cdktest.LogicalID(c.stack, c.api.AccessLogs.Node().DefaultChild().(awscdk.CfnElement))
		filters := map[string]string{}
		for _, r := range rules {
			assert.Equal(t, "ENABLED", r.Properties["RuleState"], p)
			body := mustJSON(t, r.Properties["RuleBody"])
			assert.Contains(t, body, `{"Ref":"`+logs+`"}`, "%s: the rule reads the API's access log", p)
			for _, want := range []string{`\"LogFormat\":\"JSON\"`, `\"Keys\":[\"$.clientId\"]`, `\"AggregateOn\":\"Count\"`, `\"Name\":\"CloudWatchLogRule\"`} {
				assert.Contains(t, body, want, p)
			}
			name := r.Properties["RuleName"].(string)
			filters[name[strings.LastIndex(name, "-")+1:]] = body
		}
		assert.NotContains(t, filters["TopClientsByRequests"], "Filters", p)
		assert.Contains(t, filters["TopClientsBy4xx"], `\"StartsWith\":[\"4\"]`, p)
		assert.Contains(t, filters["TopClientsBy429"], `\"In\":[\"429\"]`, p)
		assert.Contains(t, filters["TopClientsBy5xx"], `\"StartsWith\":[\"5\"]`, p)
	})
}
