package m2mauth

import (
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth/rotator/rotationiam"
	"github.com/scopegate/scopegate/internal/nagmeta"

	"github.com/scopegate/scopegate/contract"
)

// Rotation defaults and limits.
const (
	DefaultRotationInterval = 90 * 24 * time.Hour
	DefaultRotationOverlap  = 7 * 24 * time.Hour
	// Two rotations at once at most by default: Cognito allows 5 app-client
	// updates per second per pool ("Quotas in Amazon Cognito",
	// UserPoolClientUpdate), and each rotation makes one or two.
	defaultRotationConcurrency = 2
	// Secrets Manager schedules rotation in whole days (rate(N days)), at
	// most every 1,000 days.
	maxRotationInterval = 1000 * 24 * time.Hour
	// modulePath is where the rotation function's source is found, for an
	// app in this module or in a consumer's.
	modulePath = "github.com/scopegate/scopegate"
)

// The IAM actions the rotation function calls, and nothing else: the
// function's own list (rotationiam.Actions).
var (
	rotationCognitoActions   = rotationiam.Actions.Cognito
	rotationSecretsActions   = rotationiam.Actions.SecretsManager
	rotationSchedulerActions = rotationiam.Actions.Scheduler
	// Reading an API key with its value (GetApiKey, includeValue).
	rotationAPIKeyActions = rotationiam.Actions.APIGateway
)

// RotationProps configures the rotation of client secrets: every interval a
// function adds a second Cognito secret to the client, tests it, makes it the
// secret's current value, and schedules the old Cognito secret's deletion
// for Overlap later, so callers that read the old value keep working that
// long.
type RotationProps struct {
	// Disabled leaves client secrets as CloudFormation created them.
	// Default: false, rotation is on.
	Disabled bool
	// Interval between rotations, whole days. Default: 90 days.
	Interval time.Duration
	// Overlap is how long the old secret keeps working after a rotation,
	// whole hours, shorter than Interval. Default: 7 days.
	Overlap time.Duration
	// ReservedConcurrency of the rotation function, as
	// golambda.GoFunctionProps.ReservedConcurrency. Default (0): 2.
	// golambda.NoReservedConcurrency reserves none, for a new account whose
	// concurrency quota leaves nothing to reserve.
	ReservedConcurrency int
}

func (r RotationProps) withDefaults() RotationProps {
	if r.Interval == 0 {
		r.Interval = DefaultRotationInterval
	}
	if r.Overlap == 0 {
		r.Overlap = DefaultRotationOverlap
	}
	if r.ReservedConcurrency == 0 {
		r.ReservedConcurrency = defaultRotationConcurrency
	}
	return r
}

// Problems reports every bad field of the rotation props: the checks
// NewAuthServer makes.
func (r RotationProps) Problems() []FieldProblem {
	if r.Disabled {
		return nil
	}
	d := r.withDefaults()
	var problems []FieldProblem
	if d.Interval < 24*time.Hour || d.Interval > maxRotationInterval || d.Interval%(24*time.Hour) != 0 {
		problems = append(problems, FieldProblem{"Interval", d.Interval, "must be a whole number of days from 1 to 1000"})
	}
	if d.ReservedConcurrency < 0 && d.ReservedConcurrency != golambda.NoReservedConcurrency {
		problems = append(problems, FieldProblem{"ReservedConcurrency", d.ReservedConcurrency, fmt.Sprintf("must be positive (0 means the default, %d; golambda.NoReservedConcurrency reserves none)", defaultRotationConcurrency)})
	}
	if d.Overlap < time.Hour || d.Overlap%time.Hour != 0 || d.Overlap >= d.Interval {
		problems = append(problems, FieldProblem{"Overlap", d.Overlap, fmt.Sprintf("must be a whole number of hours, at least one, and shorter than the interval between rotations (%v)", d.Interval)})
	}
	return problems
}

// rotator is the rotation function of one AuthServer, shared by its clients.
type rotator struct {
	function *golambda.GoFunction
	props    RotationProps
	// invoke lets Secrets Manager call the function; each client stack
	// waits for it.
	invoke awslambda.CfnPermission
	// functionArn is the function's ARN (a token), read once for every
	// schedule.
	functionArn *string
}

// secretNamePrefix is the name every client secret of the pool starts with,
// so that one grant on "<prefix>*" covers all of them, however many. poolID
// is the pool's id, a token (the CDK turns the string into one Fn::Join) or
// a placeholder of it (intrinsicText).
func secretNamePrefix(poolID string) string {
	return "scopegate-" + poolID + "-"
}

