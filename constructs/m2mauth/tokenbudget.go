package m2mauth

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
)

// Cognito's limit on client-credentials token requests (the /oauth2/token
// endpoint and GetClientToken together), per account and region: not
// adjustable. Every request is billed.
const (
	ClientCredentialsRequestsPerSecond = 150
	DefaultTokenBudgetShare            = 0.8
)

// The CloudWatch metric Cognito publishes for its request-rate quotas:
// client-credentials requests are the category ClientAuthentication.
var tokenRequestMetric = struct {
	namespace, name string
	dimensions      map[string]*string
}{
	namespace: "AWS/Usage",
	name:      "CallCount",
	dimensions: map[string]*string{
		"Service":  jsii.String("Cognito User Pools"),
		"Type":     jsii.String("API"),
		"Resource": jsii.String("ClientAuthentication"),
	},
}

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

func (t TokenBudgetProps) validate() []string {
	if t.Disabled || t.Share == 0 {
		return nil
	}
	if !(t.Share > 0 && t.Share <= 1) {
		return []string{fmt.Sprintf("TokenBudget.Share %v must be more than 0 and at most 1 (a share of Cognito's %d client-credentials requests per second)", t.Share, ClientCredentialsRequestsPerSecond)}
	}
	return nil
}

// newTokenBudgetAlarm watches the account's client-credentials request rate,
// averaged over five minutes (Cognito publishes its usage every five), and
// fires at Share of the limit, before Cognito starts refusing token
// requests with 429 and while each request is still being billed.
func (a *AuthServer) newTokenBudgetAlarm(props TokenBudgetProps) awscloudwatch.Alarm {
	share := props.Share
	if share == 0 {
		share = DefaultTokenBudgetShare
	}
	calls := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String(tokenRequestMetric.namespace),
		MetricName: jsii.String(tokenRequestMetric.name),
		// DimensionsMap is copied by the CDK; this one is never changed.
		DimensionsMap: &tokenRequestMetric.dimensions,
		Statistic:     jsii.String("Sum"),
		Period:        awscdk.Duration_Minutes(jsii.Number(5)),
	})
	rate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("calls / PERIOD(calls)"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"calls": calls},
		Label:        jsii.String("client-credentials token requests per second"),
		Period:       awscdk.Duration_Minutes(jsii.Number(5)),
	})
	threshold := share * ClientCredentialsRequestsPerSecond
	alarm := awscloudwatch.NewAlarm(a.Construct, jsii.String("TokenBudgetAlarm"), &awscloudwatch.AlarmProps{
		Metric:             rate,
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		AlarmDescription: jsii.String(fmt.Sprintf("scopegate: client-credentials token requests in this account and region reached %g per second, %g%% of Cognito's limit of %d "+
			"(every request is billed; past the limit Cognito refuses them). Clients should cache tokens until they expire.",
			threshold, share*100, ClientCredentialsRequestsPerSecond)),
	})
	if props.AlarmTopic != nil {
		action := awscloudwatchactions.NewSnsAction(props.AlarmTopic)
		alarm.AddAlarmAction(action)
		alarm.AddOkAction(action)
	}
	return alarm
}
