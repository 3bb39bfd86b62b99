package awsfake_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/awsfake"
)

// Each protocol, with the real client of a service that speaks it.
func TestTheRealClientsTalkToTheFake(t *testing.T) {
	f := awsfake.New()
	defer f.Close()
	cfg := f.Config()
	ctx := context.Background()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	// awsJson 1.1
	f.Handle("cognito-idp", "ListUserPoolClientSecrets", func(r awsfake.Request) (any, error) {
		assert.Equal(t, "eu-west-1_Pool", r.String("UserPoolId"))
		return map[string]any{"ClientSecrets": []any{map[string]any{"ClientSecretId": "cs-1", "ClientSecretCreateDate": created}}}, nil
	})
	secrets, err := cognitoidentityprovider.NewFromConfig(cfg).ListUserPoolClientSecrets(ctx, &cognitoidentityprovider.ListUserPoolClientSecretsInput{UserPoolId: aws.String("eu-west-1_Pool"), ClientId: aws.String("c")})
	require.NoError(t, err)
	require.Len(t, secrets.ClientSecrets, 1)
	assert.Equal(t, "cs-1", aws.ToString(secrets.ClientSecrets[0].ClientSecretId))
	assert.True(t, created.Equal(aws.ToTime(secrets.ClientSecrets[0].ClientSecretCreateDate)))

	f.Reply("servicequotas", "ListServiceQuotas", map[string]any{"Quotas": []any{map[string]any{"QuotaName": "App clients per user pool", "Value": 2000.0}}})
	q, err := servicequotas.NewFromConfig(cfg).ListServiceQuotas(ctx, &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String("cognito-idp")})
	require.NoError(t, err)
	assert.Equal(t, 2000.0, aws.ToFloat64(q.Quotas[0].Value))

	f.Fail("ssm", "GetParameter", &awsfake.Error{Code: "ParameterNotFound", Message: "no"})
	_, err = ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/x")})
	var apiErr smithy.APIError
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, "ParameterNotFound", apiErr.ErrorCode())

	// REST-JSON
	f.Reply("apigateway", "GET /account", map[string]any{"cloudwatchRoleArn": "arn:aws:iam::123456789012:role/apigw"})
	acct, err := apigateway.NewFromConfig(cfg).GetAccount(ctx, &apigateway.GetAccountInput{})
	require.NoError(t, err)
	assert.Equal(t, "arn:aws:iam::123456789012:role/apigw", aws.ToString(acct.CloudwatchRoleArn))
	f.Reply("lambda", "GET /2016-08-19/account-settings", map[string]any{"AccountLimit": map[string]any{"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 900}})
	ls, err := lambda.NewFromConfig(cfg).GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	require.NoError(t, err)
	assert.Equal(t, int32(900), aws.ToInt32(ls.AccountLimit.UnreservedConcurrentExecutions))
	f.Fail("apigateway", "GET /usageplans", awsfake.AccessDenied(awsfake.RESTJSON))
	_, err = apigateway.NewFromConfig(cfg).GetUsagePlans(ctx, &apigateway.GetUsagePlansInput{})
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, "AccessDeniedException", apiErr.ErrorCode())

	// query
	f.Reply("cloudformation", "DescribeStacks", `<Stacks><member><StackName>CDKToolkit</StackName><StackStatus>CREATE_COMPLETE</StackStatus><Outputs><member><OutputKey>BootstrapVersion</OutputKey><OutputValue>27</OutputValue></member></Outputs></member></Stacks>`)
	st, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("CDKToolkit")})
	require.NoError(t, err)
	assert.Equal(t, "27", aws.ToString(st.Stacks[0].Outputs[0].OutputValue))
	assert.Equal(t, []string{"CDKToolkit"}, f.Calls()[len(f.Calls())-1].Params["StackName"])
	f.Fail("cloudformation", "DescribeStacks", &awsfake.Error{Code: "ValidationError", Message: "Stack with id CDKToolkit does not exist"})
	_, err = cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("CDKToolkit")})
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, "ValidationError", apiErr.ErrorCode())

	// RPC v2 CBOR
	f.Handle("monitoring", "ListMetrics", func(r awsfake.Request) (any, error) {
		assert.Equal(t, "AWS/Usage", r.String("Namespace"))
		return map[string]any{"Metrics": []any{map[string]any{"Namespace": "AWS/Usage", "MetricName": "CallCount",
			"Dimensions": []any{map[string]any{"Name": "Resource", "Value": "ClientAuthentication"}}}}}, nil
	})
	m, err := cloudwatch.NewFromConfig(cfg).ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("AWS/Usage"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Resource"), Value: aws.String("ClientAuthentication")}}})
	require.NoError(t, err)
	require.Len(t, m.Metrics, 1)
	assert.Equal(t, "ClientAuthentication", aws.ToString(m.Metrics[0].Dimensions[0].Value))
	f.Fail("monitoring", "ListMetrics", awsfake.AccessDenied(awsfake.CBOR))
	_, err = cloudwatch.NewFromConfig(cfg).ListMetrics(ctx, &cloudwatch.ListMetricsInput{})
	require.True(t, errors.As(err, &apiErr), "%v", err)
	assert.Equal(t, "AccessDeniedException", apiErr.ErrorCode())

	assert.Contains(t, f.Called(), "monitoring ListMetrics")
}
