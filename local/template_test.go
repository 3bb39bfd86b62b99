package local

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scopegate/scopegate/contract"
)

// tinyTemplate is a hand-written stack: a user pool with an active client
// and one whose OAuth features are off (how clients[].suspended leaves
// it), a suspended-clients table with a time to live, and an API whose one
// method needs a token and an API key of a usage plan (one key enabled,
// one disabled). Its integration is MOCK, which make local does not
// emulate: a request that passes every check answers 502.
const tinyTemplate = `{
  "Resources": {
    "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {}},
    "Domain": {"Type": "AWS::Cognito::UserPoolDomain", "Properties": {"Domain": "tiny", "UserPoolId": {"Ref": "Pool"}}},
    "Active": {"Type": "AWS::Cognito::UserPoolClient", "Properties": {"UserPoolId": {"Ref": "Pool"}, "ClientName": "active",
      "GenerateSecret": true, "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthFlows": ["client_credentials"], "AllowedOAuthScopes": ["api/read"]}},
    "Suspended": {"Type": "AWS::Cognito::UserPoolClient", "Properties": {"UserPoolId": {"Ref": "Pool"}, "ClientName": "suspended",
      "GenerateSecret": true, "AllowedOAuthFlowsUserPoolClient": false, "AllowedOAuthFlows": ["client_credentials"], "AllowedOAuthScopes": ["api/read"]}},
    "ActiveSecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "active", "SecretString": {"Fn::Join": ["", [
      "{\"client_id\":\"", {"Ref": "Active"}, "\",\"client_secret\":\"", {"Fn::GetAtt": ["Active", "ClientSecret"]},
      "\",\"token_url\":\"https://tiny.auth.", {"Ref": "AWS::Region"}, ".amazoncognito.com/oauth2/token\",\"api_key_id\":\"", {"Ref": "OnKey"}, "\"}"]]}}},
    "SuspendedSecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "suspended", "SecretString": {"Fn::Join": ["", [
      "{\"client_id\":\"", {"Ref": "Suspended"}, "\",\"client_secret\":\"", {"Fn::GetAtt": ["Suspended", "ClientSecret"]},
      "\",\"token_url\":\"https://tiny.auth.", {"Ref": "AWS::Region"}, ".amazoncognito.com/oauth2/token\",\"api_key_id\":\"", {"Ref": "OffKey"}, "\"}"]]}}},
    "SuspendedClients": {"Type": "AWS::DynamoDB::Table", "Properties": {"BillingMode": "PAY_PER_REQUEST",
      "KeySchema": [{"AttributeName": "clientId", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "clientId", "AttributeType": "S"}],
      "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": true}}},
    "Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Name": "tiny"}},
    "Deployment": {"Type": "AWS::ApiGateway::Deployment", "Properties": {"RestApiId": {"Ref": "Api"}, "StageName": "prod"}},
    "Authorizer": {"Type": "AWS::ApiGateway::Authorizer", "Properties": {"RestApiId": {"Ref": "Api"}, "Type": "COGNITO_USER_POOLS",
      "IdentitySource": "method.request.header.Authorization", "ProviderARNs": [{"Fn::GetAtt": ["Pool", "Arn"]}]}},
    "GetRoot": {"Type": "AWS::ApiGateway::Method", "Properties": {"RestApiId": {"Ref": "Api"}, "ResourceId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
      "HttpMethod": "GET", "AuthorizationType": "COGNITO_USER_POOLS", "AuthorizerId": {"Ref": "Authorizer"}, "AuthorizationScopes": ["api/read"],
      "ApiKeyRequired": true, "Integration": {"Type": "MOCK"}}},
    "Plan": {"Type": "AWS::ApiGateway::UsagePlan", "Properties": {"UsagePlanName": "bronze",
      "ApiStages": [{"ApiId": {"Ref": "Api"}, "Stage": "prod"}], "Throttle": {"RateLimit": 0.001, "BurstLimit": 2}}},
    "OnKey": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Enabled": true, "Value": "on-key-0123456789abcdef"}},
    "OffKey": {"Type": "AWS::ApiGateway::ApiKey", "Properties": {"Enabled": false, "Value": "off-key-0123456789abcdef"}},
    "OnPlanKey": {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {"KeyId": {"Ref": "OnKey"}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": "Plan"}}},
    "OffPlanKey": {"Type": "AWS::ApiGateway::UsagePlanKey", "Properties": {"KeyId": {"Ref": "OffKey"}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": "Plan"}}},
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}
  },
  "Outputs": {
    "ApiUrl": {"Value": {"Fn::Join": ["", ["https://", {"Ref": "Api"}, ".execute-api.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}, "/prod/"]]}},
    "Table": {"Value": {"Ref": "SuspendedClients"}},
    "Conditional": {"Value": {"Fn::If": ["IsProd", "a", "b"]}}
  }
}`

