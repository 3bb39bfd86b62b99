package budget

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// obj keeps the template literals below short.
type obj = map[string]any

func ref(id string) obj { return obj{"Ref": id} }

func getAtt(id, attr string) obj { return obj{"Fn::GetAtt": []any{id, attr}} }

func res(typ string, props obj) obj { return obj{"Type": typ, "Properties": props} }

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// template marshals a template with these resources and outputs.
func template(t *testing.T, resources, outputs obj) []byte {
	t.Helper()
	tmpl := obj{"Resources": resources}
	if outputs != nil {
		tmpl["Outputs"] = outputs
	}
	return marshal(t, tmpl)
}

// policyDoc is an IAM policy document with only literals, whose compact JSON
// is pad characters longer than policyDoc("")'s.
func policyDoc(pad string) obj {
	return obj{
		"Version": "2012-10-17",
		"Statement": []any{obj{
			"Effect":   "Allow",
			"Action":   []any{"dynamodb:GetItem", "dynamodb:PutItem"},
			"Resource": "arn:aws:dynamodb:eu-west-1:123456789012:table/t" + pad,
		}},
	}
}

// statementLen is the length of the statement Lambda adds to a function's
// policy for a permission from principal with sourceArn ("" for none), with
// the placeholders the package assumes for the Sid and the function's ARN.
func statementLen(t *testing.T, principal, action, sourceArn string) int {
	type arnLike struct {
		SourceArn string `json:"AWS:SourceArn"`
	}
	type condition struct {
		ArnLike arnLike
	}
	s := struct {
		Sid       string
		Effect    string
		Principal struct{ Service string }
		Action    string
		Resource  string
		Condition *condition `json:",omitempty"`
	}{Sid: strings.Repeat("s", 64), Effect: "Allow", Action: action, Resource: strings.Repeat("r", 128)}
	s.Principal.Service = principal
	if sourceArn != "" {
		s.Condition = &condition{arnLike{sourceArn}}
	}
	return len(marshal(t, s))
}

const (
	apigw  = "apigateway.amazonaws.com"
	invoke = "lambda:InvokeFunction"
)

func permission(fn any, sourceArn string) obj {
	p := obj{"Action": invoke, "FunctionName": fn, "Principal": apigw}
	if sourceArn != "" {
		p["SourceArn"] = sourceArn
	}
	return res("AWS::Lambda::Permission", p)
}

// only returns the limits with just the one set by set, so that a test sees
// the findings of one check.
func only(set func(*Limits)) Limits {
	var l Limits
	set(&l)
	return l
}

func TestSmallTemplateFits(t *testing.T) {
	data := template(t, obj{
		"Table": res("AWS::DynamoDB::Table", obj{"BillingMode": "PAY_PER_REQUEST"}),
		"Role": res("AWS::IAM::Role", obj{
			"Policies": []any{obj{"PolicyName": "own", "PolicyDocument": policyDoc("")}},
		}),
		"RoleDefaultPolicy": res("AWS::IAM::Policy", obj{
			"PolicyDocument": obj{"Version": "2012-10-17", "Statement": []any{obj{
				"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": getAtt("Table", "Arn"),
			}}},
			"Roles": []any{ref("Role")},
		}),
		"Fn": res("AWS::Lambda::Function", obj{
			"Role":        getAtt("Role", "Arn"),
			"MemorySize":  256,
			"Environment": obj{"Variables": obj{"TABLE_NAME": ref("Table"), "MODE": "strict"}},
		}),
		"FnPermission": permission(getAtt("Fn", "Arn"), "arn:aws:execute-api:eu-west-1:123456789012:abc/api/GET/"),
	}, obj{
		"ApiUrl":  obj{"Value": "https://example.com/"},
		"FnArn":   obj{"Value": getAtt("Fn", "Arn")},
		"TableId": obj{"Value": ref("Table")},
	})

	findings, err := CheckTemplate("Small.template.json", data, DefaultLimits(), nil)
	require.NoError(t, err)
	assert.Empty(t, findings)

	u, err := Count(data)
	require.NoError(t, err)
	assert.Equal(t, Usage{
		Resources: 5,
		Outputs:   3,
		Bytes:     len(data),
		ResourcesByType: map[string]int{
			"AWS::DynamoDB::Table":    1,
			"AWS::IAM::Role":          1,
			"AWS::IAM::Policy":        1,
			"AWS::Lambda::Function":   1,
			"AWS::Lambda::Permission": 1,
		},
	}, u)
}

