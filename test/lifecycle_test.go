package test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

func TestProperty15_TieredClientsAreRateLimitedByTheirOwnKey(t *testing.T) {
	p := property(15, "with tiers, each tier is a usage plan on the stage, each client has its own API key in its tier's plan, and every method requires the key")
	each(t, func(t *testing.T, c *configuration) {
		keys := c.resources("AWS::ApiGateway::ApiKey")
		if c.tiers == nil {
			assert.Empty(t, keys, p)
			assert.Empty(t, c.resources("AWS::ApiGateway::UsagePlan"), p)
			for _, m := range c.template.Resources("AWS::ApiGateway::Method") {
				assert.NotEqual(t, true, m.Properties["ApiKeyRequired"], "%s: %s", p, m.LogicalID)
			}
			return
		}
		plans := map[string]string{} // logical id -> tier
		for _, tp := range c.auth.TierPlans() {
			plans[c.logicalID(tp.UsagePlan)] = tp.Tier.Name
		}
		stage := c.logicalID(c.api.RestAPI.DeploymentStage())
		for _, plan := range c.template.Resources("AWS::ApiGateway::UsagePlan") {
			tier, ok := plans[plan.LogicalID]
			require.True(t, ok, "%s: usage plan %s is no tier's", p, plan.LogicalID)
			stages := mustJSON(t, plan.Properties["ApiStages"])
			assert.Contains(t, stages, `"Stage":{"Ref":"`+stage+`"}`, "%s: tier %s covers the API's stage", p, tier)
			throttle := plan.Properties["Throttle"].(map[string]any)
			switch tier {
			case "gold":
				assert.Equal(t, map[string]any{"RateLimit": 20.0, "BurstLimit": 40.0}, throttle, p)
				assert.Equal(t, map[string]any{"Limit": 1000000.0, "Period": "MONTH"}, plan.Properties["Quota"], p)
			case "bronze":
				assert.Equal(t, map[string]any{"RateLimit": 5.0, "BurstLimit": 10.0}, throttle, p)
				assert.Nil(t, plan.Properties["Quota"], p)
			}
		}
		assert.Len(t, plans, 2, p)
		for _, m := range c.template.Resources("AWS::ApiGateway::Method") {
			assert.Equal(t, true, m.Properties["ApiKeyRequired"], "%s: %s", p, m.LogicalID)
		}

		require.Len(t, keys, len(c.clients), "%s: one API key per client", p)
		for name, tier := range c.tiers {
			client := c.auth.Client(name)
			require.NotNil(t, client, name)
			require.NotNil(t, client.APIKey(), name)
			tmpl := c.clientTemplates[*client.Stack.Node().Id()]
			keyID := cdktest.LogicalID(client.Stack, client.APIKey())
			key := tmpl.Resource(keyID)["Properties"].(map[string]any)
			assert.Equal(t, !c.suspended[name], key["Enabled"], "%s: %s's key is enabled unless the client is suspended", p, name)
			assert.Nil(t, key["Value"], "%s: API Gateway generates the value; the template never holds it", p)
			assert.Contains(t, mustJSON(t, key["Tags"]), `"Key":"scopegate:user-pool"`, "%s: %s's key is tagged with its pool", p, name)
			assert.Regexp(t, `"Value":\{"Ref":"referenceto\w*Auth\w*Ref"\}`, mustJSON(t, key["Tags"]), "%s: %s's key is tagged with its pool's id (the parent's Ref of the pool)", p, name)
			attached := 0
			for _, pk := range tmpl.Resources("AWS::ApiGateway::UsagePlanKey") {
				if mustJSON(t, pk.Properties["KeyId"]) == `{"Ref":"`+keyID+`"}` {
					attached++
					assert.Equal(t, "API_KEY", pk.Properties["KeyType"], p)
					planParam := pk.Properties["UsagePlanId"].(map[string]any)["Ref"].(string)
					assert.Contains(t, strings.ToLower(planParam), "tier"+strings.ToLower(tier), "%s: %s's key is in tier %s's plan", p, name, tier)
				}
			}
			assert.Equal(t, 1, attached, "%s: %s's key is in exactly one plan", p, name)

			// The secret names the key; the rotation function copies its
			// value in right after the deploy.
			secretID := cdktest.LogicalID(client.Stack, client.CfnSecret())
			secret := mustJSON(t, tmpl.Resource(secretID)["Properties"])
			assert.Contains(t, secret, `\"api_key_id\":\"`, p)
			for _, s := range tmpl.Resources("AWS::SecretsManager::RotationSchedule") {
				if mustJSON(t, s.Properties["SecretId"]) == `{"Ref":"`+secretID+`"}` {
					assert.Equal(t, true, s.Properties["RotateImmediatelyOnUpdate"], "%s: %s's first rotation writes its API key", p, name)
				}
			}
		}
	})
}

