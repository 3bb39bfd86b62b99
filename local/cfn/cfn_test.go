package cfn

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/scopegate/scopegate/cloudassembly"
)

// The test assembly: stack Main (a table the emulator has given local
// values, a user pool it has not, a parameter with a default, a nested
// stack passed a Ref as a parameter) and stack Shared exporting a value.
const (
	mainTemplate = `{
  "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
  "Resources": {
    "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {}},
    "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {}},
    "Child": {"Type": "AWS::CloudFormation::Stack", "Metadata": {"aws:asset:path": "MainChild.nested.template.json"},
      "Properties": {"Parameters": {"TableName": {"Ref": "Table"}}}}
  },
  "Outputs": {"FromChild": {"Value": {"Fn::GetAtt": ["Child", "Outputs.Greeting"]}}}
}`
	childTemplate = `{
  "Parameters": {"TableName": {"Type": "String"}},
  "Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {}}},
  "Outputs": {"Greeting": {"Value": {"Fn::Sub": "table ${TableName} in ${AWS::Region}"}}}
}`
	sharedTemplate = `{
  "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}},
  "Outputs": {"TopicName": {"Value": "alerts-topic", "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-Topic"}}}}
}`
	manifest = `{"artifacts": {
  "Main": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Main.template.json"}},
  "Shared": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Shared.template.json", "stackName": "shared-stack"}}
}}`
)

type fixture struct {
	e            *Evaluator
	main, shared *cloudassembly.Stack
	mainT, child *cloudassembly.Template
}

func setup(t *testing.T) fixture {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"manifest.json": manifest, "Main.template.json": mainTemplate,
		"MainChild.nested.template.json": childTemplate, "Shared.template.json": sharedTemplate} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	a, err := cloudassembly.Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{e: New(a), main: a.Stacks[0], shared: a.Stacks[1]}
	f.mainT, f.child = f.main.Templates[0], f.main.Templates[1]
	f.e.Set(f.mainT, "Table", Values{Ref: "local-events", Attrs: map[string]string{"Arn": "arn:aws:dynamodb:us-east-1:000000000000:table/local-events"}})
	return f
}

func parse(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v
}

