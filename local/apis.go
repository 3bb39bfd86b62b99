package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/scopegate/scopegate/cloudassembly"
	"github.com/scopegate/scopegate/local/cfn"
	"github.com/scopegate/scopegate/local/gateway"
)

// startAPIs builds every REST API's stage from the template and serves it.
func (e *Emulator) startAPIs(ctx context.Context, nextPort func() int) error {
	var failed error
	e.each("AWS::ApiGateway::RestApi", func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if failed != nil {
			return
		}
		apiID := localID(10, lowerDigits)
		root := localID(10, lowerDigits)
		e.eval.Set(t, id, cfn.Values{Ref: apiID, Attrs: map[string]string{"RootResourceId": root, "RestApiId": apiID}})
		api := &gateway.API{ID: apiID, Name: e.str(s, t, r.Properties["Name"]), Responses: map[string]gateway.Response{}}
		api.Log = func(line string) { e.logf("%s/%s %s", s.StackName, id, line) }
		paths := e.resourcePaths(s, t, apiID, root)
		if failed = e.stage(s, t, id, api); failed != nil {
			return
		}
		e.methods(ctx, s, t, api, paths)
		e.gatewayResponses(s, t, api)
		e.usagePlans(s, t, api)
		var ln net.Listener
		if ln, failed = listen(nextPort(), "API "+s.StackName+"/"+id); failed != nil {
			return
		}
		e.rewrites = append(e.rewrites, "https://"+apiID+".execute-api."+cfn.Region+"."+cfn.URLSuffix, "http://"+ln.Addr().String())
		e.serve(ln, api)
		e.Endpoints = append(e.Endpoints, Endpoint{Stack: s.StackName, LogicalID: id, Kind: "API", URL: "http://" + ln.Addr().String() + "/" + api.Stage + "/"})
	})
	return failed
}

func (e *Emulator) belongs(s *cloudassembly.Stack, t *cloudassembly.Template, r cloudassembly.Resource, apiID string) bool {
	return e.str(s, t, r.Properties["RestApiId"]) == apiID
}

// resourcePaths maps resource ids to their paths ("/" for the root).
func (e *Emulator) resourcePaths(s *cloudassembly.Stack, t *cloudassembly.Template, apiID, root string) map[string]string {
	type res struct{ parent, part string }
	byID := map[string]res{}
	e.each("AWS::ApiGateway::Resource", func(rs *cloudassembly.Stack, rt *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if rt != t || !e.belongs(s, t, r, apiID) {
			return
		}
		rid := localID(6, lowerDigits)
		e.eval.Set(t, id, cfn.Values{Ref: rid, Attrs: map[string]string{"ResourceId": rid}})
		byID[rid] = res{e.str(s, t, r.Properties["ParentId"]), e.str(s, t, r.Properties["PathPart"])}
	})
	paths := map[string]string{root: "/"}
	var path func(id string, depth int) string
	path = func(id string, depth int) string {
		if p, ok := paths[id]; ok {
			return p
		}
		r, ok := byID[id]
		if !ok || depth > 64 {
			return ""
		}
		parent := path(r.parent, depth+1)
		if parent == "" {
			return ""
		}
		p := strings.TrimSuffix(parent, "/") + "/" + r.part
		paths[id] = p
		return p
	}
	for id := range byID {
		path(id, 0)
	}
	return paths
}

