package m2mauth

import "github.com/scopegate/scopegate/internal/nagmeta"

// explainNagFindings records, on the exact resources, why the cdk-nag rules
// below do not fit a user pool that only machines use.
func (a *AuthServer) explainNagFindings() {
	nagmeta.Suppress(a.UserPool, false,
		rule("AwsSolutions-COG2", "MFA protects user sign-in; this pool has no users and issues tokens only through the client-credentials grant, which MFA does not apply to."),
		rule("AwsSolutions-COG3", "Threat protection (advanced security) evaluates user sign-ins; the client-credentials grant is not inspected by it, so the Plus plan it needs would cost money and change nothing here."),
	)
}

// secretNagRules are the rules a client's secret is known not to meet, with
// their reasons: written into the secret's metadata in its stack's template
// (clientStackTemplate), where the other resources get them from
// explainNagFindings.
func (a *AuthServer) secretNagRules(suspended bool) []nagmeta.Rule {
	switch {
	case a.rotation == nil:
		return []nagmeta.Rule{
			rule("AwsSolutions-SMG4", "Rotation was turned off for this pool (AuthServerProps.Rotation.Disabled); its client secrets change only when rotated by hand in Cognito, as the README describes."),
		}
	case suspended:
		return []nagmeta.Rule{
			rule("AwsSolutions-SMG4", "The client is suspended: Cognito issues it no token, so its secret opens nothing, and rotation (which tests each new secret at the token endpoint) resumes with the client."),
		}
	}
	return nil
}

func rule(id, reason string) nagmeta.Rule { return nagmeta.Rule{ID: id, Reason: reason} }