// newRotator builds the rotation function, its role (exactly the Cognito
// actions on this pool, the Secrets Manager actions on this pool's client
// secrets, and scheduling the retirement of old Cognito secrets), and the
// role EventBridge Scheduler uses to call it back.
func (a *AuthServer) newRotator(props RotationProps, disposable, apiKeys bool) *rotator {
	source, err := golambda.SourceDir(modulePath)
	if err != nil {
		panic(err)
	}
	stack := awscdk.Stack_Of(a.Construct)
	fn := golambda.NewGoFunction(a.Construct, "Rotation", &golambda.GoFunctionProps{
		Entry:       filepath.Join(source, "constructs", "m2mauth", "rotator"),
		ModuleDir:   source,
		Description: "scopegate: rotates the client secrets of " + *a.Node().Path(),
		Environment: map[string]string{
			contract.EnvUserPoolID:     *a.userPoolID,
			contract.EnvOverlapSeconds: strconv.Itoa(int(props.Overlap.Seconds())),
		},
		Timeout:             20 * time.Second,
		ReservedConcurrency: props.ReservedConcurrency,
		Disposable:          disposable,
	})
	scheduler := awsiam.NewRole(a.Construct, jsii.String("RetireScheduleRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), nil),
		Description: jsii.String("EventBridge Scheduler calls the rotation function back to retire an old client secret"),
	})
	fn.Function.GrantInvoke(scheduler)
	fn.Function.AddEnvironment(jsii.String(contract.EnvRetireRoleArn), scheduler.RoleArn(), nil)

	fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(rotationCognitoActions...),
		Resources: jsii.Strings(*a.UserPool.UserPoolArn()),
	}))
	secrets := *awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), stack.Partition(), jsii.String(":secretsmanager:"), stack.Region(), jsii.String(":"), stack.Account(),
		jsii.String(":secret:"), jsii.String(secretNamePrefix(*a.userPoolID)), jsii.String("*"),
	})
	fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(rotationSecretsActions...),
		Resources: jsii.Strings(secrets),
	}))
	schedules := *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("scheduler"), Resource: jsii.String("schedule"), ResourceName: jsii.String("default/scopegate-retire-*")})
	fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(rotationSchedulerActions...),
		Resources: jsii.Strings(schedules),
	}))
	fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings(rotationiam.Actions.PassRole...),
		Resources:  jsii.Strings(*scheduler.RoleArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}},
	}))
	functionArn := fn.Function.FunctionArn()
	invoke := awslambda.NewCfnPermission(a.Construct, jsii.String("RotationInvoke"), &awslambda.CfnPermissionProps{
		Action:        jsii.String("lambda:InvokeFunction"),
		FunctionName:  functionArn,
		Principal:     jsii.String("secretsmanager.amazonaws.com"),
		SourceAccount: stack.Account(),
	})
	if apiKeys {
		// Any API key of the account and region by its ARN, but only those
		// tagged with this pool: the clients' keys (addAPIKey).
		keys := *stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("apigateway"), Account: jsii.String(""), Resource: jsii.String("/apikeys/*"), ArnFormat: awscdk.ArnFormat_NO_RESOURCE_NAME})
		fn.Role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:    jsii.Strings(rotationAPIKeyActions...),
			Resources:  jsii.Strings(keys),
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + apiKeyTagPool: a.userPoolID}},
		}))
		nagmeta.Suppress(fn.Role, true, nagmeta.Rule{
			ID:        "AwsSolutions-IAM5",
			AppliesTo: []string{"Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::/apikeys/*"},
			Reason:    "API key ids are generated at deploy time; the statement is limited by a condition to keys tagged with this pool's id, which only the pool's clients' keys carry, and to reading them.",
		})
	}
	nagmeta.Suppress(fn.Role, true, nagmeta.Rule{
		ID:               "AwsSolutions-IAM5",
		AppliesToPattern: []string{`/^Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:scopegate-<[A-Za-z0-9]+>-\*$/`},
		Reason:           "Secrets Manager appends a random suffix to every secret name, so the grant names the pool's secret-name prefix: only this pool's client secrets match it.",
	}, nagmeta.Rule{
		ID:        "AwsSolutions-IAM5",
		AppliesTo: []string{"Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/default/scopegate-retire-*"},
		Reason:    "Each rotation creates a one-time schedule named after the secret it retires; the grant is limited to that name prefix in the default group, and the schedules delete themselves after running.",
	})
	nagmeta.Suppress(scheduler, true, nagmeta.Rule{
		ID:               "AwsSolutions-IAM5",
		AppliesToPattern: []string{`/^Resource::<[A-Za-z0-9]+\.Arn>:\*$/`},
		Reason:           "CDK's grantInvoke also allows the rotation function's versions and aliases (ARN:*); the role can invoke nothing else.",
	})
	nagmeta.Suppress(fn.Function, false, nagmeta.Rule{
		ID: "Serverless-LambdaDLQ",
		Reason: "Secrets Manager invokes the rotation steps synchronously and records and retries a failed rotation itself; a missed retirement " +
			"(EventBridge Scheduler retries it) is done again by the next rotation, which deletes any old secret past the overlap window.",
	})
	return &rotator{function: fn, props: props, invoke: invoke, functionArn: functionArn}
}

