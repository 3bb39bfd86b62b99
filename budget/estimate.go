package budget

import (
	"encoding/json"
	"strconv"
	"strings"
)

// What an intrinsic function resolves to is only known at deploy time, yet
// the limits count resolved characters. These are the lengths assumed. A check
// must not pass a template that a deploy then refuses, so each is the longest
// value AWS documents or, where there is no such maximum, a generous guess:
// an estimate errs high rather than low.
const (
	// Longest region names: "ap-southeast-4", "ap-northeast-1", "us-isob-east-1".
	regionLen = 14
	// An account id is always 12 digits.
	accountIDLen = 12
	// "aws-us-gov"; the other partitions ("aws", "aws-cn", "aws-iso-b", ...)
	// are shorter.
	partitionLen = 10
	// "amazonaws.com.cn" in the China regions; "amazonaws.com" elsewhere is 13.
	urlSuffixLen = 16
	// CloudFormation's maximum stack name.
	stackNameLen = 128
	// A stack id is an ARN:
	// arn:<partition 10>:cloudformation:<region 14>:<account 12>:stack/<name 128>/<uuid 36>.
	stackIDLen = 4 + partitionLen + 1 + 14 + 1 + regionLen + 1 + accountIDLen + 1 + 6 + stackNameLen + 1 + 36
	// Ref of most resources is a name or an id, and the names AWS generates or
	// allows for functions, roles, policies and buckets are at most 64.
	refLen = 64
	// An ARN. A function's, the longest the checks themselves need, is
	// arn:<partition 10>:lambda:<region 14>:<account 12>:function:<name 64>,
	// 123 characters.
	arnLen = 128
	// Other attributes: ids and names.
	getAttLen = 64
	// One element of a list: an availability zone, a subnet id, a piece of a
	// split ARN.
	selectLen = 64
	// An export of another stack, often an ARN.
	importLen = 128
	// One ${...} of Fn::Sub, unless what it names is known to be longer.
	subVarLen = 64
	// Anything else (Fn::Base64, Fn::FindInMap, Fn::GetAZs, Fn::Split, ...).
	otherLen = 128
)

// refARN lists resource types whose Ref is not a short name or id but an ARN
// (or, for a queue, a URL of about the same length), so estimating them at
// refLen would err low. CDK grants name topics, secrets and state machines
// by their Ref in policy documents.
var refARN = map[string]bool{
	"AWS::SNS::Topic":                           true,
	"AWS::SQS::Queue":                           true,
	"AWS::SecretsManager::Secret":               true,
	"AWS::IAM::ManagedPolicy":                   true,
	"AWS::StepFunctions::StateMachine":          true,
	"AWS::Lambda::Version":                      true,
	"AWS::Lambda::Alias":                        true,
	"AWS::Lambda::LayerVersion":                 true,
	"AWS::ECS::Service":                         true,
	"AWS::ECS::TaskDefinition":                  true,
	"AWS::CertificateManager::Certificate":      true,
	"AWS::ElasticLoadBalancingV2::LoadBalancer": true,
	"AWS::ElasticLoadBalancingV2::TargetGroup":  true,
	"AWS::ElasticLoadBalancingV2::Listener":     true,
}

// estimator measures template values with intrinsic functions in them. It
// knows the template's resource types, since what a Ref resolves to depends
// on the type of the resource it names.
type estimator struct {
	types map[string]string // logical id -> resource type
}

// intrinsic reports whether v is an intrinsic function call: an object with
// the single key "Ref" or "Fn::...".
func intrinsic(v any) (fn string, arg any, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", nil, false
	}
	for k, a := range m {
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, a, true
		}
	}
	return "", nil, false
}

// strLen estimates the length of the string v resolves to.
func (e estimator) strLen(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case json.Number:
		return len(v)
	case bool:
		return len(strconv.FormatBool(v))
	case nil:
		return 0
	}
	if fn, arg, ok := intrinsic(v); ok {
		return e.intrinsicLen(fn, arg)
	}
	// An object or a list where a string belongs: count its JSON.
	return e.jsonLen(v)
}

// jsonLen estimates the length of v as JSON without whitespace once its
// intrinsic functions are resolved. Bytes stand in for characters; they are
// the same but for non-ASCII text, where bytes are more.
func (e estimator) jsonLen(v any) int {
	switch v := v.(type) {
	case string:
		return quotedLen(v)
	case json.Number:
		return len(v)
	case bool:
		return len(strconv.FormatBool(v))
	case nil:
		return len("null")
	case []any:
		n := len("[]") + max(len(v)-1, 0) // brackets and commas
		for _, x := range v {
			n += e.jsonLen(x)
		}
		return n
	case map[string]any:
		if fn, arg, ok := intrinsic(v); ok {
			if fn == "Fn::If" {
				// Either branch may be an object (a whole statement, say),
				// so take the longer one's JSON, not a string's length.
				if a, b, ok := ifBranches(arg); ok {
					return max(e.jsonLen(a), e.jsonLen(b))
				}
			}
			if fn == "Ref" && arg == "AWS::NoValue" {
				return 0 // removes the value
			}
			return e.intrinsicLen(fn, arg) + len(`""`) // a string, quoted
		}
		n := len("{}") + max(len(v)-1, 0) // braces and commas
		for k, x := range v {
			n += quotedLen(k) + len(":") + e.jsonLen(x)
		}
		return n
	}
	// Not produced by decoding with UseNumber; measure it the slow way.
	b, _ := json.Marshal(v)
	return len(b)
}