func TestCountEmptyAndInvalid(t *testing.T) {
	u, err := Count([]byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, Usage{Bytes: 2, ResourcesByType: map[string]int{}}, u)

	for _, bad := range []string{``, `{`, `[]`, `{"Resources": []}`, `{"Resources": {"A": 1}}`} {
		_, err := Count([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// TestLimits builds, for each limit, a template that uses exactly n of it, and
// checks that n = max passes and n = max+1 is one finding.
func TestLimits(t *testing.T) {
	const routes = "routes (ScopedAPIProps.Routes)"
	def := DefaultLimits()
	tests := []struct {
		name     string
		limit    string
		max      int
		build    func(t *testing.T, n int) []byte
		advice   Advice
		resource string // of the finding
		share    string // in the finding for n = max+1
		adviceIs string
	}{
		{
			name:  "resources",
			limit: LimitResources,
			max:   def.ResourcesPerTemplate,
			build: func(t *testing.T, n int) []byte {
				r := obj{"Api": res("AWS::ApiGateway::RestApi", obj{"Name": "api"})}
				for i := range n - 1 {
					r["Method"+strconv.Itoa(i)] = res("AWS::ApiGateway::Method", obj{"HttpMethod": "GET", "RestApiId": ref("Api")})
				}
				return template(t, r, nil)
			},
			advice:   Advice{"AWS::ApiGateway::Method": routes},
			share:    "500 AWS::ApiGateway::Method",
			adviceIs: routes,
		},
		{
			name:  "outputs",
			limit: LimitOutputs,
			max:   def.OutputsPerTemplate,
			build: func(t *testing.T, n int) []byte {
				out := obj{}
				for i := range n {
					out["Client"+strconv.Itoa(i)+"Id"] = obj{"Value": ref("Pool")}
				}
				return template(t, obj{"Pool": res("AWS::Cognito::UserPool", nil)}, out)
			},
			advice:   Advice{AdviceOutputs: "clients (AuthServerProps.Clients)"},
			adviceIs: "clients (AuthServerProps.Clients)",
		},
		{
			name:  "template bytes",
			limit: LimitTemplateBytes,
			max:   def.TemplateBytes,
			build: func(t *testing.T, n int) []byte {
				build := func(pad int) []byte {
					return template(t, obj{
						"Api":    res("AWS::ApiGateway::RestApi", obj{"Name": "api"}),
						"Method": res("AWS::ApiGateway::Method", obj{"OperationName": strings.Repeat("x", pad)}),
					}, nil)
				}
				data := build(n - len(build(0)))
				require.Len(t, data, n)
				return data
			},
			advice:   Advice{"AWS::ApiGateway::Method": routes},
			share:    "bytes of AWS::ApiGateway::Method",
			adviceIs: routes,
		},
		{
			name:  "role inline policy",
			limit: LimitRoleInlinePolicy,
			max:   def.RoleInlinePolicyChars,
			build: func(t *testing.T, n int) []byte {
				pad := strings.Repeat("x", n-len(marshal(t, policyDoc(""))))
				return template(t, obj{
					"Role":          res("AWS::IAM::Role", obj{"AssumeRolePolicyDocument": policyDoc(strings.Repeat("y", 20_000))}),
					"DefaultPolicy": res("AWS::IAM::Policy", obj{"PolicyDocument": policyDoc(pad), "Roles": []any{ref("Role")}}),
				}, nil)
			},
			advice:   Advice{"AWS::IAM::Policy": "grants to the handler"},
			resource: "Role",
			share:    "10241 characters in AWS::IAM::Policy",
			adviceIs: "grants to the handler",
		},
		{
			name:  "lambda resource policy",
			limit: LimitLambdaResourcePolicy,
			max:   def.LambdaResourcePolicyBytes,
			build: func(t *testing.T, n int) []byte {
				const k = 40
				// The envelope, the commas between statements, the statements.
				rest := n - 100 - (k - 1) - k*statementLen(t, apigw, invoke, "")
				r := obj{"Fn": res("AWS::Lambda::Function", obj{"Handler": "bootstrap"})}
				for i := range k {
					// A SourceArn of l characters adds the Condition's
					// fixed part and l.
					l := rest/k - (statementLen(t, apigw, invoke, "x") - statementLen(t, apigw, invoke, "") - 1)
					if i == k-1 {
						l += rest % k
					}
					r["Permission"+strconv.Itoa(i)] = permission(getAtt("Fn", "Arn"), strings.Repeat("a", l))
				}
				return template(t, r, nil)
			},
			advice:   Advice{"AWS::Lambda::Permission": routes},
			resource: "Fn",
			share:    "40 AWS::Lambda::Permission",
			adviceIs: routes,
		},
		{
			name:  "lambda environment",
			limit: LimitLambdaEnvironment,
			max:   def.LambdaEnvironmentBytes,
			build: func(t *testing.T, n int) []byte {
				// AWS_REGION's value is estimated at 14, the longest region.
				pad := strings.Repeat("r", n-len("REGION")-14-len("ROUTES"))
				return template(t, obj{"Fn": res("AWS::Lambda::Function", obj{
					"Environment": obj{"Variables": obj{"REGION": ref("AWS::Region"), "ROUTES": pad}},
				})}, nil)
			},
			advice:   Advice{AdviceEnvironment: "environment (GoFunctionProps.Environment)"},
			resource: "Fn",
			share:    "ROUTES, " + strconv.Itoa(def.LambdaEnvironmentBytes+1-len("REGION")-14) + " bytes",
			adviceIs: "environment (GoFunctionProps.Environment)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings, err := CheckTemplate("T.template.json", tt.build(t, tt.max), DefaultLimits(), tt.advice)
			require.NoError(t, err)
			assert.Empty(t, findings, "at the limit")

			findings, err = CheckTemplate("T.template.json", tt.build(t, tt.max+1), DefaultLimits(), tt.advice)
			require.NoError(t, err)
			require.Len(t, findings, 1)
			f := findings[0]
			assert.Equal(t, "T.template.json", f.Template)
			assert.Equal(t, tt.resource, f.Resource)
			assert.Equal(t, tt.limit, f.Limit)
			assert.Equal(t, tt.max+1, f.Count)
			assert.Equal(t, tt.max, f.Max)
			assert.Contains(t, f.Share, tt.share)
			assert.Equal(t, tt.adviceIs, f.Advice)
			msg := f.Error()
			assert.NotContains(t, msg, "\n")
			for _, want := range []string{
				"T.template.json", tt.resource, tt.limit, strconv.Itoa(tt.max + 1),
				"limit " + strconv.Itoa(tt.max), "to change: " + tt.adviceIs,
			} {
				assert.Contains(t, msg, want)
			}
		})
	}
}

func TestFindingError(t *testing.T) {
	tests := []struct {
		name string
		f    Finding
		want string
	}{
		{
			name: "template-wide",
			f: Finding{
				Template: "WeatherEvents.template.json", Limit: LimitResources, Count: 512, Max: 500,
				Share: "300 AWS::ApiGateway::Method", Advice: "routes (ScopedAPIProps.Routes)",
			},
			want: "WeatherEvents.template.json: CloudFormation resources per template: 512, limit 500 (largest share: 300 AWS::ApiGateway::Method; to change: routes (ScopedAPIProps.Routes))",
		},
		{
			name: "resource without share or advice",
			f:    Finding{Template: "A.template.json", Resource: "Fn", Limit: LimitLambdaEnvironment, Count: 5000, Max: 4096},
			want: "A.template.json: Fn: Lambda environment variable bytes: 5000, limit 4096",
		},
		{
			name: "advice only",
			f:    Finding{Template: "A.template.json", Limit: LimitOutputs, Count: 201, Max: 200, Advice: "clients"},
			want: "A.template.json: CloudFormation outputs per template: 201, limit 200 (to change: clients)",
		},
		{
			name: "all templates",
			f: Finding{
				Limit: LimitAPIKeys, Count: 10012, Max: 10000,
				Share: "640 in WeatherEvents.template.json", Advice: "clients (AuthServerProps.Clients)",
			},
			want: "all templates: API Gateway API keys per region: 10012, limit 10000 (largest share: 640 in WeatherEvents.template.json; to change: clients (AuthServerProps.Clients))",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.f.Error())
		})
	}
}

func TestResourceShareCitesAdvisedType(t *testing.T) {
	r := obj{}
	for i := range 5 {
		r["Perm"+strconv.Itoa(i)] = res("AWS::Lambda::Permission", nil)
	}
	for i := range 3 {
		r["Method"+strconv.Itoa(i)] = res("AWS::ApiGateway::Method", nil)
	}
	data := template(t, r, nil)
	limits := only(func(l *Limits) { l.ResourcesPerTemplate = 1 })

	tests := []struct {
		name                string
		advice              Advice
		wantShare, wantText string
	}{
		{"no advice: the largest", nil, "5 AWS::Lambda::Permission", ""},
		{"the largest with advice", Advice{"AWS::ApiGateway::Method": "routes"}, "3 AWS::ApiGateway::Method", "routes"},
		{"the largest of those with advice", Advice{"AWS::ApiGateway::Method": "routes", "AWS::Lambda::Permission": "routes too"}, "5 AWS::Lambda::Permission", "routes too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			findings, err := CheckTemplate("T.template.json", data, limits, tt.advice)
			require.NoError(t, err)
			require.Len(t, findings, 1)
			assert.Equal(t, tt.wantShare, findings[0].Share)
			assert.Equal(t, tt.wantText, findings[0].Advice)
		})
	}
}

