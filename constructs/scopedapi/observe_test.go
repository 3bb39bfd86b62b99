package scopedapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

// The function learns which clients are suspended: the table of those
// suspended without a deploy (read with GetItem only), and the ids of
// clients suspended in configuration that have no API key to disable.
func TestTheFunctionLearnsTheSuspensions(t *testing.T) {
	load(t)
	f := suspending
	fn := f.template.Resource(cdktest.LogicalID(f.stack, f.fn.Node().DefaultChild().(awscdk.CfnElement)))
	env := fn["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
	table := cdktest.LogicalID(f.stack, f.auth.SuspendedClients.Node().DefaultChild().(awscdk.CfnElement))
	assert.Equal(t, map[string]any{"Ref": table}, env[contract.EnvSuspendedClientsTable])
	ids := mustJSON(t, env[contract.EnvSuspendedClients])
	assert.Contains(t, ids, "Gone", "the suspended client's id, from its nested stack")
	assert.NotContains(t, ids, "Svc", "only suspended clients")

	grants := mustJSON(t, f.template.Resources("AWS::IAM::Policy"))
	assert.Contains(t, grants, `"Action":"dynamodb:GetItem"`)
	assert.NotContains(t, grants, "dynamodb:PutItem", "the function never writes a suspension")
}

// A suspended client without an API key can still open routes the function
// does not serve, with the tokens it holds: synth says which, and for how
// long.
func TestSynthWarnsOfRoutesASuspendedClientCanStillOpen(t *testing.T) {
	load(t)
	var warnings []string
	for _, entry := range *suspending.api.Node().Metadata() {
		if *entry.Type == "aws:cdk:warning" {
			warnings = append(warnings, mustJSON(t, entry.Data))
		}
	}
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], "suspended clients gone have no API key, and routes GET /status are not served by a function that checks suspensions")
	assert.Contains(t, warnings[0], "for up to 2h0m0s")
	assert.False(t, strings.Contains(warnings[0], "GET /,"), "the function's own route is re-checked")
}

func TestNoDashboardLeavesOutTheView(t *testing.T) {
	load(t)
	assert.Empty(t, suspending.template.Resources("AWS::CloudWatch::Dashboard"))
	assert.Empty(t, suspending.template.Resources("AWS::CloudWatch::InsightRule"))
	assert.Nil(t, suspending.api.Dashboard)
	assert.Len(t, routed.template.Resources("AWS::CloudWatch::Dashboard"), 1)
	assert.Len(t, routed.template.Resources("AWS::CloudWatch::InsightRule"), 4)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	return string(data)
}
