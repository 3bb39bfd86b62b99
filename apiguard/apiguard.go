// Package apiguard judges a synthesized cloud assembly the way CloudFormation
// will deploy it: every AWS::ApiGateway::Method of a guarded REST API, in any
// template of the assembly (nested stacks and other stacks included, every
// override, aspect and raw resource applied), must require an access token of
// the API's trusted user pool(s) with a scope they issue, and an API key when
// the pool's clients are in rate-limit tiers.
//
// A REST API is guarded when its AWS::ApiGateway::RestApi resource carries
// the metadata entry MetadataKey, which scopedapi.Guard (and so every
// ScopedAPI) writes: the pool ARNs its authorizers must trust, the scopes the
// pools issue, and whether API keys are required. A method belongs to the API
// when its RestApiId resolves to it: a Ref or Fn::GetAtt in the same
// template, a nested stack's parameter bound to one in the parent, or a
// cross-stack Fn::ImportValue of an export that resolves to one. A method
// whose RestApiId is a literal id string cannot be tied to a template and is
// not judged (docs/constructs.md says so).
//
// It reads the templates only, with the standard library: what it says holds
// for what `cdk deploy` would send, whatever construct code produced it.
package apiguard

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/scopegate/scopegate/cloudassembly"
)

// MetadataKey is the RestApi resource's metadata entry that declares it
// guarded; its value is a Declaration.
const MetadataKey = "scopegate:guard"

// Declaration is what a guarded API requires of each of its methods.
type Declaration struct {
	// ProviderARNs are the user pools (ARNs, as template expressions) the
	// methods' authorizers must trust: exactly these.
	ProviderARNs []any `json:"providerArns"`
	// Scopes the pools issue, "<resource server>/<scope>". Scopes declared
	// by AWS::Cognito::UserPoolResourceServer resources of the pools in the
	// assembly count too.
	Scopes []string `json:"scopes,omitempty"`
	// APIKeys: every method must require an API key.
	APIKeys bool `json:"apiKeys,omitempty"`
	// Construct is the RestApi's construct path, for messages.
	Construct string `json:"construct,omitempty"`
}

// Finding is one method (or API) that does not hold the guard.
type Finding struct {
	Template  string // file name in the assembly
	LogicalID string
	Where     string // "GET /orders", or "REST API" for the API itself
	API       string // the guarded API: template and logical id
	Problems  []string
}

func (f Finding) Error() string {
	return fmt.Sprintf("%s %s %s (guarded API %s): %s", f.Template, f.LogicalID, f.Where, f.API, strings.Join(f.Problems, "; "))
}

// CheckDir judges every template of the assembly in dir. It returns the
// errors.Join of the findings (each a Finding), nil when every guarded API
// holds, or an error naming a file it cannot read.
func CheckDir(dir string) error {
	a, err := load(dir)
	if err != nil {
		return err
	}
	findings := a.check()
	errs := make([]error, len(findings))
	for i, f := range findings {
		errs[i] = f
	}
	return errors.Join(errs...)
}

// Check is CheckDir's findings, for callers that want them one by one.
func Check(dir string) ([]Finding, error) {
	a, err := load(dir)
	if err != nil {
		return nil, err
	}
	return a.check(), nil
}

// node is a resolved expression: a resource of a template, or a literal.
type node struct {
	file, id string
	literal  string
}

func (n node) resource() bool { return n.id != "" }

func (n node) String() string {
	if n.resource() {
		return n.file + " " + n.id
	}
	return fmt.Sprintf("%q", n.literal)
}

type binding struct {
	file string // the parent template
	expr any    // the value the parent passes
}

type assembly struct {
	templates map[string]*cloudassembly.Template // by file
	exports   map[string]binding                 // export name -> the exporting template's value
	params    map[[2]string]binding              // (nested template, parameter) -> the parent's value
	stacks    map[string]string                  // stack name -> its template's file
}