func TestProperty16_TokenRequestsHaveABudgetAlarm(t *testing.T) {
	p := property(16, "an alarm on the account's client-credentials token requests at 80% of Cognito's 150 per second, whatever Service and Class values Cognito publishes")
	each(t, func(t *testing.T, c *configuration) {
		alarms := c.template.Resources("AWS::CloudWatch::Alarm")
		require.Len(t, alarms, 1, p)
		a := alarms[0].Properties
		assert.Equal(t, 0.8*150*300, a["Threshold"], p+": requests per 5 minutes")
		assert.Equal(t, "GreaterThanOrEqualToThreshold", a["ComparisonOperator"], p)
		assert.Equal(t, "notBreaching", a["TreatMissingData"], p)
		assert.NotContains(t, a, "MetricName", p+": a plain metric alarm matches one exact dimension set")
		assert.NotContains(t, a, "Dimensions", p)
		queries, ok := a["Metrics"].([]any)
		require.True(t, ok, p)
		require.Len(t, queries, 1, p+": the query alone")
		q := queries[0].(map[string]any)
		assert.Equal(t, 300.0, q["Period"], p)
		assert.NotEqual(t, false, q["ReturnData"], p)
		assert.NotContains(t, q, "MetricStat", p)
		expr, _ := q["Expression"].(string)
		// A Metrics Insights query over the namespace, not SCHEMA(...), which
		// would pin one dimension set again, filtered on Resource alone.
		assert.Regexp(t, `^SELECT SUM\(CallCount\) FROM "AWS/Usage" WHERE Resource = 'ClientAuthentication'$`, expr, p)
		for _, pinned := range []string{"SCHEMA", "Service", "Class", "GROUP BY"} {
			assert.NotContains(t, expr, pinned, p)
		}
		if c.name == "WeatherEventsClients" {
			assert.Equal(t, []any{"arn:aws:sns:eu-west-1:123456789012:token-budget"}, a["AlarmActions"], p)
			assert.Equal(t, []any{"arn:aws:sns:eu-west-1:123456789012:token-budget"}, a["OKActions"], p)
		}
	})
}

func TestProperty17_A401SaysWhatItCanMean(t *testing.T) {
	p := property(17, "a 401 never claims more than API Gateway knows: a scope miss is a 401 too")
	each(t, func(t *testing.T, c *configuration) {
		responses := c.template.Resources("AWS::ApiGateway::GatewayResponse")
		require.NotEmpty(t, responses, p)
		unauthorized := 0
		for _, r := range responses {
			body := mustJSON(t, r.Properties)
			assert.NotContains(t, body, "invalid_token", p)
			assert.NotContains(t, body, "insufficient_scope", p)
			if r.Properties["ResponseType"] == "UNAUTHORIZED" {
				unauthorized++
				assert.Equal(t, "401", r.Properties["StatusCode"], p)
				assert.Equal(t, `'Bearer realm="scopegate"'`, r.Properties["ResponseParameters"].(map[string]any)["gatewayresponse.header.WWW-Authenticate"], p+": no error code")
				assert.Contains(t, body, "carries none of the scopes this method requires", p)
			}
		}
		assert.Equal(t, 1, unauthorized, p)
	})
}