// TestRoleInlinePolicies uses a limit of 1, so that every role with a policy
// is a finding and its Count shows what was added up.
func TestRoleInlinePolicies(t *testing.T) {
	docA := policyDoc("-a")
	docB := policyDoc("-bb")
	docOwn := policyDoc("-own")
	l := func(doc obj) int { return len(marshal(t, doc)) }
	role := func(policies ...any) obj {
		if len(policies) == 0 {
			return res("AWS::IAM::Role", obj{"AssumeRolePolicyDocument": policyDoc("")})
		}
		return res("AWS::IAM::Role", obj{"Policies": policies})
	}
	own := obj{"PolicyName": "own", "PolicyDocument": docOwn}
	policy := func(doc obj, roles ...any) obj {
		return res("AWS::IAM::Policy", obj{"PolicyName": "p", "PolicyDocument": doc, "Roles": roles})
	}

	tests := []struct {
		name      string
		resources obj
		want      map[string]int // role -> characters
	}{
		{
			name:      "own inline policies",
			resources: obj{"RoleA": role(own, own)},
			want:      map[string]int{"RoleA": 2 * l(docOwn)},
		},
		{
			name:      "attached policy",
			resources: obj{"RoleA": role(), "PolicyA": policy(docA, ref("RoleA"))},
			want:      map[string]int{"RoleA": l(docA)},
		},
		{
			name:      "both",
			resources: obj{"RoleA": role(own), "PolicyA": policy(docA, ref("RoleA"))},
			want:      map[string]int{"RoleA": l(docOwn) + l(docA)},
		},
		{
			name: "not a policy of another role",
			resources: obj{
				"RoleA": role(own), "PolicyA": policy(docA, ref("RoleA")),
				"RoleB": role(), "PolicyB": policy(docB, ref("RoleB")),
			},
			want: map[string]int{"RoleA": l(docOwn) + l(docA), "RoleB": l(docB)},
		},
		{
			name: "one policy on two roles counts for each",
			resources: obj{
				"RoleA": role(), "RoleB": role(),
				"Shared": policy(docA, ref("RoleA"), ref("RoleB"), ref("RoleA")),
			},
			want: map[string]int{"RoleA": l(docA), "RoleB": l(docA)},
		},
		{
			name: "role named by name, or not in this template",
			resources: obj{
				"RoleA":  role(),
				"ByName": policy(docA, "role-a"),
				"Import": policy(docA, ref("RoleParameter")),
			},
			want: map[string]int{},
		},
		{
			name: "AWS::IAM::RolePolicy",
			resources: obj{
				"RoleA": role(),
				"Inline": res("AWS::IAM::RolePolicy", obj{
					"PolicyName": "p", "PolicyDocument": docB, "RoleName": ref("RoleA"),
				}),
			},
			want: map[string]int{"RoleA": l(docB)},
		},
		{
			name: "intrinsics are estimated",
			resources: obj{
				"RoleA": role(),
				"PolicyA": policy(obj{"Statement": []any{obj{
					"Resource": obj{"Fn::Join": []any{"", []any{"arn:", ref("AWS::Partition"), ":s3:::b/*"}}},
				}}}, ref("RoleA")),
			},
			// {"Statement":[{"Resource":"arn:<10>:s3:::b/*"}]}
			want: map[string]int{"RoleA": len(`{"Statement":[{"Resource":"arn::s3:::b/*"}]}`) + 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limits := only(func(l *Limits) { l.RoleInlinePolicyChars = 1 })
			findings, err := CheckTemplate("T.template.json", template(t, tt.resources, nil), limits, nil)
			require.NoError(t, err)
			got := map[string]int{}
			for _, f := range findings {
				assert.Equal(t, LimitRoleInlinePolicy, f.Limit)
				got[f.Resource] = f.Count
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRoleShareCitesLargestSource(t *testing.T) {
	data := template(t, obj{
		"Role": res("AWS::IAM::Role", obj{"Policies": []any{obj{"PolicyDocument": policyDoc(strings.Repeat("x", 500))}}}),
		"Pol":  res("AWS::IAM::Policy", obj{"PolicyDocument": policyDoc(""), "Roles": []any{ref("Role")}}),
	}, nil)
	limits := only(func(l *Limits) { l.RoleInlinePolicyChars = 1 })
	advice := Advice{"AWS::IAM::Role": "inline policies of the role", "AWS::IAM::Policy": "grants"}

	findings, err := CheckTemplate("T.template.json", data, limits, advice)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Contains(t, findings[0].Share, "characters in AWS::IAM::Role")
	assert.Equal(t, "inline policies of the role", findings[0].Advice)

	// Without advice for the role's own policies, the policy's is cited.
	delete(advice, "AWS::IAM::Role")
	findings, err = CheckTemplate("T.template.json", data, limits, advice)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Contains(t, findings[0].Share, "characters in AWS::IAM::Policy")
	assert.Equal(t, "grants", findings[0].Advice)
}

// TestLambdaPermissions uses a limit of 1, so that every function with a
// permission is a finding and its Count shows what was added up.
func TestLambdaPermissions(t *testing.T) {
	const src = "arn:aws:execute-api:eu-west-1:123456789012:abc/api/GET/"
	data := template(t, obj{
		"FnA":       res("AWS::Lambda::Function", nil),
		"FnB":       res("AWS::Lambda::Function", nil),
		"FnC":       res("AWS::Lambda::Function", nil),
		"AliasA":    res("AWS::Lambda::Alias", obj{"FunctionName": ref("FnA")}),
		"ByRef":     permission(ref("FnA"), src),
		"ByArn":     permission(getAtt("FnA", "Arn"), ""),
		"ByDot":     permission(obj{"Fn::GetAtt": "FnA.Arn"}, ""),
		"OfB":       permission(ref("FnB"), src),
		"Alias":     permission(ref("AliasA"), src),
		"Name":      permission("some-function", src),
		"OtherAttr": permission(getAtt("FnC", "Name"), src), // not how a function is named
		"Account": res("AWS::Lambda::Permission", obj{
			"Action": invoke, "FunctionName": ref("FnC"), "Principal": "s3.amazonaws.com",
			"SourceArn": "arn:aws:s3:::b", "SourceAccount": ref("AWS::AccountId"),
		}),
	}, nil)
	limits := only(func(l *Limits) { l.LambdaResourcePolicyBytes = 1 })

	findings, err := CheckTemplate("T.template.json", data, limits, Advice{"AWS::Lambda::Permission": "routes"})
	require.NoError(t, err)
	got := map[string]Finding{}
	for _, f := range findings {
		got[f.Resource] = f
	}
	withSrc, without := statementLen(t, apigw, invoke, src), statementLen(t, apigw, invoke, "")
	account := statementLen(t, "s3.amazonaws.com", invoke, "arn:aws:s3:::b") +
		len(`,"StringEquals":{"AWS:SourceAccount":""}`) + 12
	// The envelope, then statements separated by commas.
	assert.Equal(t, 100+withSrc+1+without+1+without, got["FnA"].Count)
	assert.Equal(t, "3 AWS::Lambda::Permission", got["FnA"].Share)
	assert.Equal(t, "routes", got["FnA"].Advice)
	assert.Equal(t, 100+withSrc, got["FnB"].Count)
	assert.Equal(t, 100+account, got["FnC"].Count)
	assert.Len(t, findings, 3)
}

func TestLambdaEnvironment(t *testing.T) {
	limits := only(func(l *Limits) { l.LambdaEnvironmentBytes = 1 })
	tests := []struct {
		name string
		vars any
		want int // 0: no finding
	}{
		{"literals", obj{"A": "xyz", "BB": "12"}, 1 + 3 + 2 + 2},
		{"intrinsics", obj{"TABLE": ref("Table"), "URL": getAtt("Pool", "ProviderURL")}, 5 + 64 + 3 + 128},
		{"numbers as written", obj{"N": json.Number("10.50")}, 1 + 5},
		{"none", obj{}, 0},
		{"whole map from an intrinsic", obj{"Fn::If": []any{"c", obj{"A": "b"}, ref("AWS::NoValue")}}, len(`{"A":"b"}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := template(t, obj{
				"Fn":    res("AWS::Lambda::Function", obj{"Environment": obj{"Variables": tt.vars}}),
				"NoEnv": res("AWS::Lambda::Function", obj{"Handler": "bootstrap"}),
			}, nil)
			findings, err := CheckTemplate("T.template.json", data, limits, nil)
			require.NoError(t, err)
			if tt.want == 0 {
				assert.Empty(t, findings)
				return
			}
			require.Len(t, findings, 1)
			assert.Equal(t, "Fn", findings[0].Resource)
			assert.Equal(t, tt.want, findings[0].Count)
		})
	}
}

func TestEstimates(t *testing.T) {
	e := estimator{types: map[string]string{
		"Fn":    "AWS::Lambda::Function",
		"Topic": "AWS::SNS::Topic",
	}}
	long := strings.Repeat("v", 100)
	tests := []struct {
		name  string
		value string // JSON
		want  int
	}{
		{"plain string", `"abc"`, 3},
		{"Ref AWS::Region", `{"Ref":"AWS::Region"}`, 14},
		{"Ref AWS::AccountId", `{"Ref":"AWS::AccountId"}`, 12},
		{"Ref AWS::Partition", `{"Ref":"AWS::Partition"}`, 10},
		{"Ref AWS::URLSuffix", `{"Ref":"AWS::URLSuffix"}`, 16},
		{"Ref AWS::StackName", `{"Ref":"AWS::StackName"}`, 128},
		{"Ref AWS::StackId", `{"Ref":"AWS::StackId"}`, 229},
		{"Ref AWS::NoValue", `{"Ref":"AWS::NoValue"}`, 0},
		{"Ref of a function", `{"Ref":"Fn"}`, 64},
		{"Ref of a parameter", `{"Ref":"Param"}`, 64},
		{"Ref of a topic is an ARN", `{"Ref":"Topic"}`, 128},
		{"GetAtt Arn", `{"Fn::GetAtt":["Fn","Arn"]}`, 128},
		{"GetAtt Arn, dotted", `{"Fn::GetAtt":"Fn.Arn"}`, 128},
		{"GetAtt StreamArn", `{"Fn::GetAtt":["Table","StreamArn"]}`, 128},
		{"GetAtt ProviderURL", `{"Fn::GetAtt":["Pool","ProviderURL"]}`, 128},
		{"GetAtt other", `{"Fn::GetAtt":["Pool","UserPoolId"]}`, 64},
		{"Join", `{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":s3:::b"]]}`, 4 + 10 + 7},
		{"Join separators", `{"Fn::Join":[":",["a","b","c"]]}`, 5},
		{"Join nested", `{"Fn::Join":["/",["a",{"Fn::Join":["-",["b","c"]]}]]}`, 5},
		{"Join of a list from an intrinsic", `{"Fn::Join":[",",{"Fn::GetAZs":""}]}`, 128},
		{"Select", `{"Fn::Select":[0,{"Fn::GetAZs":""}]}`, 64},
		{"ImportValue", `{"Fn::ImportValue":"x"}`, 128},
		{"Sub", `{"Fn::Sub":"arn:${AWS::Partition}:s3:::${Bucket}/*"}`, 4 + 64 + 6 + 64 + 2},
		{"Sub of a longer pseudo parameter", `{"Fn::Sub":"${AWS::StackName}-x"}`, 128 + 2},
		{"Sub of an ARN attribute", `{"Fn::Sub":"${Fn.Arn}"}`, 128},
		{"Sub with variables", `{"Fn::Sub":["${A}-${B}",{"A":"abc","B":"` + long + `"}]}`, 64 + 1 + 100},
		{"Sub literal", `{"Fn::Sub":"${!Literal}"}`, len("${Literal}")},
		{"Sub unterminated", `{"Fn::Sub":"a${b"}`, 4},
		{"If", `{"Fn::If":["c","abc",{"Ref":"AWS::StackName"}]}`, 128},
		{"other", `{"Fn::Base64":"abc"}`, 128},
		{"number", `10.50`, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, e.strLen(decode(t, tt.value)))
		})
	}
}

func TestJSONLen(t *testing.T) {
	e := estimator{}
	tests := []struct {
		name  string
		value string // JSON, with whitespace
		want  int
	}{
		{"intrinsic is a quoted string", `{"Resource": {"Ref": "AWS::Region"}}`, len(`{"Resource":""}`) + 14},
		{"escapes", `{"a": "x\"y\\z\n"}`, len(`{"a":"x\"y\\z\n"}`)},
		{"HTML is not escaped", `"<&>"`, 5},
		{"numbers as written", `{"n": 10.50, "b": true, "z": null}`, len(`{"n":10.50,"b":true,"z":null}`)},
		{"If of objects", `{"Fn::If": ["c", {"Effect": "Allow"}, {"Ref": "AWS::NoValue"}]}`, len(`{"Effect":"Allow"}`)},
		{"empty", `[{}, []]`, len(`[{},[]]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, e.jsonLen(decode(t, tt.value)))
		})
	}

	t.Run("literal documents measure as compact JSON", func(t *testing.T) {
		doc := `{
		  "Version": "2012-10-17",
		  "Statement": [
		    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/é*",
		     "Condition": {"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": false}}}
		  ]
		}`
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, []byte(doc)))
		assert.Equal(t, compact.Len(), e.jsonLen(decode(t, doc)))
	})
}