// stage sets the API's stage name and its default method throttle.
func (e *Emulator) stage(s *cloudassembly.Stack, t *cloudassembly.Template, apiLogical string, api *gateway.API) error {
	e.each("AWS::ApiGateway::Deployment", func(_ *cloudassembly.Stack, dt *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if dt == t && e.belongs(s, t, r, api.ID) {
			e.eval.Set(t, id, cfn.Values{Ref: localID(6, lowerDigits)})
			if name := e.str(s, t, r.Properties["StageName"]); name != "" && api.Stage == "" {
				api.Stage = name
			}
		}
	})
	e.each("AWS::ApiGateway::Stage", func(_ *cloudassembly.Stack, st *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if st != t || !e.belongs(s, t, r, api.ID) {
			return
		}
		name := e.str(s, t, r.Properties["StageName"])
		e.eval.Set(t, id, cfn.Values{Ref: name})
		if api.Stage != "" && api.Stage != name {
			e.notEmulated(s, id, r.Type, "a second stage of the API; make local serves "+api.Stage)
			return
		}
		api.Stage = name
		for _, ms := range asList(r.Properties["MethodSettings"]) {
			m, _ := ms.(map[string]any)
			if m["HttpMethod"] != "*" || m["ResourcePath"] != "/*" {
				e.notEmulated(s, id, r.Type+" MethodSettings", "per-method settings are not emulated")
				continue
			}
			if rate, ok := m["ThrottlingRateLimit"].(float64); ok && rate > 0 {
				api.StageThrottle = gateway.NewBucket(rate, atoi(m["ThrottlingBurstLimit"]))
			}
		}
	})
	if api.Stage == "" {
		return fmt.Errorf("local: %s/%s: the API has no stage", s.StackName, apiLogical)
	}
	return nil
}