func startTiny(t *testing.T) *Emulator {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"manifest.json":      `{"artifacts": {"Tiny": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Tiny.template.json"}}}}`,
		"Tiny.template.json": tinyTemplate,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e, err := Start(context.Background(), Options{Assembly: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

func secretNamed(t *testing.T, e *Emulator, name string) contract.ClientSecret {
	t.Helper()
	for arn, s := range e.Secrets {
		if strings.Contains(arn, ":secret:"+name+"-") {
			return s
		}
	}
	t.Fatalf("no local secret %s in %v", name, e.Secrets)
	return contract.ClientSecret{}
}

func keyedCall(t *testing.T, u, token, key string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// What Start reads of a template: a client with AllowedOAuthFlowsUserPoolClient
// false gets no token, a disabled API key is refused, the usage plan's
// burst holds per key, every table exists from its key schema, and what is
// not emulated (the MOCK integration, the time to live, a queue, an Fn::If
// output) is listed.
func TestFromTemplate(t *testing.T) {
	e := startTiny(t)
	active, suspended := secretNamed(t, e, "active"), secretNamed(t, e, "suspended")
	if !strings.HasPrefix(active.TokenURL, "http://127.0.0.1:") || active.APIKey != "on-key-0123456789abcdef" {
		t.Fatalf("the active client's local secret: %+v; want the local token URL and its key's value", active)
	}
	if status, body := token(t, suspended.TokenURL, suspended, ""); status != 400 || body["error"] != "unauthorized_client" {
		t.Errorf("token for the client with OAuth off: %d %v, want 400 unauthorized_client", status, body)
	}
	status, body := token(t, active.TokenURL, active, "")
	if status != 200 {
		t.Fatalf("token for the active client: %d %v", status, body)
	}
	tok := body["access_token"].(string)
	api := e.Outputs["Tiny"]["ApiUrl"]
	if !strings.HasPrefix(api, "http://127.0.0.1:") || !strings.HasSuffix(api, "/prod/") {
		t.Fatalf("ApiUrl output %q is not the local stage", api)
	}
	if s := keyedCall(t, api, tok, ""); s != 403 {
		t.Errorf("no key: %d, want 403", s)
	}
	if s := keyedCall(t, api, tok, "off-key-0123456789abcdef"); s != 403 {
		t.Errorf("the disabled key: %d, want 403", s)
	}
	// Past every check, the MOCK integration answers 502; the plan's burst
	// of 2 lets two through, then THROTTLED 429.
	for i, want := range []int{502, 502, 429} {
		if s := keyedCall(t, api, tok, "on-key-0123456789abcdef"); s != want {
			t.Errorf("request %d with the enabled key: %d, want %d", i+1, s, want)
		}
	}
	db := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.dynamo.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	desc, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(e.Outputs["Tiny"]["Table"])})
	if err != nil {
		t.Fatalf("the table of output Table: %v", err)
	}
	if ks := desc.Table.KeySchema; len(ks) != 1 || aws.ToString(ks[0].AttributeName) != contract.SuspensionKey {
		t.Errorf("key schema %+v, want clientId HASH", ks)
	}
	listed := strings.Join(e.NotEmulated, "\n")
	for _, want := range []string{
		"Tiny/GetRoot AWS::ApiGateway::Method Integration: integration type MOCK is not emulated",
		"Tiny/SuspendedClients AWS::DynamoDB::Table TimeToLiveSpecification: dynalite has no time to live",
		"Tiny/Queue AWS::SQS::Queue: resource type not emulated",
		"Tiny/Conditional output: Fn::If is not evaluated locally",
	} {
		if !strings.Contains(listed, want) {
			t.Errorf("the not-emulated list lacks %q:\n%s", want, listed)
		}
	}
}
