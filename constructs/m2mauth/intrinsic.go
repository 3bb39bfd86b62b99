package m2mauth

import (
	"regexp"
	"strconv"
)

// Each client's resources refer to each other (its secret holds the app
// client's id and generated secret, its rotation schedule names the secret,
// the clients output lists ids and ARNs). Asking the CDK for those
// references (Ref(), AttrClientSecret(), SecretArn()) costs a round trip to
// the jsii kernel each; instead the logical ids are computed in Go
// (internal/logicalid) and the references written as CloudFormation
// intrinsic functions here, as plain Go values that reach the CDK inside
// the one call that needs them. The CDK resolves what they hold (tokens of
// the parent stack such as the pool id or the domain) as it resolves any
// value, so the templates are those the CDK's own tokens gave.

// cfnRef is CloudFormation's {"Ref": logicalID}: for the resources here,
// the app client's id, the secret's ARN and the API key's id
// (CloudFormation User Guide, "Ref" return values of
// AWS::Cognito::UserPoolClient, AWS::SecretsManager::Secret and
// AWS::ApiGateway::ApiKey).
func cfnRef(logicalID string) map[string]any {
	return map[string]any{"Ref": logicalID}
}

// cfnGetAtt is CloudFormation's {"Fn::GetAtt": [logicalID, attribute]}.
func cfnGetAtt(logicalID, attribute string) map[string]any {
	return map[string]any{"Fn::GetAtt": []any{logicalID, attribute}}
}

// cfnJoin is CloudFormation's {"Fn::Join": [delimiter, parts]}, with the
// CDK's shortcut for a single part (FnJoin.resolve returns it alone).
func cfnJoin(delimiter string, parts []any) any {
	if len(parts) == 1 {
		return parts[0]
	}
	return map[string]any{"Fn::Join": []any{delimiter, parts}}
}

// intrinsicText builds a string in Go (JSON, a name) that holds references
// to resources: mark returns a placeholder for a reference, to put in the
// text, and join turns the text into the Fn::Join the CDK would have made
// of a string with tokens in it.
type intrinsicText struct {
	refs []any
}

// The placeholder of reference n is "\uE000<n>\uE001": characters of
// Unicode's private use area, which JSON writes as they are and no name or
// URL here holds.
const (
	placeholderStart = "\uE000"
	placeholderEnd   = "\uE001"
)

// textPart finds placeholders and CDK string tokens: a token is encoded in
// a string as "${Token[<name>]}" (aws-cdk-lib core/lib/private/encoding.ts,
// BEGIN_STRING_TOKEN_MARKER and END_TOKEN_MARKER).
var textPart = regexp.MustCompile(placeholderStart + `([0-9]+)` + placeholderEnd + `|\$\{Token\[[^\]]+\]\}`)

func (t *intrinsicText) mark(ref any) string {
	t.refs = append(t.refs, ref)
	return placeholderStart + strconv.Itoa(len(t.refs)-1) + placeholderEnd
}

// join splits text into literal strings, references and whole CDK tokens,
// as the CDK splits a string with tokens (TokenString.split: no empty
// literal), and joins them with "" (a single part stands alone). A CDK
// token left whole resolves to its own value; one that resolves to an
// Fn::Join of its own would be nested where the CDK would have spliced its
// parts in (minimalCloudFormationJoin), a different but equivalent
// template; the tokens here (the pool's id, its domain, the region)
// resolve to a Ref each.
func (t *intrinsicText) join(text string) any {
	var parts []any
	rest := 0
	for _, m := range textPart.FindAllStringSubmatchIndex(text, -1) {
		if m[0] > rest {
			parts = append(parts, text[rest:m[0]])
		}
		if m[2] >= 0 {
			n, _ := strconv.Atoi(text[m[2]:m[3]])
			parts = append(parts, t.refs[n])
		} else {
			parts = append(parts, text[m[0]:m[1]])
		}
		rest = m[1]
	}
	if rest < len(text) {
		parts = append(parts, text[rest:])
	}
	if len(parts) == 0 {
		return ""
	}
	return cfnJoin("", parts)
}
