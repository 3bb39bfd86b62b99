package m2mauth

import "github.com/scopegate/scopegate/internal/nagmeta"

// explainNagFindings records, on the exact resources, why the cdk-nag rules
// below do not fit a user pool that only machines use.
func (a *AuthServer) explainNagFindings() {
	nagmeta.Suppress(a.UserPool, false,
		rule("AwsSolutions-COG2", "MFA protects user sign-in; this pool has no users and issues tokens only through the client-credentials grant, which MFA does not apply to."),
		rule("AwsSolutions-COG3", "Threat protection (advanced security) evaluates user sign-ins; the client-credentials grant is not inspected by it, so the Plus plan it needs would cost money and change nothing here."),
	)
	for _, c := range a.Clients {
		nagmeta.Suppress(c.Secret, false,
			rule("AwsSolutions-SMG4", "The secret mirrors a Cognito app client secret, which Secrets Manager cannot rotate by itself; rotate in Cognito (add a second client secret, move consumers, delete the old one) as the README describes."),
		)
	}
}

func rule(id, reason string) nagmeta.Rule { return nagmeta.Rule{ID: id, Reason: reason} }
