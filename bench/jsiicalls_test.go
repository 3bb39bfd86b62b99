package main

import (
	"strings"
	"testing"
)

// The lines are what the jsii kernel printed with JSII_DEBUG=1 (shortened).
func TestParseJSIIDebug(t *testing.T) {
	debug := strings.Join([]string{
		`> {"api":"load","name":"constructs","version":"10.6.0","tarball":"/tmp/constructs.tgz"}`,
		`[@jsii/kernel] load {`,
		`  api: 'load',`,
		`}`,
		`< {"ok":{"assembly":"constructs","types":12}}`,
		`> {"api":"create","fqn":"aws-cdk-lib.App","args":[null]}`,
		`< {"ok":{"$jsii.byref":"aws-cdk-lib.App@10000"}}`,
		`> {"api":"get","property":"node","objref":{"$jsii.byref":"aws-cdk-lib.App@10000"}}`,
		`> {"api":"get","property":"functionArn","objref":{"$jsii.byref":"@10020","$jsii.interfaces":["aws-cdk-lib.aws_lambda.IFunction"]}}`,
		`> {"api":"sinvoke","fqn":"aws-cdk-lib.Fn","method":"join","args":[",",["a","b"]]}`,
		`> {"api":"sget","fqn":"aws-cdk-lib.aws_lambda.Runtime","property":"PROVIDED_AL2023"}`,
		`< {"callback":{"cbid":"jsii::callback::20000","cookie":"visit","invoke":{"objref":{"$jsii.byref":"x@1"},"method":"visit","args":[]}}}`,
		`> {"complete":{"cbid":"jsii::callback::20000"}}`,
		`> {"exit":0}`,
		`scaleapp: something went wrong`,
	}, "\n")
	counts, last, err := parseJSIIDebug(strings.NewReader(debug))
	if err != nil {
		t.Fatal(err)
	}
	want := jsiiCallCounts{
		"load":                        1,
		"create aws-cdk-lib.App":      1,
		"get aws-cdk-lib.App.node":    1,
		"get (interface).functionArn": 1,
		"sinvoke aws-cdk-lib.Fn.join": 1,
		"sget aws-cdk-lib.aws_lambda.Runtime.PROVIDED_AL2023": 1,
		"callback visit": 1,
	}
	if len(counts) != len(want) {
		t.Errorf("counted %v, want %v", counts, want)
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s: %d, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
	if counts.total() != 7 {
		t.Errorf("total %d, want 7", counts.total())
	}
	if len(last) != 1 || last[0] != "scaleapp: something went wrong" {
		t.Errorf("last lines %q, want the app's error", last)
	}
}

func TestLargestGroups(t *testing.T) {
	a := jsiiCallCounts{"create x": 10, "get y": 5}
	b := jsiiCallCounts{"create x": 30, "get y": 45, "invoke z": 10}
	if got, want := largestGroups(a, b, 10, 2), "get y 4.00, create x 2.00"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
