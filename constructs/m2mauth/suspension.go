package m2mauth

import (
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/contract"
)

// Suspension is how a client is cut off, in configuration (ClientProps.
// Suspended) or without a deploy (an item of the suspended-clients table,
// which bin/clients suspend writes):
//
//   - no new token: a suspended app client has AllowedOAuthFlowsUserPoolClient
//     false and no OAuth flows or scopes. Cognito's CreateUserPoolClient and
//     UpdateUserPoolClient API references say the OAuth 2.0 features
//     (AllowedOAuthFlows, AllowedOAuthScopes) need it true; which error the
//     token endpoint then answers is not documented (bin/verify
//     -conformance records it on the first deploy);
//   - its API key, with tiers, is disabled (AWS::ApiGateway::ApiKey
//     Enabled: "whether the ApiKey can be used by callers", CloudFormation
//     user guide): every method of a tiered API requires a key, and API
//     Gateway refuses a request without a usable one with 403 ("Usage plans
//     and API keys for REST APIs", API Gateway developer guide). The status
//     for a disabled key and how fast it takes effect are not documented
//     apart; make local answers 403 INVALID_API_KEY;
//   - its tokens already issued keep working until they expire (Cognito
//     cannot revoke a client-credentials access token: RevokeToken takes a
//     refresh token, and the client-credentials grant issues none), except
//     where a function's route check reads the suspension: ScopedAPI gives
//     its Handler the suspended client ids and the table's name.
//
// The table is the AuthServer's, never written by a deploy, so a deploy
// cannot undo a suspension made without one.
func (a *AuthServer) newSuspendedClientsTable(disposable bool) awsdynamodb.Table {
	removal := awscdk.RemovalPolicy_RETAIN
	if disposable {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	return awsdynamodb.NewTable(a.Construct, jsii.String("SuspendedClients"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String(contract.SuspensionKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		DeletionProtection: jsii.Bool(!disposable),
		RemovalPolicy:      removal,
	})
}

// Suspended are the clients suspended in configuration.
func (a *AuthServer) Suspended() []*Client {
	var suspended []*Client
	for _, c := range a.Clients {
		if c.Suspended {
			suspended = append(suspended, c)
		}
	}
	return suspended
}

// LongestTokenLifetime is how long an access token of any of clients may
// still work after it is cut off: the longest AccessTokenValidity among
// them.
func LongestTokenLifetime(clients []*Client) time.Duration {
	var longest time.Duration
	for _, c := range clients {
		longest = max(longest, c.AccessTokenValidity)
	}
	return longest
}
