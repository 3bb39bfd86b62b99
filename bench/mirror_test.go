package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A nested stack and its parent, as the CDK writes them, small.
const mirrorTemplate = `{
 "Description": "scopegate: machine clients of shard 15 of 16 and their credentials",
 "Resources": {
  "Partner0001Client9E494EFC": {
   "Type": "AWS::Cognito::UserPoolClient",
   "Properties": {"ClientName": "partner-0001", "AllowedOAuthScopes": ["scale-api/s01", "scale-api/s02"], "AccessTokenValidity": 60}
  },
  "Partner0001SecretD8775E5C": {
   "Type": "AWS::SecretsManager::Secret",
   "Properties": {"Name": {"Fn::Join": ["", ["scopegate-", {"Ref": "Pool"}, "-partner-0001"]]}},
   "DeletionPolicy": "Delete",
   "Metadata": {"aws:cdk:path": "Scale/Auth/Clients15/Partner0001Secret/Resource", "cdk_nag": {"rules_to_suppress": [{"id": "X", "reason": "y"}]}}
  },
  "Clients": {
   "Type": "AWS::CloudFormation::Stack",
   "Properties": {"Parameters": {"p": {"Ref": "Pool"}}, "TemplateURL": {"Fn::Join": ["", ["https://s3/", "a6109d.json"]]}},
   "Metadata": {"aws:cdk:path": "Scale/Auth/Clients15.NestedStack/Clients15.NestedStackResource", "aws:asset:property": "TemplateURL"}
  },
  "CDKMetadata": {
   "Type": "AWS::CDK::Metadata",
   "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA/1WMzWrDMBCEnyU6FllJTUlKrz71kpaY9lJK2EprZxtpFaQVKRi"},
   "Metadata": {"aws:cdk:path": "Scale/Auth/Clients15/CDKMetadata/Default"},
   "Condition": "CDKMetadataAvailable"
  }
 },
 "Conditions": {"CDKMetadataAvailable": {"Fn::Or": [{"Fn::Equals": [{"Ref": "AWS::Region"}, "af-south-1"]}]}}
}`

// The same template as the other app writes it: keys in another order, other
// construct paths, other construct types in CDKMetadata (and so no
// condition where the region list differs), another nested template hash.
const mirrorTemplateIgnoredOnly = `{
 "Resources": {
  "Partner0001SecretD8775E5C": {
   "Metadata": {"cdk_nag": {"rules_to_suppress": [{"reason": "y", "id": "X"}]}, "aws:cdk:path": "Scale/Auth/Clients15/Partner0001Secret"},
   "DeletionPolicy": "Delete",
   "Type": "AWS::SecretsManager::Secret",
   "Properties": {"Name": {"Fn::Join": ["", ["scopegate-", {"Ref": "Pool"}, "-partner-0001"]]}}
  },
  "Partner0001Client9E494EFC": {
   "Type": "AWS::Cognito::UserPoolClient",
   "Properties": {"AccessTokenValidity": 60, "AllowedOAuthScopes": ["scale-api/s01", "scale-api/s02"], "ClientName": "partner-0001"},
   "Metadata": {"aws:cdk:path": "Scale/Auth/Clients15/Partner0001Client/Resource"}
  },
  "Clients": {
   "Type": "AWS::CloudFormation::Stack",
   "Properties": {"Parameters": {"p": {"Ref": "Pool"}}, "TemplateURL": {"Fn::Join": ["", ["https://s3/", "ffff00.json"]]}},
   "Metadata": {"aws:cdk:path": "Scale/Auth/Clients15.NestedStack/Clients15.NestedStackResource", "aws:asset:property": "TemplateURL"}
  },
  "CDKMetadata": {
   "Type": "AWS::CDK::Metadata",
   "Properties": {"Analytics": "v2:deflate64:H4sIAAAAAAAA/other"},
   "Metadata": {"aws:cdk:path": "Scale/Auth/Clients15/CDKMetadata/Default"}
  }
 },
 "Description": "scopegate: machine clients of shard 15 of 16 and their credentials"
}`

