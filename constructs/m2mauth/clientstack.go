package m2mauth

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cloudformationinclude"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/internal/nagmeta"
)

// clientStackTemplate writes every resource of one client stack's clients
// (the app client, its secret, the secret's rotation schedule, with a tier
// the API key and its usage-plan key) as a CloudFormation template, which
// the CDK turns into L1 constructs in one call
// (cloudformation_include.CfnInclude) instead of one or more calls per
// resource. Each resource keeps the logical id it had when it was created
// directly (CfnInclude keeps a template's logical ids; internal/logicalid
// computes them), so no deployed resource is replaced; the included
// constructs are real CfnUserPoolClient, CfnSecret, ... objects, so cdk-nag's
// rules and aspects see them like any other, and Client's methods hand them
// out for escape hatches.
//
// What the clients take from the parent stack (the pool's id, the token URL,
// the rotation function, the tiers' usage plans) are the template's
// parameters: the include replaces every Ref to one with the parent's token,
// and the CDK then passes the value into the nested stack as it passes any
// parent value (the parameters do not reach the synthesized template).
// The token URL is spliced into each secret's JSON instead, as the CDK
// tokens it holds ("${Token[...]}", split out by intrinsicText.join): the
// include keeps a template's Fn::Join as written, so a parameter there
// would leave a nested Fn::Join where the CDK splices its parts in, and the
// CDK resolves a token in an included string as it does in any other.
type clientStackTemplate struct {
	parameters map[string]*string
	resources  map[string]any
}

// The template's parameters. Tiers' usage plans are
// usagePlanParameter + the tier's index.
const (
	poolIDParameter           = "UserPoolId"
	rotationFunctionParameter = "RotationFunctionArn"
	usagePlanParameter        = "UsagePlanId"
)

// parameter declares the parameter name with the parent's value and returns
// a Ref to it.
func (s *clientStackTemplate) parameter(name string, value *string) map[string]any {
	if s.parameters == nil {
		s.parameters = map[string]*string{}
	}
	s.parameters[name] = value
	return cfnRef(name)
}

func (s *clientStackTemplate) add(logicalID string, resource map[string]any) {
	if s.resources == nil {
		s.resources = map[string]any{}
	}
	s.resources[logicalID] = resource
}

// appClientResource is the app client as AWS::Cognito::UserPoolClient takes
// it (CloudFormation User Guide, "AWS::Cognito::UserPoolClient"): the
// client-credentials flow only, with every user flow off (ExplicitAuthFlows
// only allows refreshing tokens, which no client-credentials token can use),
// and the access token's validity in minutes. Suspended clients get no OAuth
// flow (see Suspension).
func appClientResource(props ClientProps, validity time.Duration, poolID any) map[string]any {
	scopes := make([]string, len(props.Scopes))
	for i, s := range props.Scopes {
		scopes[i] = s.String()
	}
	p := map[string]any{
		"UserPoolId":                      poolID,
		"ClientName":                      props.Name,
		"GenerateSecret":                  true,
		"ExplicitAuthFlows":               []string{"ALLOW_REFRESH_TOKEN_AUTH"},
		"AllowedOAuthFlows":               []string{"client_credentials"},
		"AllowedOAuthFlowsUserPoolClient": true,
		"AllowedOAuthScopes":              scopes,
		"SupportedIdentityProviders":      []string{"COGNITO"},
		"AccessTokenValidity":             validity.Minutes(),
		"TokenValidityUnits":              map[string]any{"AccessToken": "minutes"},
		"PreventUserExistenceErrors":      "ENABLED",
		"EnableTokenRevocation":           true,
	}
	if props.Suspended {
		delete(p, "AllowedOAuthFlows")
		delete(p, "AllowedOAuthScopes")
		p["AllowedOAuthFlowsUserPoolClient"] = false
	}
	return map[string]any{"Type": "AWS::Cognito::UserPoolClient", "Properties": p}
}

// secretResource is the client's AWS::SecretsManager::Secret (CloudFormation
// User Guide, "AWS::SecretsManager::Secret": Name, Description,
// SecretString). It is deleted with the stack, as aws-cdk-lib's Secret
// construct, which created it before, deletes its secrets by default
// (RemovalPolicy.DESTROY): the app client it describes is deleted too, and
// Secrets Manager keeps a deleted secret recoverable for its recovery window
// (7 to 30 days, "Delete an AWS Secrets Manager secret"). nag holds the
// cdk-nag rules the secret is known not to meet, with their reasons, in
// cdk-nag's metadata format.
func secretResource(name, description, secretString any, nag []nagmeta.Rule) map[string]any {
	r := map[string]any{
		"Type": "AWS::SecretsManager::Secret",
		"Properties": map[string]any{
			"Name":         name,
			"Description":  description,
			"SecretString": secretString,
		},
		"DeletionPolicy":      "Delete",
		"UpdateReplacePolicy": "Delete",
	}
	if len(nag) > 0 {
		r["Metadata"] = map[string]any{nagmeta.MetadataKey: nagmeta.Metadata(nag...)}
	}
	return r
}

// include creates the resources under stack/AppClients (the construct id
// the app clients had alone; the logical ids do not depend on it).
// CfnInclude reads its template from a file, in the constructor: the file
// lives only for that call.
func (s *clientStackTemplate) include(stack awscdk.NestedStack) cloudformationinclude.CfnInclude {
	declared := map[string]any{}
	values := map[string]any{}
	for name, value := range s.parameters {
		declared[name] = map[string]any{"Type": "String"}
		values[name] = value
	}
	template, err := json.Marshal(map[string]any{
		"Parameters": declared,
		"Resources":  s.resources,
	})
	if err != nil {
		panic(fmt.Errorf("m2mauth: client stack template: %w", err))
	}
	file, err := os.CreateTemp("", "scopegate-clients-*.json")
	if err != nil {
		panic(fmt.Errorf("m2mauth: client stack template: %w", err))
	}
	defer os.Remove(file.Name())
	if _, err := file.Write(template); err != nil {
		file.Close()
		panic(fmt.Errorf("m2mauth: client stack template %s: %w", file.Name(), err))
	}
	if err := file.Close(); err != nil {
		panic(fmt.Errorf("m2mauth: client stack template %s: %w", file.Name(), err))
	}
	return cloudformationinclude.NewCfnInclude(stack, jsii.String("AppClients"), &cloudformationinclude.CfnIncludeProps{
		TemplateFile: jsii.String(file.Name()),
		Parameters:   &values,
	})
}
