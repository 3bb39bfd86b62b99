// Package rotationiam is the rotation function's IAM contract: the actions it
// calls. It imports nothing, so the constructs can read it without pulling in
// the function's dependencies.
package rotationiam

// Actions are the actions the rotation function calls, by service: the
// function (package rotate) and the stack that grants its role
// (constructs/m2mauth) both read them here, so that the role allows exactly
// what the function calls and no more.
var Actions = struct {
	// Cognito on the user pool (arn:aws:cognito-idp:<region>:<account>:userpool/<id>).
	Cognito []string
	// SecretsManager on the clients' secrets.
	SecretsManager []string
	// Scheduler on the retire schedules
	// (arn:aws:scheduler:<region>:<account>:schedule/default/scopegate-retire-*).
	Scheduler []string
	// APIGateway on the API keys of the clients in a rate-limit tier
	// (arn:aws:apigateway:<region>::/apikeys/<id>, the id the secret's
	// api_key_id holds): GetApiKey is a GET of that resource.
	APIGateway []string
	// PassRole on Target.RoleArn, which CreateSchedule hands to EventBridge
	// Scheduler (condition iam:PassedToService = scheduler.amazonaws.com).
	// That role needs lambda:InvokeFunction on Target.FunctionArn.
	PassRole []string
}{
	Cognito: []string{
		"cognito-idp:AddUserPoolClientSecret",
		"cognito-idp:ListUserPoolClientSecrets",
		"cognito-idp:DeleteUserPoolClientSecret",
	},
	SecretsManager: []string{
		"secretsmanager:DescribeSecret",
		"secretsmanager:GetSecretValue",
		"secretsmanager:PutSecretValue",
		"secretsmanager:UpdateSecretVersionStage",
	},
	// GetSchedule reads a retire schedule's time (the record of when
	// AWSCURRENT moved, see overlapEnd); UpdateSchedule moves one written
	// before the move later. UpdateSchedule passes Target.RoleArn like
	// CreateSchedule (iam:PassRole).
	Scheduler: []string{
		"scheduler:CreateSchedule",
		"scheduler:GetSchedule",
		"scheduler:UpdateSchedule",
	},
	APIGateway: []string{
		"apigateway:GET",
	},
	PassRole: []string{
		"iam:PassRole",
	},
}