func load(dir string) (*assembly, error) {
	read, err := cloudassembly.Read(dir, nil)
	if err != nil {
		return nil, fmt.Errorf("apiguard: %w", err)
	}
	a := &assembly{templates: map[string]*cloudassembly.Template{}, exports: map[string]binding{}, params: map[[2]string]binding{}, stacks: map[string]string{}}
	for _, stack := range read.Stacks {
		a.stacks[stack.StackName] = stack.Templates[0].File
		for _, t := range stack.Templates {
			a.templates[t.File] = t
			for _, o := range t.Outputs {
				if o.Export != nil {
					if name, ok := o.Export.Name.(string); ok {
						a.exports[name] = binding{t.File, o.Value}
					}
				}
			}
			if t.Parent != nil {
				params, _ := t.Parent.Resources[t.ParentID].Properties["Parameters"].(map[string]any)
				for name, v := range params {
					a.params[[2]string{t.File, name}] = binding{t.Parent.File, v}
				}
			}
		}
	}
	return a, nil
}

// resolve follows an expression of file to the resource or literal it
// stands for. The zero node means it cannot be resolved (a parameter of a
// top-level stack, a pseudo parameter, an unknown function).
func (a *assembly) resolve(file string, expr any) node {
	for range 32 { // nested stacks and imports, never a cycle in a valid assembly
		switch v := expr.(type) {
		case string:
			return node{literal: v}
		case map[string]any:
			if len(v) != 1 {
				return node{}
			}
			t := a.templates[file]
			if ref, ok := v["Ref"].(string); ok {
				if _, ok := t.Resources[ref]; ok {
					return node{file: file, id: ref}
				}
				b, ok := a.params[[2]string{file, ref}]
				if !ok {
					return node{}
				}
				file, expr = b.file, b.expr
				continue
			}
			if att, ok := v["Fn::GetAtt"]; ok {
				var target string
				switch att := att.(type) {
				case []any:
					if len(att) == 2 {
						target, _ = att[0].(string)
					}
				case string:
					target, _, _ = strings.Cut(att, ".")
				}
				if _, ok := t.Resources[target]; ok {
					return node{file: file, id: target}
				}
				return node{}
			}
			if name, ok := v["Fn::ImportValue"].(string); ok {
				b, ok := a.exports[name]
				if !ok {
					return node{}
				}
				file, expr = b.file, b.expr
				continue
			}
			// The CDK's cross-stack references within a region:
			// {"Fn::GetStackOutput": {"StackName", "OutputName", ...}}.
			if get, ok := v["Fn::GetStackOutput"].(map[string]any); ok {
				stack, _ := get["StackName"].(string)
				output, _ := get["OutputName"].(string)
				producer, ok := a.templates[a.stacks[stack]]
				if !ok {
					return node{}
				}
				o, ok := producer.Outputs[output]
				if !ok {
					return node{}
				}
				file, expr = a.stacks[stack], o.Value
				continue
			}
			return node{}
		default:
			return node{}
		}
	}
	return node{}
}

func (a *assembly) typeOf(n node) string {
	if !n.resource() {
		return ""
	}
	return a.templates[n.file].Resources[n.id].Type
}

func (a *assembly) props(n node) map[string]any {
	return a.templates[n.file].Resources[n.id].Properties
}

// pool is a user pool's identity: "<file> <id>" of its AWS::Cognito::UserPool
// resource, or "id:<pool id>" for a pool named by a literal ARN or id. An
// ARN built with Fn::Join around the pool's Ref (as UserPool.fromUserPoolId
// builds it) is the pool's own identity.
func (a *assembly) pool(file string, expr any) string {
	if m, ok := expr.(map[string]any); ok {
		if join, ok := m["Fn::Join"].([]any); ok && len(join) == 2 {
			parts, _ := join[1].([]any)
			for i, p := range parts {
				if s, ok := p.(string); ok && strings.HasSuffix(s, ":userpool/") && i+1 < len(parts) {
					return a.pool(file, parts[i+1])
				}
			}
			return ""
		}
	}
	n := a.resolve(file, expr)
	switch {
	case a.typeOf(n) == "AWS::Cognito::UserPool":
		return n.String()
	case n.resource():
		return ""
	case n.literal != "":
		if _, id, ok := strings.Cut(n.literal, ":userpool/"); ok {
			return "id:" + id
		}
		return "id:" + n.literal
	}
	return ""
}