// scheduleResource rotates one client's secret every Interval, at a time of its own
// (rotationRules). A secret with an API key rotates as soon as the schedule
// is created, so that the function fills in the key's value within seconds
// of the deploy; on a later change of the schedule that rotation only
// repairs the key's value if the overlap window is still running (see
// constructs/m2mauth/rotator/rotate). Other secrets wait for their first
// window: Secrets Manager then only runs the test step. The schedule waits for the
// function's invoke permission through its stack
// (addClientStackDependencies). secretID and functionArn are intrinsics of
// the client stack's template (clientStackTemplate).
func (r *rotator) scheduleResource(client string, secretID, functionArn any, apiKey bool) map[string]any {
	expr, window := rotationRules(r.props.Interval, client)
	rules := map[string]any{"ScheduleExpression": expr}
	if window != "" {
		rules["Duration"] = window
	}
	// CloudFormation User Guide, "AWS::SecretsManager::RotationSchedule".
	return map[string]any{
		"Type": "AWS::SecretsManager::RotationSchedule",
		"Properties": map[string]any{
			"SecretId":                  secretID,
			"RotationLambdaARN":         functionArn,
			"RotationRules":             rules,
			"RotateImmediatelyOnUpdate": apiKey,
		},
	}
}

// rotationWindow is how long each rotation's window lasts. Secrets Manager
// rotates at any time inside it, and it must end within the UTC day
// (RotationRulesType, Secrets Manager API reference), so windows start at
// 00:00 to 21:00.
const (
	rotationWindow      = "2h"
	rotationWindowHours = 2
)

// rotationRules spreads the clients' rotations over the interval. With
// rate(N days), every secret of a deploy would rotate in the same window:
// a rate() window starts at midnight of the day it falls due, and the first
// falls due N days after the schedule was created (RotationRulesType), so
// 1,000 clients deployed together would all rotate on one day, through a
// function that runs two at a time against Cognito's 5 app-client updates per
// second per pool. Instead, where a cron() expression can say the interval,
// each client gets a window chosen by a hash of its name: an hour of the day
// and, for longer intervals, a day of the week or of the month and a month.
// Other intervals keep rate(N days), unspread (docs/operations.md says which).
//
// The cron() forms are those of "Schedule expressions in Secrets Manager
// rotation" (Secrets Manager user guide): Minutes Hours Day-of-month Month
// Day-of-week Year, with ? in one of the two day fields. Months are
// calendar months, so "90 days" is every third month (89 to 92 days).
func rotationRules(interval time.Duration, client string) (expr, window string) {
	days := int(interval.Hours() / 24)
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(client)))
	pick := h.Sum64()
	next := func(n int) int { v := int(pick % uint64(n)); pick /= uint64(n); return v }
	hour := next(24 - rotationWindowHours + 1)
	switch {
	case days == 1:
		return fmt.Sprintf("cron(0 %d * * ? *)", hour), rotationWindow
	case days == 7:
		return fmt.Sprintf("cron(0 %d ? * %d *)", hour, 1+next(7)), rotationWindow
	case days%30 == 0 && 12%(days/30) == 0:
		// Days 1 to 28 exist in every month.
		day, month := 1+next(28), "*"
		if months := days / 30; months > 1 {
			month = fmt.Sprintf("%d/%d", 1+next(months), months)
		}
		return fmt.Sprintf("cron(0 %d %d %s ? *)", hour, day, month), rotationWindow
	}
	return fmt.Sprintf("rate(%d days)", days), ""
}

// SpreadsRotations reports whether rotations every interval are spread over
// it (see rotationRules): 1, 7, 30, 60, 90, 120, 180 or 360 days.
func SpreadsRotations(interval time.Duration) bool {
	expr, _ := rotationRules(interval, "")
	return strings.HasPrefix(expr, "cron(")
}