func decode(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	require.NoError(t, d.Decode(&v))
	return v
}

func TestCheckDir(t *testing.T) {
	limits := Limits{ResourcesPerTemplate: 2, OutputsPerTemplate: 2}
	write := func(t *testing.T, dir, name string, data []byte) {
		t.Helper()
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	three := obj{"A": res("AWS::SNS::Topic", nil), "B": res("AWS::SNS::Topic", nil), "C": res("AWS::SNS::Topic", nil)}
	outputs := obj{"O1": obj{"Value": "1"}, "O2": obj{"Value": "2"}, "O3": obj{"Value": "3"}}
	assembly := func(t *testing.T) string {
		dir := t.TempDir()
		write(t, dir, "Stack.template.json", template(t, three, nil))
		write(t, dir, "StackNestedAB12CD34.nested.template.json", template(t, obj{"A": res("AWS::SNS::Topic", nil)}, outputs))
		write(t, dir, "Fits.template.json", template(t, obj{"A": res("AWS::SNS::Topic", nil)}, nil))
		// Not templates: not read, so not parsed either.
		write(t, dir, "manifest.json", []byte(`{`))
		write(t, dir, "Stack.assets.json", []byte(`{`))
		require.NoError(t, os.Mkdir(filepath.Join(dir, "asset.abc"), 0o755))
		write(t, filepath.Join(dir, "asset.abc"), "Inner.template.json", []byte(`{`))
		return dir
	}

	t.Run("findings of every template", func(t *testing.T) {
		err := CheckDir(assembly(t), limits, Advice{"AWS::SNS::Topic": "topics", AdviceOutputs: "outputs prop"})
		require.Error(t, err)
		joined, ok := err.(interface{ Unwrap() []error })
		require.True(t, ok, "errors.Join")
		errs := joined.Unwrap()
		require.Len(t, errs, 2)
		want := []Finding{
			{Template: "Stack.template.json", Limit: LimitResources, Count: 3, Max: 2, Share: "3 AWS::SNS::Topic", Advice: "topics"},
			{Template: "StackNestedAB12CD34.nested.template.json", Limit: LimitOutputs, Count: 3, Max: 2, Advice: "outputs prop"},
		}
		for i, w := range want {
			assert.Equal(t, w, errs[i])
		}
		var f Finding
		assert.True(t, errors.As(err, &f))
		assert.Equal(t, 1, strings.Count(err.Error(), "\n"), "one line each")
	})

	t.Run("everything fits", func(t *testing.T) {
		assert.NoError(t, CheckDir(assembly(t), DefaultLimits(), nil))
	})

	t.Run("malformed template", func(t *testing.T) {
		dir := assembly(t)
		write(t, dir, "Broken.template.json", []byte(`{"Resources": {`))
		err := CheckDir(dir, limits, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "Broken.template.json")
		var f Finding
		assert.False(t, errors.As(err, &f), "not a finding")
	})

	t.Run("missing directory", func(t *testing.T) {
		assert.Error(t, CheckDir(filepath.Join(t.TempDir(), "cdk.out"), limits, nil))
	})
}

func TestCheckTemplateMalformed(t *testing.T) {
	_, err := CheckTemplate("Bad.template.json", []byte(`{"Resources": {"A": {"Type": 1}}}`), DefaultLimits(), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Bad.template.json")
}

func TestZeroLimitsAreNotChecked(t *testing.T) {
	r := obj{}
	for i := range 600 {
		r["T"+strconv.Itoa(i)] = res("AWS::SNS::Topic", nil)
	}
	findings, err := CheckTemplate("T.template.json", template(t, r, nil), Limits{}, nil)
	require.NoError(t, err)
	assert.Empty(t, findings)
}

// TestRegionQuotas checks that the quotas per account and region add up the
// templates of the assembly, nested ones included.
func TestRegionQuotas(t *testing.T) {
	tests := []struct {
		typ   string
		limit string
		set   func(l *Limits, n int)
		def   int // in DefaultLimits
	}{
		{"AWS::ApiGateway::ApiKey", LimitAPIKeys, func(l *Limits, n int) { l.APIKeysPerRegion = n }, 10_000},
		{"AWS::ApiGateway::UsagePlan", LimitUsagePlans, func(l *Limits, n int) { l.UsagePlansPerRegion = n }, 300},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			// n of the type, and resources of the other quota and of
			// neither, which do not count.
			build := func(n int) []byte {
				r := obj{
					"Api":      res("AWS::ApiGateway::RestApi", obj{"Name": "api"}),
					"PlanKey":  res("AWS::ApiGateway::UsagePlanKey", nil),
					"OtherKey": res("AWS::ApiGateway::ApiKey", nil),
					"Plan":     res("AWS::ApiGateway::UsagePlan", nil),
				}
				for i := range n {
					r["Counted"+strconv.Itoa(i)] = res(tt.typ, nil)
				}
				return template(t, r, nil)
			}
			// The quota's own resource in the fixed part counts too.
			const fixed = 1
			dir := t.TempDir()
			for name, n := range map[string]int{
				"Auth.template.json":                       2,
				"AuthClientsAB12CD34.nested.template.json": 5,
				"Weather.template.json":                    0,
			} {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), build(n), 0o644))
			}
			// Another assembly's templates are not added in.
			require.NoError(t, os.Mkdir(filepath.Join(dir, "assembly-Prod"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "assembly-Prod", "Auth.template.json"), build(50), 0o644))
			total := 2 + 5 + 3*fixed
			advice := Advice{tt.typ: "clients (AuthServerProps.Clients)", "AWS::ApiGateway::RestApi": "apis"}

			u, err := Count(build(5))
			require.NoError(t, err)
			assert.Equal(t, 5+fixed, u.ResourcesByType[tt.typ], "in Usage")

			t.Run("over", func(t *testing.T) {
				limits := only(func(l *Limits) { tt.set(l, total-1) })
				err := CheckDir(dir, limits, advice)
				require.Error(t, err)
				errs := err.(interface{ Unwrap() []error }).Unwrap()
				require.Len(t, errs, 1)
				assert.Equal(t, Finding{
					Limit: tt.limit, Count: total, Max: total - 1,
					Share:  strconv.Itoa(5+fixed) + " in AuthClientsAB12CD34.nested.template.json",
					Advice: "clients (AuthServerProps.Clients)",
				}, errs[0])
				assert.Equal(t, "all templates: "+tt.limit+": "+strconv.Itoa(total)+", limit "+strconv.Itoa(total-1)+
					" (largest share: "+strconv.Itoa(5+fixed)+" in AuthClientsAB12CD34.nested.template.json; to change: clients (AuthServerProps.Clients))",
					err.Error())
			})
			t.Run("at the limit", func(t *testing.T) {
				assert.NoError(t, CheckDir(dir, only(func(l *Limits) { tt.set(l, total) }), advice))
			})
			t.Run("zero is not checked", func(t *testing.T) {
				assert.NoError(t, CheckDir(dir, only(func(l *Limits) { tt.set(l, 0) }), advice))
			})
			t.Run("not by CheckTemplate", func(t *testing.T) {
				findings, err := CheckTemplate("T.template.json", build(100), only(func(l *Limits) { tt.set(l, 1) }), advice)
				require.NoError(t, err)
				assert.Empty(t, findings)
			})
			t.Run("default", func(t *testing.T) {
				def := DefaultLimits()
				assert.NoError(t, CheckDir(dir, def, advice))
				want := def
				tt.set(&want, tt.def)
				assert.Equal(t, want, def)
			})
		})
	}
}