// Each intrinsic function and pseudo parameter make local evaluates, as
// the CloudFormation user guide's "Intrinsic function reference" and
// "Pseudo parameters reference" define them.
func TestIntrinsics(t *testing.T) {
	f := setup(t)
	poolName := physicalName(f.main, "Pool")
	cases := []struct{ in, want string }{
		{`{"Ref": "Table"}`, "local-events"},
		{`{"Ref": "Pool"}`, poolName},
		{`{"Ref": "Env"}`, "dev"},
		{`{"Ref": "AWS::Region"}`, Region},
		{`{"Ref": "AWS::AccountId"}`, AccountID},
		{`{"Ref": "AWS::Partition"}`, "aws"},
		{`{"Ref": "AWS::URLSuffix"}`, "amazonaws.com"},
		{`{"Ref": "AWS::StackName"}`, "Main"},
		{`{"Fn::GetAtt": ["Table", "Arn"]}`, "arn:aws:dynamodb:us-east-1:000000000000:table/local-events"},
		{`{"Fn::GetAtt": "Table.Arn"}`, "arn:aws:dynamodb:us-east-1:000000000000:table/local-events"},
		{`{"Fn::GetAtt": ["Pool", "Arn"]}`, "arn:aws:cognito:us-east-1:000000000000:" + poolName},
		{`{"Fn::Join": ["-", ["a", {"Ref": "Env"}, 3]]}`, "a-dev-3"},
		{`{"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}`, "y"},
		{`{"Fn::Select": ["0", ["first", "second"]]}`, "first"},
		{`{"Fn::Sub": "${Table} ${Table.Arn} ${AWS::Region} ${!Literal}"}`, "local-events arn:aws:dynamodb:us-east-1:000000000000:table/local-events us-east-1 ${Literal}"},
		{`{"Fn::Sub": ["${A}/${Env}", {"A": {"Ref": "Table"}}]}`, "local-events/dev"},
		{`{"Fn::ImportValue": "shared-stack-Topic"}`, "alerts-topic"},
		{`{"Fn::Base64": "hello"}`, base64.StdEncoding.EncodeToString([]byte("hello"))},
		{`{"Fn::Select": [0, {"Fn::GetAZs": ""}]}`, "us-east-1a"},
		{`{"Fn::GetAtt": ["Child", "Outputs.Greeting"]}`, "table local-events in us-east-1"},
	}
	for _, c := range cases {
		got, err := f.e.String(f.main, f.mainT, parse(t, c.in))
		if err != nil || got != c.want {
			t.Errorf("%s = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	// AWS::StackId: an ARN whose last UUID group the CDK's generated
	// names take.
	id, _ := f.e.String(f.main, f.mainT, parse(t, `{"Fn::Select": [4, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}]}`))
	if len(id) != 12 {
		t.Errorf("the StackId's last group = %q, want 12 hex digits", id)
	}
	// AWS::NoValue removes nothing here but evaluates to null.
	if v, err := f.e.Eval(f.main, f.mainT, parse(t, `{"Ref": "AWS::NoValue"}`)); err != nil || v != nil {
		t.Errorf("AWS::NoValue = %v, %v; want nil", v, err)
	}
	// A nested template's parameter resolves through its parent.
	if got, err := f.e.String(f.main, f.child, parse(t, `{"Ref": "TableName"}`)); err != nil || got != "local-events" {
		t.Errorf("nested Ref TableName = %q, %v; want the parent's table", got, err)
	}
	// Structures are evaluated throughout.
	got, err := f.e.Eval(f.main, f.mainT, parse(t, `{"List": [{"Ref": "Env"}, {"K": {"Ref": "Table"}}], "N": 1}`))
	want := parse(t, `{"List": ["dev", {"K": "local-events"}], "N": 1}`)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("nested structure = %v, %v; want %v", got, err, want)
	}
	// Physical names are stable across runs.
	if physicalName(f.main, "Pool") != poolName || !strings.HasPrefix(poolName, "Main-Pool-") {
		t.Errorf("physical name %q", poolName)
	}
}

// What cannot be evaluated is an error naming it: conditions are not
// evaluated (make local lists the value as not emulated), nor are unknown
// references and attributes.
func TestErrors(t *testing.T) {
	f := setup(t)
	cases := map[string]string{
		`{"Fn::If": ["IsProd", "a", "b"]}`:                   "Fn::If is not evaluated locally",
		`{"Ref": "Missing"}`:                                 "Ref Missing: no such resource or parameter",
		`{"Fn::GetAtt": ["Pool", "ProviderURL"]}`:            "Fn::GetAtt Pool.ProviderURL: attribute of AWS::Cognito::UserPool not emulated",
		`{"Fn::GetAtt": ["Nope", "Arn"]}`:                    "Fn::GetAtt Nope.Arn: no such resource",
		`{"Fn::GetAtt": ["Child", "Outputs.Absent"]}`:        "the nested stack has no such output",
		`{"Fn::ImportValue": "nobody-exports-this"}`:         "Fn::ImportValue nobody-exports-this: no stack of the assembly exports it",
		`{"Fn::Select": [5, ["a"]]}`:                         "Fn::Select index 5 out of range",
		`{"Fn::Sub": "x ${Missing}"}`:                        "Fn::Sub ${Missing}: Ref Missing",
		`{"Fn::Join": ["-", [{"Fn::If": ["C", "a", "b"]}]]}`: "Fn::If is not evaluated locally",
	}
	for in, want := range cases {
		_, err := f.e.String(f.main, f.mainT, parse(t, in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", in, err, want)
		}
	}
	if _, err := f.e.String(f.main, f.mainT, parse(t, `["a", "b"]`)); err == nil {
		t.Error("a list where a string is needed: no error")
	}
}