// intrinsicLen estimates the length of the string that the intrinsic
// function fn with argument arg resolves to.
func (e estimator) intrinsicLen(fn string, arg any) int {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		return e.refLen(name)
	case "Fn::GetAtt":
		return getAttLenOf(getAttAttribute(arg))
	case "Fn::Join":
		return e.joinLen(arg)
	case "Fn::Select":
		return selectLen
	case "Fn::ImportValue":
		return importLen
	case "Fn::Sub":
		return e.subLen(arg)
	case "Fn::If":
		if a, b, ok := ifBranches(arg); ok {
			return max(e.strLen(a), e.strLen(b))
		}
	}
	return otherLen
}

// refLen estimates what {"Ref": name} resolves to.
func (e estimator) refLen(name string) int {
	switch name {
	case "AWS::Region":
		return regionLen
	case "AWS::AccountId":
		return accountIDLen
	case "AWS::Partition":
		return partitionLen
	case "AWS::URLSuffix":
		return urlSuffixLen
	case "AWS::StackName":
		return stackNameLen
	case "AWS::StackId":
		return stackIDLen
	case "AWS::NoValue":
		return 0
	case "AWS::NotificationARNs":
		return otherLen
	}
	if refARN[e.types[name]] {
		return arnLen
	}
	return refLen
}

// getAttAttribute returns the attribute of Fn::GetAtt's argument, which is
// [logicalId, attribute] or "logicalId.attribute". It returns "Arn" for an
// attribute that is not a plain string (it may be a Ref), to err high.
func getAttAttribute(arg any) string {
	switch a := arg.(type) {
	case []any:
		if len(a) == 2 {
			if attr, ok := a[1].(string); ok {
				return attr
			}
		}
	case string:
		if _, attr, ok := strings.Cut(a, "."); ok {
			return attr
		}
	}
	return "Arn"
}

// getAttLenOf estimates an attribute by its name: ARNs, and the URLs, endpoints
// and domain names that embed a region and a domain, are long; ids are not.
func getAttLenOf(attr string) int {
	lower := strings.ToLower(attr)
	if strings.Contains(attr, "Arn") || strings.Contains(lower, "url") ||
		strings.Contains(lower, "endpoint") || strings.Contains(lower, "domainname") {
		return arnLen
	}
	return getAttLen
}

// joinLen estimates Fn::Join [separator, [parts...]]: the parts, each
// estimated, and the separators between them.
func (e estimator) joinLen(arg any) int {
	a, ok := arg.([]any)
	if !ok || len(a) != 2 {
		return otherLen
	}
	sep, _ := a[0].(string)
	parts, ok := a[1].([]any)
	if !ok {
		return otherLen // a list from Fn::Split, Fn::GetAZs, ...: unknown length
	}
	n := len(sep) * max(len(parts)-1, 0)
	for _, p := range parts {
		n += e.strLen(p)
	}
	return n
}

// subLen estimates Fn::Sub, "string" or ["string", {variables}]: the string
// with each ${...} replaced by subVarLen, or by the estimate of what it names
// where that is longer (${AWS::StackName}, ${Role.Arn}, a long variable).
func (e estimator) subLen(arg any) int {
	var s string
	var vars map[string]any
	switch a := arg.(type) {
	case string:
		s = a
	case []any:
		if len(a) == 0 {
			return otherLen
		}
		var ok bool
		if s, ok = a[0].(string); !ok {
			return otherLen
		}
		if len(a) > 1 {
			vars, _ = a[1].(map[string]any)
		}
	default:
		return otherLen
	}
	n := 0
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break // no closing brace: the rest is literal
		}
		name := s[i+2 : i+j]
		n += i
		if strings.HasPrefix(name, "!") {
			n += len(name) + 2 // "${!Literal}" stands for "${Literal}"
		} else {
			n += max(subVarLen, e.subVar(name, vars))
		}
		s = s[i+j+1:]
	}
	return n + len(s)
}

// subVar estimates ${name} of Fn::Sub: a variable of its map, a
// resource's attribute (Name.Attribute) or a Ref.
func (e estimator) subVar(name string, vars map[string]any) int {
	if v, ok := vars[name]; ok {
		return e.strLen(v)
	}
	if _, attr, ok := strings.Cut(name, "."); ok {
		return getAttLenOf(attr)
	}
	return e.refLen(name)
}

// ifBranches returns the two values of Fn::If [condition, ifTrue, ifFalse].
func ifBranches(arg any) (ifTrue, ifFalse any, ok bool) {
	a, ok := arg.([]any)
	if !ok || len(a) != 3 {
		return nil, nil, false
	}
	return a[1], a[2], true
}

// quotedLen is the length of s as a JSON string: quotes and escapes. HTML
// characters are not escaped, as policies are stored as written.
func quotedLen(s string) int {
	n := len(`""`)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
			n += 2
		case c < 0x20:
			n += len(`\u0000`)
		default:
			n++
		}
	}
	return n
}
