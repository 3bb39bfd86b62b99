package cdktest

import (
	"sort"
	"strings"
)

// Method is an AWS::ApiGateway::Method with the resource path it hangs on,
// worked out from the template's AWS::ApiGateway::Resource chain.
type Method struct {
	LogicalID  string
	HTTPMethod string
	Path       string
	Scopes     []string
	Properties map[string]any
}

// Methods lists the template's API Gateway methods sorted by path and method.
func (t Template) Methods() []Method {
	parents := map[string]string{}
	parts := map[string]string{}
	for _, r := range t.Resources("AWS::ApiGateway::Resource") {
		parts[r.LogicalID] = r.Properties["PathPart"].(string)
		if ref, ok := r.Properties["ParentId"].(map[string]any)["Ref"].(string); ok {
			parents[r.LogicalID] = ref
		}
	}
	pathOf := func(resourceID any) string {
		ref, ok := resourceID.(map[string]any)["Ref"].(string)
		if !ok {
			return "/" // Fn::GetAtt RootResourceId
		}
		var segments []string
		for id := ref; id != ""; id = parents[id] {
			segments = append([]string{parts[id]}, segments...)
		}
		return "/" + strings.Join(segments, "/")
	}
	var out []Method
	for _, r := range t.Resources("AWS::ApiGateway::Method") {
		m := Method{LogicalID: r.LogicalID, HTTPMethod: r.Properties["HttpMethod"].(string), Path: pathOf(r.Properties["ResourceId"]), Properties: r.Properties}
		if scopes, ok := r.Properties["AuthorizationScopes"].([]any); ok {
			for _, s := range scopes {
				m.Scopes = append(m.Scopes, s.(string))
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].HTTPMethod < out[j].HTTPMethod
	})
	return out
}
