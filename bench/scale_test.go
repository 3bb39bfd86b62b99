package main

import (
	"errors"
	"testing"
)

// The outputs are what failed scale synths printed (shortened).
func TestFirstErrorLine(t *testing.T) {
	for _, tc := range []struct{ output, want string }{
		{"node_modules/.bin/cdk synth ...: exit status 1\n" +
			"Bundling asset Scale/Service/Resource/Code/Stage...\n" +
			"scaleapp: TooManyResourcesInStack: Number of resources in stack 'Scale': 725 is greater than allowed maximum of 500: AWS::Cognito::UserPool (1)\n" +
			"bench/out/scaleapp: Subprocess exited with error 1\n",
			"scaleapp: TooManyResourcesInStack: Number of resources in stack 'Scale': 725 is greater than allowed maximum of 500: AWS::Cognito::UserPool (1)"},
		{"node_modules/.bin/cdk synth ...: exit status 1\n" +
			"Bundling asset Scale/Service/Resource/Code/Stage...\n" +
			"Runtime process exited abnormally: waitid: no child processesERROR Template has 202 outputs, maximum is 200 (CloudFormation Validate)\n" +
			"   Scale aws-cdk-lib.Stack\n" +
			"Synthesis finished with errors\n",
			"ERROR Template has 202 outputs, maximum is 200 (CloudFormation Validate)"},
		{"node_modules/.bin/cdk synth ...: exit status 1\n" +
			"bench/out/scaleapp: Subprocess exited with error 1\n",
			"bench/out/scaleapp: Subprocess exited with error 1"},
	} {
		if got := firstErrorLine(errors.New(tc.output)); got != tc.want {
			t.Errorf("firstErrorLine(%q)\n got %q\nwant %q", tc.output, got, tc.want)
		}
	}
}