// methods builds the API's methods: authorizer, scopes, key, validator,
// integration.
func (e *Emulator) methods(ctx context.Context, s *cloudassembly.Stack, t *cloudassembly.Template, api *gateway.API, paths map[string]string) {
	authorizers := map[string]*gateway.Authorizer{}
	e.each("AWS::ApiGateway::Authorizer", func(_ *cloudassembly.Stack, at *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if at != t || !e.belongs(s, t, r, api.ID) {
			return
		}
		aid := localID(6, lowerDigits)
		e.eval.Set(t, id, cfn.Values{Ref: aid})
		if typ, _ := r.Properties["Type"].(string); typ != "COGNITO_USER_POOLS" {
			e.notEmulated(s, id, r.Type, "authorizer type "+typ+": only COGNITO_USER_POOLS is emulated; its methods answer 500")
			return
		}
		a := &gateway.Authorizer{Header: "Authorization"}
		if src, _ := r.Properties["IdentitySource"].(string); strings.HasPrefix(src, "method.request.header.") {
			a.Header = strings.TrimPrefix(src, "method.request.header.")
		}
		arns, _ := e.eval.Eval(s, t, r.Properties["ProviderARNs"])
		for _, arn := range asList(arns) {
			if str, ok := arn.(string); ok && e.pools[str] != nil {
				a.Pools = append(a.Pools, e.pools[str])
			} else {
				e.notEmulated(s, id, r.Type+" ProviderARNs", fmt.Sprintf("%v is no user pool of the assembly: its tokens are refused", arn))
			}
		}
		authorizers[aid] = a
	})
	validators := map[string][2]bool{}
	e.each("AWS::ApiGateway::RequestValidator", func(_ *cloudassembly.Stack, vt *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if vt == t && e.belongs(s, t, r, api.ID) {
			vid := localID(6, lowerDigits)
			e.eval.Set(t, id, cfn.Values{Ref: vid})
			body, _ := r.Properties["ValidateRequestBody"].(bool)
			params, _ := r.Properties["ValidateRequestParameters"].(bool)
			validators[vid] = [2]bool{body, params}
		}
	})
	models := map[string]map[string]any{}
	e.each("AWS::ApiGateway::Model", func(_ *cloudassembly.Stack, mt *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if mt == t && e.belongs(s, t, r, api.ID) {
			name := e.str(s, t, r.Properties["Name"])
			if name == "" {
				name = id
			}
			e.eval.Set(t, id, cfn.Values{Ref: name})
			schema, _ := r.Properties["Schema"].(map[string]any)
			models[name] = schema
			if extra := gateway.UnsupportedKeywords(schema); len(extra) > 0 {
				e.notEmulated(s, id, r.Type+" Schema", "keywords not checked: "+strings.Join(extra, ", "))
			}
		}
	})
	e.each("AWS::ApiGateway::Method", func(_ *cloudassembly.Stack, mt *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if mt != t || !e.belongs(s, t, r, api.ID) {
			return
		}
		p := r.Properties
		path, ok := paths[e.str(s, t, p["ResourceId"])]
		if !ok {
			e.notEmulated(s, id, r.Type, "its resource is not in the API")
			return
		}
		m := &gateway.Method{HTTPMethod: e.str(s, t, p["HttpMethod"]), ResourcePath: path, ResourceID: e.str(s, t, p["ResourceId"])}
		m.KeyRequired, _ = p["ApiKeyRequired"].(bool)
		switch typ := e.str(s, t, p["AuthorizationType"]); typ {
		case "COGNITO_USER_POOLS":
			m.Authorizer = authorizers[e.str(s, t, p["AuthorizerId"])]
			if m.Authorizer == nil {
				m.Authorizer = &gateway.Authorizer{} // refuses every token
			}
			scopes, _ := e.eval.Eval(s, t, p["AuthorizationScopes"])
			for _, sc := range asList(scopes) {
				if str, ok := sc.(string); ok {
					m.Scopes = append(m.Scopes, str)
				}
			}
		case "", "NONE":
		default:
			e.notEmulated(s, id, r.Type+" AuthorizationType", typ+" is not emulated: the method refuses every request (401)")
			m.Authorizer = &gateway.Authorizer{}
		}
		if v, ok := validators[e.str(s, t, p["RequestValidatorId"])]; ok {
			m.ValidateParameters = v[1]
			if v[1] {
				params, _ := p["RequestParameters"].(map[string]any)
				for k, required := range params {
					if req, _ := required.(bool); req {
						m.RequiredParameters = append(m.RequiredParameters, k)
					}
				}
				sort.Strings(m.RequiredParameters)
			}
			if v[0] {
				if reqModels, ok := p["RequestModels"].(map[string]any); ok {
					m.BodySchemas = map[string]map[string]any{}
					for ct, ref := range reqModels {
						if schema, ok := models[e.str(s, t, ref)]; ok {
							m.BodySchemas[ct] = schema
						}
					}
				}
			}
		}
		integ, _ := p["Integration"].(map[string]any)
		switch typ, _ := integ["Type"].(string); typ {
		case "AWS_PROXY":
			uri := e.str(s, t, integ["Uri"])
			ref, err := e.function(ctx, uri)
			if errors.Is(err, errReported) {
				break
			}
			if err != nil {
				name := id
				if ref != nil {
					name = ref.id
				}
				e.notEmulated(s, name, "AWS::Lambda::Function", err.Error()+"; "+m.HTTPMethod+" "+path+" answers 502")
				break
			}
			m.Function, m.FunctionTimeout = ref.fn, timeout(ref.tpl.Resources[ref.id])
		default:
			e.notEmulated(s, id, r.Type+" Integration", "integration type "+typ+" is not emulated: "+m.HTTPMethod+" "+path+" answers 502")
		}
		api.Methods = append(api.Methods, m)
	})
}

