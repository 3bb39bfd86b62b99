package apiguard_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/apiguard"
)

// writeAssembly writes templates (file name -> template) into a directory,
// with a manifest that names every one that is not a nested stack's.
func writeAssembly(t *testing.T, templates map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	artifacts := res{}
	for name, tmpl := range templates {
		data, err := json.Marshal(tmpl)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
		if !strings.Contains(name, ".nested.") {
			artifacts[strings.TrimSuffix(name, ".template.json")] = res{"type": "aws:cloudformation:stack", "properties": res{"templateFile": name}}
		}
	}
	manifest, err := json.Marshal(res{"version": "1", "artifacts": artifacts})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o644))
	return dir
}

type res = map[string]any

func ref(id string) res { return res{"Ref": id} }

// An API guarded for a pool named by its literal ARN, methods added from a
// nested stack (aws:asset:path) and from another stack through a classic
// export and Fn::ImportValue.
func TestMethodsAreFollowedThroughParametersAndExports(t *testing.T) {
	poolArn := "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc"
	method := func(api any, resource any, authType string, authorizer any, scopes ...string) res {
		p := res{"HttpMethod": "GET", "RestApiId": api, "ResourceId": resource, "AuthorizationType": authType}
		if authorizer != nil {
			p["AuthorizerId"] = authorizer
		}
		if len(scopes) > 0 {
			p["AuthorizationScopes"] = scopes
		}
		return res{"Type": "AWS::ApiGateway::Method", "Properties": p}
	}
	dir := writeAssembly(t, map[string]any{
		"Api.template.json": res{
			"Resources": res{
				"Api": res{"Type": "AWS::ApiGateway::RestApi", "Properties": res{"Name": "api"},
					"Metadata": res{apiguard.MetadataKey: res{"providerArns": []any{poolArn}, "scopes": []string{"orders/read"}}}},
				"Authorizer": res{"Type": "AWS::ApiGateway::Authorizer", "Properties": res{
					"Type": "COGNITO_USER_POOLS", "RestApiId": ref("Api"), "ProviderARNs": []any{poolArn}}},
				"Orders": res{"Type": "AWS::ApiGateway::Resource", "Properties": res{
					"RestApiId": ref("Api"), "ParentId": res{"Fn::GetAtt": []any{"Api", "RootResourceId"}}, "PathPart": "orders"}},
				"OrdersGet": method(ref("Api"), ref("Orders"), "COGNITO_USER_POOLS", ref("Authorizer"), "orders/read"),
				"Routes": res{"Type": "AWS::CloudFormation::Stack", "Metadata": res{"aws:asset:path": "ApiRoutes.nested.template.json"},
					"Properties": res{"Parameters": res{"ApiId": ref("Api"), "RootId": res{"Fn::GetAtt": []any{"Api", "RootResourceId"}}, "AuthorizerId": ref("Authorizer")}}},
			},
			"Outputs": res{"ApiId": res{"Value": ref("Api"), "Export": res{"Name": "Api:Id"}}},
		},
		"ApiRoutes.nested.template.json": res{
			"Parameters": res{"ApiId": res{"Type": "String"}, "RootId": res{"Type": "String"}, "AuthorizerId": res{"Type": "String"}},
			"Resources": res{
				"Reports":     res{"Type": "AWS::ApiGateway::Resource", "Properties": res{"RestApiId": ref("ApiId"), "ParentId": ref("RootId"), "PathPart": "reports"}},
				"ReportsGet":  method(ref("ApiId"), ref("Reports"), "COGNITO_USER_POOLS", ref("AuthorizerId"), "orders/read"),
				"ReportsOpen": method(ref("ApiId"), ref("RootId"), "NONE", nil),
			},
		},
		"Other.template.json": res{
			"Resources": res{
				"Stray":     method(res{"Fn::ImportValue": "Api:Id"}, "root-id-we-cannot-see", "AWS_IAM", nil),
				"Unrelated": method("abc123", "xyz", "NONE", nil),
			},
		},
	})
	findings, err := apiguard.Check(dir)
	require.NoError(t, err)
	require.Len(t, findings, 2, "%v", findings)
	assert.Equal(t, "ApiRoutes.nested.template.json", findings[0].Template)
	assert.Equal(t, "ReportsOpen", findings[0].LogicalID)
	assert.Equal(t, "GET /", findings[0].Where)
	assert.Equal(t, "Other.template.json", findings[1].Template)
	assert.Equal(t, "GET (unknown path)", findings[1].Where)
	assert.Contains(t, findings[1].Error(), "authorization type AWS_IAM, not COGNITO_USER_POOLS")
	assert.Contains(t, findings[1].Error(), "(guarded API Api.template.json Api)")
}

// No guarded API, no finding: an assembly without scopegate's metadata is
// not judged; an unreadable template is an error naming it.
func TestAssembliesWithoutGuardsAndBrokenFiles(t *testing.T) {
	dir := writeAssembly(t, map[string]any{"A.template.json": res{"Resources": res{
		"M": res{"Type": "AWS::ApiGateway::Method", "Properties": res{"HttpMethod": "GET", "RestApiId": "x", "AuthorizationType": "NONE"}},
	}}})
	require.NoError(t, apiguard.CheckDir(dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "A.template.json"), []byte("{"), 0o644))
	err := apiguard.CheckDir(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "A.template.json")
}
