package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/clients"
	"github.com/scopegate/scopegate/internal/testkit/awsfake"
)

// quietStack is a stack with one client that made no request and whose
// secret never rotated, deployed before the suspended-clients table.
func quietStack(t *testing.T) func(context.Context, string) (*clients.Tool, error) {
	f := awsfake.New()
	t.Cleanup(f.Close)
	list, err := json.Marshal([]contract.ClientRecord{{Name: "quiet", ClientID: "id-quiet", SecretArn: "arn:secret:quiet", Scopes: []string{"a/b"}}})
	require.NoError(t, err)
	f.Stack("WeatherEvents", map[string]string{contract.Clients("Auth"): string(list), contract.AccessLogGroup: "logs"})
	f.Reply("logs", "StartQuery", map[string]any{"queryId": "q"})
	f.Reply("logs", "GetQueryResults", map[string]any{"status": "Complete", "results": []any{}})
	f.Reply("secretsmanager", "DescribeSecret", map[string]any{"ARN": "arn:secret:quiet", "RotationEnabled": false})
	return func(context.Context, string) (*clients.Tool, error) {
		cfg := f.Config()
		return &clients.Tool{
			CloudFormation: cloudformation.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg),
			SecretsManager: secretsmanager.NewFromConfig(cfg), APIGateway: apigateway.NewFromConfig(cfg),
		}, nil
	}
}

func TestExitCodes(t *testing.T) {
	tool := quietStack(t)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"flagged client", []string{"-stack", "WeatherEvents"}, 1, "! unused, never-rotated", ""},
		{"json", []string{"-stack", "WeatherEvents", "-json"}, 1, `"exitCode": 1`, ""},
		{"no stack", nil, 2, "", "clients report: -stack is required\n"},
		{"unknown stack", []string{"-stack", "Nope"}, 2, "", "clients: reading stack Nope"},
		{"bad days", []string{"-stack", "WeatherEvents", "-days", "0"}, 2, "", "clients: -days 0 must be from 1 to 3650\n"},
		{"suspend without client", []string{"suspend", "-stack", "WeatherEvents", "-reason", "x"}, 2, "", "clients suspend: -client is required\n"},
		{"suspend without reason", []string{"suspend", "-stack", "WeatherEvents", "-client", "quiet"}, 2, "", "clients suspend: -reason is required: why the client is suspended\n"},
		{"resume takes no reason", []string{"resume", "-stack", "WeatherEvents", "-client", "quiet", "-reason", "x"}, 2, "", "flag provided but not defined: -reason"},
		{"suspend on a stack without the table", []string{"suspend", "-stack", "WeatherEvents", "-client", "quiet", "-reason", "x"}, 2, "",
			"clients: stack WeatherEvents has no AuthSuspendedClientsTable output, which suspend and resume needs: deploy the stack with this version of scopegate first\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			assert.Equal(t, tc.code, run(context.Background(), tc.args, &stdout, &stderr, tool))
			assert.Contains(t, stdout.String(), tc.stdout)
			assert.Contains(t, stderr.String(), tc.stderr)
		})
	}
}