// gatewayResponses reads the template's gateway responses: status, static
// headers and the application/json template.
func (e *Emulator) gatewayResponses(s *cloudassembly.Stack, t *cloudassembly.Template, api *gateway.API) {
	e.each("AWS::ApiGateway::GatewayResponse", func(_ *cloudassembly.Stack, gt *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if gt != t || !e.belongs(s, t, r, api.ID) {
			return
		}
		p := r.Properties
		resp := gateway.Response{Headers: map[string]string{}}
		resp.Status, _ = strconv.Atoi(e.str(s, t, p["StatusCode"]))
		params, _ := p["ResponseParameters"].(map[string]any)
		for k, v := range params {
			name, ok := strings.CutPrefix(k, "gatewayresponse.header.")
			value, _ := v.(string)
			if !ok || len(value) < 2 || value[0] != '\'' || value[len(value)-1] != '\'' {
				e.notEmulated(s, id, r.Type+" ResponseParameters", k+": only static header values ('...') are emulated")
				continue
			}
			resp.Headers[name] = value[1 : len(value)-1]
		}
		templates, _ := p["ResponseTemplates"].(map[string]any)
		for ct, v := range templates {
			if ct != "application/json" {
				e.notEmulated(s, id, r.Type+" ResponseTemplates", ct+": only application/json is rendered")
				continue
			}
			resp.Template, _ = v.(string)
			for _, variable := range gateway.Unsupported(resp.Template) {
				e.notEmulated(s, id, r.Type+" ResponseTemplates", variable+" is not filled in")
			}
		}
		api.Responses[e.str(s, t, p["ResponseType"])] = resp
	})
}

// usagePlans attaches the usage plans of the API's stage and their keys.
func (e *Emulator) usagePlans(s *cloudassembly.Stack, t *cloudassembly.Template, api *gateway.API) {
	keys := e.apiKeys
	e.each("AWS::ApiGateway::ApiKey", func(ks *cloudassembly.Stack, kt *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if _, done := e.apiKeyIDs[cfn.Key(kt, id)]; done {
			return
		}
		k := &apiKey{id: localID(10, lowerDigits), value: e.str(ks, kt, r.Properties["Value"]), enabled: true}
		if k.value == "" {
			k.value = localID(40, alnum)
		}
		if en, ok := r.Properties["Enabled"].(bool); ok {
			k.enabled = en
		}
		e.eval.Set(kt, id, cfn.Values{Ref: k.id, Attrs: map[string]string{"APIKeyId": k.id}})
		e.apiKeyIDs[cfn.Key(kt, id)] = k.id
		keys[k.id] = k
	})
	plans := map[string]*gateway.UsagePlan{}
	e.each("AWS::ApiGateway::UsagePlan", func(ps *cloudassembly.Stack, pt *cloudassembly.Template, id string, r cloudassembly.Resource) {
		pid := localID(6, lowerDigits)
		e.eval.Set(pt, id, cfn.Values{Ref: pid, Attrs: map[string]string{"Id": pid}})
		for _, st := range asList(r.Properties["ApiStages"]) {
			m, _ := st.(map[string]any)
			if e.str(ps, pt, m["ApiId"]) != api.ID || e.str(ps, pt, m["Stage"]) != api.Stage {
				continue
			}
			plan := &gateway.UsagePlan{Name: e.str(ps, pt, r.Properties["UsagePlanName"])}
			if th, ok := r.Properties["Throttle"].(map[string]any); ok {
				plan.Rate, _ = th["RateLimit"].(float64)
				plan.Burst = atoi(th["BurstLimit"])
			}
			if q, ok := r.Properties["Quota"].(map[string]any); ok {
				plan.Quota, plan.QuotaPeriod = atoi(q["Limit"]), e.str(ps, pt, q["Period"])
				if atoi(q["Offset"]) != 0 {
					e.notEmulated(ps, id, r.Type+" Quota.Offset", "quota periods start at the period's beginning (UTC)")
				}
			}
			plans[pid] = plan
		}
	})
	e.each("AWS::ApiGateway::UsagePlanKey", func(ks *cloudassembly.Stack, kt *cloudassembly.Template, id string, r cloudassembly.Resource) {
		plan := plans[e.str(ks, kt, r.Properties["UsagePlanId"])]
		k := keys[e.str(ks, kt, r.Properties["KeyId"])]
		if plan == nil || k == nil {
			return
		}
		api.AddKey(&gateway.APIKey{ID: k.id, Value: k.value, Enabled: k.enabled, Plan: plan})
	})
}

// apiKey is one AWS::ApiGateway::ApiKey.
type apiKey struct {
	id, value string
	enabled   bool
}
