package verify_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/testkit/awsfake"
	"github.com/scopegate/scopegate/internal/verify"
)

// withSuspensionOutputs adds to writeAssembly's templates the outputs a
// synthesized AuthServer has: the suspended-clients table, and the clients
// output as the CDK spells it (Fn::Join over Fn::GetAtt of the nested
// stack's Clients output, itself a Fn::Join of literal JSON and Refs).
// "retired" is suspended in the configuration, "partner" is not.
func withSuspensionOutputs(t *testing.T, dir string) {
	t.Helper()
	edit := func(name string, change func(map[string]any)) {
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		var tmpl map[string]any
		require.NoError(t, json.Unmarshal(data, &tmpl))
		change(tmpl)
		data, err = json.Marshal(tmpl)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	edit("WeatherEvents.template.json", func(tmpl map[string]any) {
		tmpl["Outputs"] = map[string]any{
			contract.SuspendedClientsTable("Auth"): map[string]any{"Value": map[string]any{"Ref": "AuthSuspendedClients1234"}},
			contract.Clients("Auth"): map[string]any{"Value": map[string]any{"Fn::Join": []any{"", []any{"[",
				map[string]any{"Fn::GetAtt": []any{"AuthClients01NestedStackResource", "Outputs.Clients"}}, "]"}}}},
		}
	})
	record := func(name, rest string) any {
		return map[string]any{"Fn::Join": []any{"", []any{
			`{"clientId":"`, map[string]any{"Ref": "Client" + name}, `","name":"` + name + `","scopes":["weather-api/get"],"secretArn":"`,
			map[string]any{"Ref": "Secret" + name}, `"` + rest + `}`}}}
	}
	edit("WeatherEventsAuthClients01.nested.template.json", func(tmpl map[string]any) {
		tmpl["Outputs"] = map[string]any{"Clients": map[string]any{"Value": map[string]any{"Fn::Join": []any{",", []any{
			record("partner", ""), record("retired", `,"suspended":true`)}}}}}
	})
}

// deployedWith plays the account of account(t) with WeatherEvents deployed,
// its table holding the given items (DynamoDB API reference, Scan: Items of
// attribute values, {"S": ...} for strings).
func deployedWith(t *testing.T, items ...contract.Suspension) *awsfake.Server {
	f := account(t)
	f.Stack("CDKToolkit", map[string]string{"BootstrapVersion": "27"})
	f.Stack("WeatherEvents", map[string]string{contract.SuspendedClientsTable("Auth"): "WeatherEvents-SuspendedClients"})
	f.Handle("dynamodb", "Scan", func(r awsfake.Request) (any, error) {
		if r.String("TableName") != "WeatherEvents-SuspendedClients" {
			return nil, &awsfake.Error{Code: "ResourceNotFoundException", Message: "Requested resource not found"}
		}
		var out []any
		for _, it := range items {
			out = append(out, map[string]any{
				"clientId": map[string]any{"S": it.ClientID}, "clientName": map[string]any{"S": it.ClientName},
				"by": map[string]any{"S": it.By}, "at": map[string]any{"S": it.At}, "reason": map[string]any{"S": it.Reason},
			})
		}
		return map[string]any{"Items": out, "Count": len(out), "ScannedCount": len(out)}, nil
	})
	return f
}

func runSuspensionPreflight(t *testing.T, f *awsfake.Server) *verify.Checks {
	t.Helper()
	dir := writeAssembly(t, 2, nil)
	withSuspensionOutputs(t, dir)
	a, err := verify.ReadAssembly(dir, nil)
	require.NoError(t, err)
	p := preflight(f)
	p.DynamoDB = dynamodb.NewFromConfig(f.Config())
	return p.Run(context.Background(), a)
}

func suspensionChecks(c *verify.Checks) []verify.Check {
	var out []verify.Check
	for _, ch := range c.Checks {
		if strings.HasPrefix(ch.Name, "suspended-clients") {
			out = append(out, ch)
		}
	}
	return out
}

// A client suspended without a deploy that the configuration does not
// suspend stops the deploy: one line naming it, who and when, and the two
// ways out.
func TestPreflightStopsADeployThatWouldUndoASuspension(t *testing.T) {
	f := deployedWith(t,
		contract.Suspension{ClientID: "id-p", ClientName: "partner", By: "arn:aws:iam::123456789012:user/oncall", At: "2026-06-01T12:00:00Z", Reason: "leaked"},
		contract.Suspension{ClientID: "id-r", ClientName: "retired", By: "arn:aws:iam::123456789012:user/oncall", At: "2026-05-01T12:00:00Z", Reason: "contract ended"},
	)
	checks := runSuspensionPreflight(t, f)
	assert.Equal(t, 1, checks.ExitCode())
	got := suspensionChecks(checks)
	require.Len(t, got, 1, "%+v", got)
	assert.Equal(t, verify.Check{
		Name: "suspended-clients WeatherEvents: partner", Status: verify.StatusProblem,
		Expected: "suspended in the configuration",
		Seen:     "suspended without a deploy by arn:aws:iam::123456789012:user/oncall at 2026-06-01T12:00:00Z (leaked); the configuration does not suspend it",
		Detail:   `the deploy would re-enable its API key and token issuance: set "suspended": true on client "partner" in cdk.json (clients[]), or run bin/clients resume -stack WeatherEvents -client partner`,
	}, got[0])
	var table strings.Builder
	require.NoError(t, checks.WriteTable(&table))
	assert.Contains(t, table.String(), "problem  suspended-clients WeatherEvents: partner")
}

// Suspended in both places, or in neither: the deploy may go ahead. A
// table item of a client no longer configured is a note.
func TestPreflightPassesSuspensionsTheConfigurationKeeps(t *testing.T) {
	f := deployedWith(t,
		contract.Suspension{ClientID: "id-r", ClientName: "retired", By: "arn:x", At: "2026-05-01T12:00:00Z", Reason: "contract ended"},
		contract.Suspension{ClientID: "id-g", ClientName: "gone", By: "arn:x", At: "2026-05-01T12:00:00Z", Reason: "deleted"},
	)
	checks := runSuspensionPreflight(t, f)
	got := suspensionChecks(checks)
	require.Len(t, got, 1)
	assert.Equal(t, verify.StatusOK, got[0].Status, "%+v", got[0])
	assert.Equal(t, "2 client(s) in table WeatherEvents-SuspendedClients", got[0].Seen)
	assert.Contains(t, got[0].Detail, "gone (id-g) is suspended in table WeatherEvents-SuspendedClients but no longer configured")
	assert.Equal(t, 0, checks.ExitCode())
}

// Not deployed yet: nothing can be suspended. A table that cannot be read:
// cannot tell.
func TestPreflightSuspensionsNotDeployedOrUnreadable(t *testing.T) {
	f := account(t)
	f.Stack("CDKToolkit", map[string]string{"BootstrapVersion": "27"})
	got := suspensionChecks(runSuspensionPreflight(t, f))
	require.Len(t, got, 1)
	assert.Equal(t, verify.StatusOK, got[0].Status)
	assert.Contains(t, got[0].Detail, "not deployed yet")

	f = deployedWith(t)
	f.Fail("dynamodb", "Scan", awsfake.AccessDenied(awsfake.AWSJSON))
	checks := runSuspensionPreflight(t, f)
	got = suspensionChecks(checks)
	require.Len(t, got, 1)
	assert.Equal(t, verify.StatusUnknown, got[0].Status)
	assert.Contains(t, got[0].Detail, "dynamodb Scan WeatherEvents-SuspendedClients: AccessDeniedException")
	assert.Equal(t, 2, checks.ExitCode())
}
