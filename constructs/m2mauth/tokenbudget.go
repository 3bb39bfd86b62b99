package m2mauth

import (
	"fmt"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/contract"
)

// Cognito's limit on client-credentials token requests (the /oauth2/token
// endpoint and GetClientToken together), per account and region: not
// adjustable. Every request is billed.
const (
	ClientCredentialsRequestsPerSecond = contract.ClientCredentialsRequestsPerSecond
	DefaultTokenBudgetShare            = 0.8
)

// tokenRequestQuery selects Cognito's count of client-credentials requests:
// the AWS/Usage metric CallCount whose Resource dimension is the request
// category ClientAuthentication ("Metrics for Amazon Cognito user pools" and
// "Dimensions for Amazon Cognito user pools", Cognito developer guide; the
// category is named in "Quotas in Amazon Cognito"). A metric alarm matches
// one exact set of dimensions, and the documents leave the Service value and
// the presence of Class open, so the alarm runs a CloudWatch Metrics Insights
// query instead ("Create a CloudWatch alarm based on a Metrics Insights
// query", CloudWatch user guide): FROM a namespace without SCHEMA matches
// every dimension set, and the WHERE clause pins only the Resource. SUM
// without GROUP BY returns one time series, as an alarm needs. bin/verify
// -conformance lists the dimension sets Cognito really publishes.
const tokenRequestQuery = `SELECT SUM(CallCount) FROM "AWS/Usage" WHERE Resource = 'ClientAuthentication'`

// TokenRequests is the account's client-credentials token requests per
// TokenRequestsPeriod (tokenRequestQuery), for alarms and dashboards;
// Cognito's limit is ClientCredentialsRequestsPerSecond per second of it.
func TokenRequests() awscloudwatch.MathExpression {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(tokenRequestQuery),
		Label:      jsii.String(fmt.Sprintf("client-credentials token requests per %g minutes", TokenRequestsPeriod.Minutes())),
		Period:     awscdk.Duration_Seconds(jsii.Number(TokenRequestsPeriod.Seconds())),
	})
}

// TokenRequestsPeriod is what TokenRequests sums over, and the alarm's
// period: long enough that a burst of token requests at start-up does not
// page anyone.
const TokenRequestsPeriod = 5 * time.Minute

// TokenBudgetProps configures the alarm on token requests.
type TokenBudgetProps struct {
	// Disabled leaves the alarm out. Default: false.
	Disabled bool
	// Share of the 150 requests per second the alarm fires at, from more
	// than 0 to 1. Default: 0.8 (120 requests per second).
	Share float64
	// AlarmTopic is notified when the alarm fires and when it clears.
	// Default: no action (the alarm shows in the console).
	AlarmTopic awssns.ITopic
}

// Problems reports every bad field of the token budget props: the checks
// NewAuthServer makes.
func (t TokenBudgetProps) Problems() []FieldProblem {
	if t.Disabled || t.Share == 0 {
		return nil
	}
	if !(t.Share > 0 && t.Share <= 1) {
		return []FieldProblem{{"Share", t.Share, fmt.Sprintf("must be more than 0 and at most 1 (a share of Cognito's %d client-credentials requests per second)", ClientCredentialsRequestsPerSecond)}}
	}
	return nil
}

// newTokenBudgetAlarm watches the account's client-credentials request rate,
// summed over five minutes, and
// fires at Share of the limit, before Cognito starts refusing token
// requests with 429 and while each request is still being billed.
func (a *AuthServer) newTokenBudgetAlarm(props TokenBudgetProps) awscloudwatch.Alarm {
	share := props.Share
	if share == 0 {
		share = DefaultTokenBudgetShare
	}
	// The query sums requests per period; the limit is per second.
	// (Whether an alarm may apply metric math to a Metrics Insights query
	// is not documented, so the threshold is scaled instead.)
	calls := TokenRequests()
	perSecond := share * ClientCredentialsRequestsPerSecond
	threshold := perSecond * TokenRequestsPeriod.Seconds()
	alarm := awscloudwatch.NewAlarm(a.Construct, jsii.String("TokenBudgetAlarm"), &awscloudwatch.AlarmProps{
		Metric:             calls,
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription: jsii.String(fmt.Sprintf("scopegate: client-credentials token requests in this account and region reached %g in %g minutes (%g per second), %g%% of Cognito's limit of %d per second "+
			"(every request is billed; past the limit Cognito refuses them). Clients should cache tokens until they expire.",
			threshold, TokenRequestsPeriod.Minutes(), perSecond, share*100, ClientCredentialsRequestsPerSecond)),
	})
	if props.AlarmTopic != nil {
		action := awscloudwatchactions.NewSnsAction(props.AlarmTopic)
		alarm.AddAlarmAction(action)
		alarm.AddOkAction(action)
	}
	return alarm
}
