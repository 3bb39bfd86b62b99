// Package clients is bin/clients: the report of a deployed stack's machine
// clients (who calls, how much, who fails, who went quiet, whose secret has
// not rotated) and the emergency suspend and resume of one client without a
// deploy.
//
// It reads the stack through its outputs (package verify's reader): the
// clients output (contract.ClientRecord), the API's access log group, the
// suspended-clients table and the user pool.
package clients

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/suspensions"
	"github.com/scopegate/scopegate/internal/verify"
)

// The AWS calls the tool makes.
type (
	// LogsAPI: StartQuery, GetQueryResults (the report's one Logs Insights
	// query).
	LogsAPI interface {
		StartQuery(context.Context, *cloudwatchlogs.StartQueryInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.StartQueryOutput, error)
		GetQueryResults(context.Context, *cloudwatchlogs.GetQueryResultsInput, ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.GetQueryResultsOutput, error)
	}
	// SecretsManagerAPI: DescribeSecret (rotation dates; never the value).
	SecretsManagerAPI interface {
		DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	}
	// APIGatewayAPI: GetApiKey, UpdateApiKey.
	APIGatewayAPI interface {
		GetApiKey(context.Context, *apigateway.GetApiKeyInput, ...func(*apigateway.Options)) (*apigateway.GetApiKeyOutput, error)
		UpdateApiKey(context.Context, *apigateway.UpdateApiKeyInput, ...func(*apigateway.Options)) (*apigateway.UpdateApiKeyOutput, error)
	}
	// DynamoDBAPI: Scan (report), GetItem, PutItem, DeleteItem (suspend,
	// resume).
	DynamoDBAPI interface {
		suspensions.ReadAPI
		suspensions.WriteAPI
	}
	// CognitoAPI: DescribeUserPoolClient, UpdateUserPoolClient.
	CognitoAPI interface {
		DescribeUserPoolClient(context.Context, *cognitoidentityprovider.DescribeUserPoolClientInput, ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.DescribeUserPoolClientOutput, error)
		UpdateUserPoolClient(context.Context, *cognitoidentityprovider.UpdateUserPoolClientInput, ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.UpdateUserPoolClientOutput, error)
	}
	// STSAPI: GetCallerIdentity (who suspended a client).
	STSAPI interface {
		GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
	}
)

// Tool runs bin/clients against one account and region.
type Tool struct {
	CloudFormation verify.CloudFormationAPI
	Logs           LogsAPI
	SecretsManager SecretsManagerAPI
	APIGateway     APIGatewayAPI
	DynamoDB       DynamoDBAPI
	Cognito        CognitoAPI
	STS            STSAPI
	// AuthPrefix is the AuthServer's construct id. Default: "Auth".
	AuthPrefix string
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// PollInterval is the wait between GetQueryResults calls. Default: 1 s.
	PollInterval time.Duration
}

func (t *Tool) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

func (t *Tool) prefix() string {
	if t.AuthPrefix != "" {
		return t.AuthPrefix
	}
	return contract.DefaultAuthPrefix
}

// stack is what the tool reads of a deployed stack's outputs.
type stack struct {
	name    string
	clients []contract.ClientRecord // sorted by name
	// logGroup, table and userPool are "" when the stack has no such
	// output (one deployed before the operator tools).
	logGroup, table, userPool string
}

func (t *Tool) readStack(ctx context.Context, name string) (*stack, error) {
	outputs, err := verify.ReadOutputs(ctx, t.CloudFormation, name)
	if err != nil {
		return nil, fmt.Errorf("clients: %s", strings.TrimPrefix(err.Error(), "verify: "))
	}
	records, err := verify.ClientRecords(name, outputs, t.prefix())
	if err != nil {
		return nil, fmt.Errorf("clients: %s", strings.TrimPrefix(err.Error(), "verify: "))
	}
	return &stack{
		name: name, clients: records,
		logGroup: outputs[contract.AccessLogGroup],
		table:    outputs[contract.SuspendedClientsTable(t.prefix())],
		userPool: outputs[contract.UserPoolID(t.prefix())],
	}, nil
}

// need names an output a command cannot do without.
func (s *stack) need(value, output, what string) error {
	if value == "" {
		return fmt.Errorf("clients: stack %s has no %s output, which %s needs: deploy the stack with this version of scopegate first", s.name, output, what)
	}
	return nil
}

// find is the client named nameOrID, or with that client id.
func (s *stack) find(nameOrID string) (contract.ClientRecord, error) {
	for _, c := range s.clients {
		if c.Name == nameOrID || c.ClientID == nameOrID {
			return c, nil
		}
	}
	names := make([]string, len(s.clients))
	for i, c := range s.clients {
		names[i] = c.Name
	}
	return contract.ClientRecord{}, fmt.Errorf("clients: stack %s has no client named or with id %q (clients: %s)", s.name, nameOrID, strings.Join(names, ", "))
}
