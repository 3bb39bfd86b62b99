package m2mauth

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/jsii-runtime-go"
)

// derivedPrefixBaseMax leaves room for "-" and the 12 hex digits taken from the
// stack id within Cognito's 63-character limit, with margin for readability.
const derivedPrefixBaseMax = 40

func newDomain(a *AuthServer, domain Domain) (awscognito.UserPoolDomain, *string) {
	switch d := domain.(type) {
	case CustomDomain:
		return newCustomDomain(a, d)
	case PrefixDomain:
		return newPrefixDomain(a, d.Prefix)
	default:
		return newPrefixDomain(a, "")
	}
}

func newPrefixDomain(a *AuthServer, prefix string) (awscognito.UserPoolDomain, *string) {
	if prefix == "" {
		prefix = derivedPrefix(awscdk.Stack_Of(a.Construct))
	}
	domain := a.UserPool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
		CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String(prefix)},
	})
	return domain, domain.BaseUrl(nil)
}

// derivedPrefix builds a prefix that is unique per deployment: a readable part
// from the stack name, and the last 12 hex digits of the stack's CloudFormation
// id, which is new each time the stack is created. A deleted prefix cannot be
// reused at once, so a redeployed stack must not ask for the old one.
func derivedPrefix(stack awscdk.Stack) string {
	base := sanitizePrefixBase(*stack.StackName())
	stackUUID := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), awscdk.Aws_STACK_ID(), nil))
	suffix := awscdk.Fn_Select(jsii.Number(4), awscdk.Fn_Split(jsii.String("-"), stackUUID, nil))
	return base + "-" + *suffix
}

// sanitizePrefixBase lowercases name, keeps letters, digits and single hyphens,
// and drops the words Cognito reserves. Hex digits cannot spell them, so the
// suffix never brings them back.
func sanitizePrefixBase(name string) string {
	name = strings.ToLower(name)
	for _, w := range reservedPrefixWords {
		name = strings.ReplaceAll(name, w, "")
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	base := strings.Trim(b.String(), "-")
	if len(base) > derivedPrefixBaseMax {
		base = strings.TrimRight(base[:derivedPrefixBaseMax], "-")
	}
	if base == "" {
		base = "m2m"
	}
	return base
}

func newCustomDomain(a *AuthServer, d CustomDomain) (awscognito.UserPoolDomain, *string) {
	domain := a.UserPool.AddDomain(jsii.String("Domain"), &awscognito.UserPoolDomainOptions{
		CustomDomain: &awscognito.CustomDomainOptions{
			DomainName:  jsii.String(d.DomainName),
			Certificate: d.Certificate,
		},
	})
	awsroute53.NewARecord(a.Construct, jsii.String("DomainAlias"), &awsroute53.ARecordProps{
		Zone:       d.HostedZone,
		RecordName: jsii.String(d.DomainName),
		Target:     awsroute53.RecordTarget_FromAlias(&cloudFrontAlias{domain}),
	})
	return domain, jsii.String("https://" + d.DomainName)
}

// cloudFrontAlias points an alias record at the CloudFront distribution behind
// a Cognito custom domain. awsroute53targets.UserPoolDomainTarget does the same
// through a deprecated attribute and prints a warning on every synthesis.
type cloudFrontAlias struct {
	domain awscognito.UserPoolDomain
}

func (c *cloudFrontAlias) Bind(record awsroute53.IRecordSet, _ awsroute53.IHostedZone) *awsroute53.AliasRecordTargetConfig {
	return &awsroute53.AliasRecordTargetConfig{
		DnsName:      c.domain.CloudFrontEndpoint(),
		HostedZoneId: awsroute53targets.CloudFrontTarget_GetHostedZoneId(record),
	}
}