// guarded is one guarded API.
type guarded struct {
	api    node
	decl   Declaration
	pools  []string // sorted
	scopes map[string]bool
}

func (a *assembly) guardedAPIs() ([]*guarded, []Finding) {
	var apis []*guarded
	var findings []Finding
	for _, file := range slices.Sorted(maps.Keys(a.templates)) {
		t := a.templates[file]
		for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
			r := t.Resources[id]
			raw, ok := r.Metadata[MetadataKey]
			if r.Type != "AWS::ApiGateway::RestApi" || !ok {
				continue
			}
			var d Declaration
			b, _ := json.Marshal(raw)
			g := &guarded{api: node{file: file, id: id}, scopes: map[string]bool{}}
			if err := json.Unmarshal(b, &d); err != nil || len(d.ProviderARNs) == 0 {
				findings = append(findings, Finding{Template: file, LogicalID: id, Where: "REST API", API: g.api.String(),
					Problems: []string{fmt.Sprintf("its %s metadata declares no trusted pool", MetadataKey)}})
				continue
			}
			g.decl = d
			for _, arn := range d.ProviderARNs {
				g.pools = append(g.pools, a.pool(file, arn))
			}
			sort.Strings(g.pools)
			for _, s := range d.Scopes {
				g.scopes[s] = true
			}
			var problems []string
			for _, p := range []string{"Body", "BodyS3Location", "CloneFrom"} {
				if _, ok := r.Properties[p]; ok {
					problems = append(problems, fmt.Sprintf("it is defined by %s, whose operations this check cannot see: define its methods as AWS::ApiGateway::Method resources (a RestApi, not a SpecRestApi), or do not guard it", p))
				}
			}
			if len(problems) > 0 {
				findings = append(findings, Finding{Template: file, LogicalID: id, Where: "REST API", API: g.api.String(), Problems: problems})
			}
			apis = append(apis, g)
		}
	}
	// Scopes of the trusted pools' resource servers anywhere in the assembly.
	for _, file := range slices.Sorted(maps.Keys(a.templates)) {
		for _, r := range a.templates[file].Resources {
			if r.Type != "AWS::Cognito::UserPoolResourceServer" {
				continue
			}
			pool := a.pool(file, r.Properties["UserPoolId"])
			server, _ := r.Properties["Identifier"].(string)
			scopes, _ := r.Properties["Scopes"].([]any)
			for _, g := range apis {
				if pool == "" || !slices.Contains(g.pools, pool) {
					continue
				}
				for _, s := range scopes {
					if name, ok := s.(map[string]any)["ScopeName"].(string); ok && server != "" {
						g.scopes[server+"/"+name] = true
					}
				}
			}
		}
	}
	return apis, findings
}

func (a *assembly) check() []Finding {
	apis, findings := a.guardedAPIs()
	if len(apis) == 0 {
		return findings
	}
	for _, file := range slices.Sorted(maps.Keys(a.templates)) {
		t := a.templates[file]
		for _, id := range slices.Sorted(maps.Keys(t.Resources)) {
			r := t.Resources[id]
			if r.Type != "AWS::ApiGateway::Method" {
				continue
			}
			api := a.resolve(file, r.Properties["RestApiId"])
			i := slices.IndexFunc(apis, func(g *guarded) bool { return g.api == api })
			if i < 0 {
				continue
			}
			g := apis[i]
			verb, _ := r.Properties["HttpMethod"].(string)
			where := verb + " " + a.path(file, r.Properties["ResourceId"])
			if problems := a.judge(g, file, r.Properties); len(problems) > 0 {
				findings = append(findings, Finding{Template: file, LogicalID: id, Where: where, API: g.api.String(), Problems: problems})
			}
		}
	}
	return findings
}