func TestCompareTemplates(t *testing.T) {
	for _, tc := range []struct {
		name, js        string
		same, sameOrder bool
		path, goV, jsV  string // the values as shortJSON writes them
	}{
		{name: "equal", js: mirrorTemplate, same: true, sameOrder: true},
		{name: "ignored only", js: mirrorTemplateIgnoredOnly, same: true},
		{name: "ignored only, keys in the same order", js: strings.Replace(mirrorTemplate, `"aws:cdk:path": "Scale/Auth/Clients15/Partner0001Secret/Resource"`, `"aws:cdk:path": "elsewhere"`, 1),
			same: true, sameOrder: true},
		{name: "a number written otherwise", js: replace(mirrorTemplate, `"AccessTokenValidity": 60`, `"AccessTokenValidity": 60.0`), same: true},
		{name: "a property", js: replace(mirrorTemplate, `"AccessTokenValidity": 60`, `"AccessTokenValidity": 61`),
			path: ".Resources.Partner0001Client9E494EFC.Properties.AccessTokenValidity", goV: "60", jsV: "61"},
		{name: "array order", js: replace(mirrorTemplate, `["scale-api/s01", "scale-api/s02"]`, `["scale-api/s02", "scale-api/s01"]`),
			path: ".Resources.Partner0001Client9E494EFC.Properties.AllowedOAuthScopes[0]", goV: `"scale-api/s01"`, jsV: `"scale-api/s02"`},
		{name: "a logical id", js: replace(mirrorTemplate, `"Partner0001SecretD8775E5C": {`, `"Partner0001Secret": {`),
			path: ".Resources.Partner0001Secret", goV: "(absent)", jsV: `{"Type":"AWS::SecretsManager::Secret",...`},
		{name: "metadata other than the path", js: replace(mirrorTemplate, `"aws:asset:property": "TemplateURL"`, `"aws:asset:property": "Code"`),
			path: ".Resources.Clients.Metadata.aws:asset:property", goV: `"TemplateURL"`, jsV: `"Code"`},
		{name: "a nested stack's parameters", js: replace(mirrorTemplate, `"Parameters": {"p": {"Ref": "Pool"}}`, `"Parameters": {"p": {"Ref": "Other"}}`),
			path: ".Resources.Clients.Properties.Parameters.p.Ref", goV: `"Pool"`, jsV: `"Other"`},
		{name: "an extra condition", js: replace(mirrorTemplate, `"Conditions": {`, `"Conditions": {"IsProd": {"Fn::Equals": ["a", "b"]}, `),
			path: ".Conditions", goV: "(absent)", jsV: `{"IsProd":{"Fn::Equals":["a","b"]}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := compareTemplates([]byte(mirrorTemplate), []byte(tc.js))
			if err != nil {
				t.Fatal(err)
			}
			if c.same != tc.same || c.sameOrder != tc.sameOrder {
				t.Fatalf("same, sameOrder = %v, %v; want %v, %v (first difference at %q: %s against %s)", c.same, c.sameOrder, tc.same, tc.sameOrder, c.path, shortJSON(c.goValue), shortJSON(c.jsValue))
			}
			if tc.same {
				return
			}
			if c.path != tc.path {
				t.Errorf("path = %q, want %q", c.path, tc.path)
			}
			goV, jsV := shortJSON(c.goValue), shortJSON(c.jsValue)
			if goV != tc.goV || !strings.HasPrefix(jsV, strings.TrimSuffix(tc.jsV, "...")) {
				t.Errorf("values = %s, %s; want %s, %s", goV, jsV, tc.goV, tc.jsV)
			}
		})
	}
	if _, err := compareTemplates([]byte(mirrorTemplate), []byte(`{"Resources":`)); err == nil {
		t.Error("a broken template compared without error")
	}
}

func TestCompareAssemblies(t *testing.T) {
	goDir, jsDir := t.TempDir(), t.TempDir()
	write := func(dir, name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(goDir, "Scale.template.json", mirrorTemplate)
	write(jsDir, "Scale.template.json", mirrorTemplateIgnoredOnly)
	write(goDir, "ScaleAuthClients00.nested.template.json", mirrorTemplate)
	write(jsDir, "ScaleAuthClients00.nested.template.json", replace(mirrorTemplate, `"DeletionPolicy": "Delete"`, `"DeletionPolicy": "Retain"`))
	write(goDir, "ScaleAuthClients01.nested.template.json", mirrorTemplate)
	write(goDir, "manifest.json", `{}`) // not a template

	diffs, reordered, compared, err := compareAssemblies(goDir, jsDir)
	if err != nil {
		t.Fatal(err)
	}
	if compared != 3 {
		t.Errorf("compared %d templates, want 3", compared)
	}
	if !reflect.DeepEqual(reordered, []string{"Scale.template.json"}) {
		t.Errorf("reordered = %q, want Scale.template.json alone", reordered)
	}
	want := []string{
		"ScaleAuthClients00.nested.template.json: first difference at Resources.Partner0001SecretD8775E5C.DeletionPolicy: Go \"Delete\", JS \"Retain\"",
		"ScaleAuthClients01.nested.template.json: only the other app wrote it (the JS app did not)",
	}
	var got []string
	for _, d := range diffs {
		got = append(got, d.template+": "+d.String())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("differences:\n%q\nwant\n%q", got, want)
	}
}

func replace(s, old, new string) string {
	if strings.Count(s, old) != 1 {
		panic("the test template does not hold " + old + " once")
	}
	return strings.Replace(s, old, new, 1)
}
