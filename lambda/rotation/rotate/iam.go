package rotate

// IAMActions are the actions the rotation function calls, by service, so that
// the stack grants exactly these and no more.
var IAMActions = struct {
	// Cognito on the user pool (arn:aws:cognito-idp:<region>:<account>:userpool/<id>).
	Cognito []string
	// SecretsManager on the clients' secrets.
	SecretsManager []string
	// Scheduler on the retire schedules
	// (arn:aws:scheduler:<region>:<account>:schedule/default/scopegate-retire-*).
	Scheduler []string
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
	Scheduler: []string{
		"scheduler:CreateSchedule",
	},
	PassRole: []string{
		"iam:PassRole",
	},
}
