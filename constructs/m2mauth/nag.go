package m2mauth

import (
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// explainNagFindings records, on the exact resources, why the cdk-nag rules
// below do not fit a user pool that only machines use.
func (a *AuthServer) explainNagFindings() {
	suppress(a.UserPool, nil,
		rule("AwsSolutions-COG2", "MFA protects user sign-in; this pool has no users and issues tokens only through the client-credentials grant, which MFA does not apply to."),
		rule("AwsSolutions-COG3", "Threat protection (advanced security) evaluates user sign-ins; the client-credentials grant is not inspected by it, so the Plus plan it needs would cost money and change nothing here."),
	)
	for _, c := range a.Clients {
		suppress(c.Secret, nil,
			rule("AwsSolutions-SMG4", "The secret mirrors a Cognito app client secret, which Secrets Manager cannot rotate by itself; rotate in Cognito (add a second client secret, move consumers, delete the old one) as the README describes."),
		)
	}
}

func rule(id, reason string, appliesTo ...string) *cdknag.NagPackSuppression {
	s := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		list := make([]any, len(appliesTo))
		for i, a := range appliesTo {
			list[i] = a
		}
		s.AppliesTo = &list
	}
	return s
}

func suppress(c constructs.IConstruct, applyToChildren *bool, rules ...*cdknag.NagPackSuppression) {
	cdknag.NagSuppressions_AddResourceSuppressions(c, &rules, applyToChildren)
}