// judge lists what is wrong with one method of g.
func (a *assembly) judge(g *guarded, file string, p map[string]any) []string {
	verb, _ := p["HttpMethod"].(string)
	if verb == "OPTIONS" && corsPreflight(p) {
		return nil
	}
	var wrong []string
	authType, _ := p["AuthorizationType"].(string)
	if authType == "" {
		authType = "NONE"
	}
	if authType != "COGNITO_USER_POOLS" {
		wrong = append(wrong, fmt.Sprintf("authorization type %s, not COGNITO_USER_POOLS", authType))
	} else {
		wrong = append(wrong, a.judgeAuthorizer(g, file, p["AuthorizerId"])...)
	}
	scopes, _ := p["AuthorizationScopes"].([]any)
	if len(scopes) == 0 {
		wrong = append(wrong, "no authorization scopes (the Cognito authorizer then accepts any ID token of the pool)")
	}
	for _, s := range scopes {
		scope, ok := s.(string)
		if !ok {
			wrong = append(wrong, fmt.Sprintf("a scope that is not a literal string (%v)", s))
		} else if !g.scopes[scope] {
			wrong = append(wrong, fmt.Sprintf("scope %q, which the trusted pool does not issue", scope))
		}
	}
	if g.decl.APIKeys && p["ApiKeyRequired"] != true {
		wrong = append(wrong, "no API key required, but the pool's clients are rate-limited by their keys")
	}
	if verb == "OPTIONS" && len(wrong) > 0 {
		wrong = append(wrong, "and it is not a CORS preflight (a MOCK integration that answers Access-Control-Allow-* headers)")
	}
	return wrong
}

func (a *assembly) judgeAuthorizer(g *guarded, file string, ref any) []string {
	n := a.resolve(file, ref)
	if a.typeOf(n) != "AWS::ApiGateway::Authorizer" {
		return []string{"no authorizer of the assembly (AuthorizerId does not resolve to an AWS::ApiGateway::Authorizer)"}
	}
	p := a.props(n)
	var wrong []string
	if t, _ := p["Type"].(string); t != "COGNITO_USER_POOLS" {
		wrong = append(wrong, fmt.Sprintf("authorizer %s is of type %s, not COGNITO_USER_POOLS", n, t))
	}
	if api := a.resolve(n.file, p["RestApiId"]); api != g.api {
		wrong = append(wrong, fmt.Sprintf("authorizer %s belongs to another REST API", n))
	}
	arns, _ := p["ProviderARNs"].([]any)
	var pools []string
	for _, arn := range arns {
		pools = append(pools, a.pool(n.file, arn))
	}
	sort.Strings(pools)
	pools = slices.Compact(pools)
	if !slices.Equal(pools, g.pools) {
		wrong = append(wrong, fmt.Sprintf("authorizer %s trusts %s, not exactly the guarded pool(s) %s", n, describePools(pools), describePools(g.pools)))
	}
	return wrong
}

func describePools(pools []string) string {
	if len(pools) == 0 {
		return "no pool"
	}
	shown := make([]string, len(pools))
	for i, p := range pools {
		if p == "" {
			p = "a pool this check cannot identify"
		}
		shown[i] = p
	}
	return "[" + strings.Join(shown, ", ") + "]"
}

// corsPreflight: a MOCK integration (it reaches no backend) that answers
// Access-Control-Allow-* headers, as a RestApi's CORS options and
// Resource.addCorsPreflight build it.
func corsPreflight(p map[string]any) bool {
	integration, _ := p["Integration"].(map[string]any)
	if t, _ := integration["Type"].(string); t != "MOCK" {
		return false
	}
	responses, _ := integration["IntegrationResponses"].([]any)
	for _, r := range responses {
		params, _ := r.(map[string]any)["ResponseParameters"].(map[string]any)
		for k := range params {
			if strings.HasPrefix(k, "method.response.header.Access-Control-Allow-") {
				return true
			}
		}
	}
	return false
}

// path is a method's resource path, "/" for the root, or "(unknown path)".
func (a *assembly) path(file string, resourceID any) string {
	var segments []string
	for range 64 {
		n := a.resolve(file, resourceID)
		switch a.typeOf(n) {
		case "AWS::ApiGateway::Resource":
			p := a.props(n)
			part, _ := p["PathPart"].(string)
			segments = append(segments, part)
			file, resourceID = n.file, p["ParentId"]
		case "AWS::ApiGateway::RestApi": // its RootResourceId
			slices.Reverse(segments)
			return "/" + strings.Join(segments, "/")
		default:
			return "(unknown path)"
		}
	}
	return "(unknown path)"
}
