package m2mauth

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/cloudformationinclude"
	"github.com/aws/jsii-runtime-go"
)

// appClientStack writes the app clients of one client stack as a
// CloudFormation template, which the CDK turns into CfnUserPoolClient
// constructs in one call (cloudformation_include.CfnInclude) instead of two
// per client (the construct that keeps the path and the client under it).
// Each client keeps the logical id it had when it was created directly
// (CfnInclude keeps a template's logical ids), so no deployed client is
// replaced; the included constructs are real CfnUserPoolClient objects, so
// cdk-nag's rules and aspects see them like any other, and
// Client.UserPoolClient hands them out for escape hatches.
type appClientStack struct {
	// poolID is the pool's id, a token of the parent stack: the template's
	// parameter poolIDParameter, which the include replaces with it.
	poolID    *string
	resources map[string]any
}

// poolIDParameter is the template's placeholder for the pool id; the
// include replaces every Ref to it with the token itself, and the CDK then
// passes the id into the nested stack as it passes any parent value (the
// parameter does not reach the synthesized template).
const poolIDParameter = "UserPoolId"

// The app client's settings, as the CloudFormation resource
// AWS::Cognito::UserPoolClient takes them (CloudFormation User Guide,
// "AWS::Cognito::UserPoolClient"): the client-credentials flow only, with
// every user flow off (ExplicitAuthFlows only allows refreshing tokens,
// which no client-credentials token can use), and the access token's
// validity in minutes. Suspended clients get no OAuth flow (see Suspension).
func appClientProperties(props ClientProps, validity time.Duration) map[string]any {
	scopes := make([]string, len(props.Scopes))
	for i, s := range props.Scopes {
		scopes[i] = s.String()
	}
	p := map[string]any{
		"UserPoolId":                      cfnRef(poolIDParameter),
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
	return p
}

func (s *appClientStack) add(logicalID string, props ClientProps, validity time.Duration) {
	if s.resources == nil {
		s.resources = map[string]any{}
	}
	s.resources[logicalID] = map[string]any{
		"Type":       "AWS::Cognito::UserPoolClient",
		"Properties": appClientProperties(props, validity),
	}
}

// include creates the app clients under stack/AppClients. CfnInclude reads
// its template from a file, in the constructor: the file lives only for
// that call.
func (s *appClientStack) include(stack awscdk.NestedStack) cloudformationinclude.CfnInclude {
	template, err := json.Marshal(map[string]any{
		"Parameters": map[string]any{poolIDParameter: map[string]any{"Type": "String"}},
		"Resources":  s.resources,
	})
	if err != nil {
		panic(fmt.Errorf("m2mauth: app client template: %w", err))
	}
	file, err := os.CreateTemp("", "scopegate-app-clients-*.json")
	if err != nil {
		panic(fmt.Errorf("m2mauth: app client template: %w", err))
	}
	defer os.Remove(file.Name())
	if _, err := file.Write(template); err != nil {
		file.Close()
		panic(fmt.Errorf("m2mauth: app client template %s: %w", file.Name(), err))
	}
	if err := file.Close(); err != nil {
		panic(fmt.Errorf("m2mauth: app client template %s: %w", file.Name(), err))
	}
	return cloudformationinclude.NewCfnInclude(stack, jsii.String("AppClients"), &cloudformationinclude.CfnIncludeProps{
		TemplateFile: jsii.String(file.Name()),
		Parameters:   &map[string]any{poolIDParameter: s.poolID},
	})
}
