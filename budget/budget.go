// Package budget checks the CloudFormation templates of a synthesized cloud
// assembly (cdk.out) against AWS limits that otherwise only show up as a
// failed deploy, minutes in and followed by a rollback: the resources,
// outputs and size of a template, the inline policies of an IAM role, and the
// resource-based policy and the environment of a Lambda function; and, over
// all templates of an assembly together, the API Gateway usage plans and API
// keys of an account in a region.
//
// It reads only the JSON files a synth writes, so it does not import the CDK
// and is cheap to import and fast to run, e.g. right after a synth in CI.
//
// Values only known at deploy time (a region, an ARN) are estimated, high
// rather than low (see estimate.go), so a template that passes fits; one
// within a few percent of a limit may be flagged although it would deploy.
package budget

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/scopegate/scopegate/contract"
)

// Limits are the AWS limits checked. A limit of zero or less is not checked.
type Limits struct {
	ResourcesPerTemplate      int // CloudFormation
	OutputsPerTemplate        int // CloudFormation
	TemplateBytes             int // CloudFormation, for a template uploaded through S3, as the CDK deploys
	RoleInlinePolicyChars     int // IAM: all inline policies of one role together, whitespace not counted
	LambdaResourcePolicyBytes int // Lambda: a function's resource-based policy
	LambdaEnvironmentBytes    int // Lambda: all environment variable names and values of a function together

	// Quotas of an account in a region, which all stacks deployed there
	// share. CheckDir counts them over all templates of the assembly
	// together; CheckTemplate, which sees one template, does not check them.
	UsagePlansPerRegion int // API Gateway: AWS::ApiGateway::UsagePlan
	APIKeysPerRegion    int // API Gateway: AWS::ApiGateway::ApiKey
}

// DefaultLimits returns the limits AWS sets. Those per template, role and
// function cannot be raised. Of the quotas per account and region, AWS
// raises UsagePlansPerRegion on request (through Service Quotas); a caller
// whose quota was raised passes the higher number. AWS documents
// APIKeysPerRegion as fixed. A caller whose account already has usage plans
// or API keys in the region that the assembly does not deploy (other apps,
// keys made by hand) passes the quota less those.
func DefaultLimits() Limits {
	return Limits{
		ResourcesPerTemplate:      500,
		OutputsPerTemplate:        200,
		TemplateBytes:             1 << 20,
		RoleInlinePolicyChars:     10_240,
		LambdaResourcePolicyBytes: 20_480,
		LambdaEnvironmentBytes:    4_096,
		UsagePlansPerRegion:       contract.UsagePlansPerRegion,
		APIKeysPerRegion:          contract.APIKeysPerRegion,
	}
}

// The names of the limits, as in Finding.Limit.
const (
	LimitResources            = "CloudFormation resources per template"
	LimitOutputs              = "CloudFormation outputs per template"
	LimitTemplateBytes        = "CloudFormation template bytes"
	LimitRoleInlinePolicy     = "IAM inline policy characters per role"
	LimitLambdaResourcePolicy = "Lambda resource-based policy bytes"
	LimitLambdaEnvironment    = "Lambda environment variable bytes"
	LimitUsagePlans           = "API Gateway usage plans per region"
	LimitAPIKeys              = "API Gateway API keys per region"
)

// Advice says, for a CloudFormation resource type ("AWS::ApiGateway::Method")
// or for the pseudo keys "outputs" and "environment", which configuration key
// or construct prop grows it, e.g. "routes (ScopedAPIProps.Routes)". A
// finding cites the advice of whatever contributes most to it.
type Advice map[string]string

// The Advice keys that are not resource types.
const (
	AdviceOutputs     = "outputs"
	AdviceEnvironment = "environment"
)

// Finding is one limit that one template, or all templates together,
// pass.
type Finding struct {
	// Template is the file name, e.g. "WeatherEvents.template.json", or ""
	// for a quota per account and region, which counts all templates of the
	// assembly together.
	Template string
	Resource string // logical id of the role or function concerned, "" for template-wide limits
	Limit    string // one of the Limit... names
	Count    int    // what the template (or all of them) has, estimated where values are only known at deploy time
	Max      int
	// Share is what contributes most, e.g. "300 AWS::ApiGateway::Method";
	// among resource types, the largest one that has advice; for a quota
	// per account and region, the template with the most, e.g.
	// "640 in WeatherEvents.template.json". "" when there is nothing to
	// single out.
	Share  string
	Advice string // what grows it, from Advice; "" if none applies
}

// Error describes the finding on one line, e.g.
//
//	WeatherEvents.template.json: CloudFormation resources per template: 512, limit 500 (largest share: 300 AWS::ApiGateway::Method; to change: routes (ScopedAPIProps.Routes))
//	all templates: API Gateway API keys per region: 10012, limit 10000 (largest share: 640 in WeatherEvents.template.json; to change: clients (AuthServerProps.Clients))
func (f Finding) Error() string {
	var b strings.Builder
	if f.Template == "" {
		b.WriteString("all templates: ")
	} else {
		b.WriteString(f.Template + ": ")
	}
	if f.Resource != "" {
		b.WriteString(f.Resource + ": ")
	}
	fmt.Fprintf(&b, "%s: %d, limit %d", f.Limit, f.Count, f.Max)
	var notes []string
	if f.Share != "" {
		notes = append(notes, "largest share: "+f.Share)
	}
	if f.Advice != "" {
		notes = append(notes, "to change: "+f.Advice)
	}
	if len(notes) > 0 {
		b.WriteString(" (" + strings.Join(notes, "; ") + ")")
	}
	return b.String()
}

// Usage is what a template uses of the template-wide limits.
// ResourcesByType also gives its share of the quotas per account and
// region, e.g. ResourcesByType["AWS::ApiGateway::ApiKey"].
type Usage struct {
	Resources       int
	Outputs         int
	Bytes           int
	ResourcesByType map[string]int
}

// Count measures a template.
func Count(template []byte) (Usage, error) {
	t, err := parse(template)
	if err != nil {
		return Usage{}, fmt.Errorf("budget: %w", err)
	}
	return t.usage(), nil
}

// CheckTemplate checks one template's JSON; name is its file name, used in
// the findings. A template that fits has no findings. The quotas per account
// and region are not checked, as they count all templates together: see
// CheckDir.
func CheckTemplate(name string, template []byte, limits Limits, advice Advice) ([]Finding, error) {
	t, err := parse(template)
	if err != nil {
		return nil, fmt.Errorf("budget: %s: %w", name, err)
	}
	return t.check(name, limits, advice), nil
}

// CheckDir checks every *.template.json file in dir, a cloud assembly, in
// sorted order. Top-level and nested stacks are both there (nested ones as
// *.nested.template.json); the assemblies of stages are subdirectories
// (assembly-*) and need a call each.
//
// After the findings of each template come those of the quotas per account
// and region (UsagePlansPerRegion, APIKeysPerRegion), which add up the
// resources of all the templates in dir: any stack may deploy to the same
// account and region as the others, and those share the quota. (Stacks
// bound for other accounts or regions are counted too, so the check errs
// high; a stage's assembly, checked by its own call, is not added in.)
//
// It returns the errors.Join of all findings, each a Finding, or nil when
// everything fits; or an error naming the file that cannot be read or
// parsed.
func CheckDir(dir string, limits Limits, advice Advice) error {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return fmt.Errorf("budget: %w", err)
	}
	var findings []error
	var shares []templateShare
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".template.json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("budget: %w", err) // names the file
		}
		t, err := parse(data)
		if err != nil {
			return fmt.Errorf("budget: %s: %w", path, err)
		}
		for _, f := range t.check(e.Name(), limits, advice) {
			findings = append(findings, f)
		}
		shares = append(shares, templateShare{e.Name(), t.usage().ResourcesByType})
	}
	for _, f := range checkRegion(shares, limits, advice) {
		findings = append(findings, f)
	}
	return errors.Join(findings...)
}

// templateShare is what one template has of the resource types that the
// quotas per account and region count.
type templateShare struct {
	name   string
	byType map[string]int
}

// checkRegion checks the quotas per account and region against the
// resources of all templates together, citing the template with the most
// (the first in order on a tie) and the advice for the resource type.
func checkRegion(templates []templateShare, limits Limits, advice Advice) []Finding {
	quotas := []struct {
		typ, limit string
		max        int
	}{
		{"AWS::ApiGateway::UsagePlan", LimitUsagePlans, limits.UsagePlansPerRegion},
		{"AWS::ApiGateway::ApiKey", LimitAPIKeys, limits.APIKeysPerRegion},
	}
	var out []Finding
	for _, q := range quotas {
		total, top, topN := 0, "", 0
		for _, t := range templates {
			n := t.byType[q.typ]
			total += n
			if n > topN {
				top, topN = t.name, n
			}
		}
		if !over(total, q.max) {
			continue
		}
		out = append(out, Finding{
			Limit: q.limit, Count: total, Max: q.max,
			Share: fmt.Sprintf("%d in %s", topN, top), Advice: advice[q.typ],
		})
	}
	return out
}

// parsed is what the checks need of a template.
type parsed struct {
	bytes     int
	outputs   int
	ids       []string // logical ids of the resources, sorted
	resources map[string]resource
}

type resource struct {
	Type string
	// Properties, decoded only for the types the checks look into, with
	// numbers kept as written so that their length is right.
	Properties map[string]any
	size       int // bytes of the resource in the file
}

// inspected are the types whose properties the checks read.
var inspected = map[string]bool{
	"AWS::IAM::Role":          true,
	"AWS::IAM::Policy":        true,
	"AWS::IAM::RolePolicy":    true,
	"AWS::Lambda::Function":   true,
	"AWS::Lambda::Permission": true,
}

func parse(data []byte) (*parsed, error) {
	var raw struct {
		Resources map[string]json.RawMessage
		Outputs   map[string]json.RawMessage
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	t := &parsed{
		bytes:     len(data),
		outputs:   len(raw.Outputs),
		ids:       slices.Sorted(maps.Keys(raw.Resources)),
		resources: make(map[string]resource, len(raw.Resources)),
	}
	for id, r := range raw.Resources {
		var head struct {
			Type       string
			Properties json.RawMessage
		}
		if err := json.Unmarshal(r, &head); err != nil {
			return nil, fmt.Errorf("resource %s: %w", id, err)
		}
		res := resource{Type: head.Type, size: len(r)}
		if inspected[head.Type] && len(head.Properties) > 0 {
			d := json.NewDecoder(bytes.NewReader(head.Properties))
			d.UseNumber()
			if err := d.Decode(&res.Properties); err != nil {
				return nil, fmt.Errorf("resource %s: properties: %w", id, err)
			}
		}
		t.resources[id] = res
	}
	return t, nil
}

func (t *parsed) usage() Usage {
	u := Usage{
		Resources:       len(t.resources),
		Outputs:         t.outputs,
		Bytes:           t.bytes,
		ResourcesByType: map[string]int{},
	}
	for _, r := range t.resources {
		u.ResourcesByType[r.Type]++
	}
	return u
}

func (t *parsed) check(name string, limits Limits, advice Advice) []Finding {
	var out []Finding
	u := t.usage()
	if over(u.Resources, limits.ResourcesPerTemplate) {
		typ, n := largest(u.ResourcesByType, advice)
		out = append(out, Finding{
			Template: name, Limit: LimitResources, Count: u.Resources, Max: limits.ResourcesPerTemplate,
			Share: fmt.Sprintf("%d %s", n, typ), Advice: advice[typ],
		})
	}
	if over(u.Outputs, limits.OutputsPerTemplate) {
		out = append(out, Finding{
			Template: name, Limit: LimitOutputs, Count: u.Outputs, Max: limits.OutputsPerTemplate,
			Advice: advice[AdviceOutputs],
		})
	}
	if over(u.Bytes, limits.TemplateBytes) {
		sizes := map[string]int{}
		for _, r := range t.resources {
			sizes[r.Type] += r.size
		}
		f := Finding{Template: name, Limit: LimitTemplateBytes, Count: u.Bytes, Max: limits.TemplateBytes}
		if typ, n := largest(sizes, advice); typ != "" {
			f.Share, f.Advice = fmt.Sprintf("%d bytes of %s", n, typ), advice[typ]
		}
		out = append(out, f)
	}
	e := estimator{types: make(map[string]string, len(t.resources))}
	for id, r := range t.resources {
		e.types[id] = r.Type
	}
	if limits.RoleInlinePolicyChars > 0 {
		out = append(out, t.checkRoles(name, e, limits.RoleInlinePolicyChars, advice)...)
	}
	if limits.LambdaResourcePolicyBytes > 0 {
		out = append(out, t.checkPermissions(name, e, limits.LambdaResourcePolicyBytes, advice)...)
	}
	if limits.LambdaEnvironmentBytes > 0 {
		out = append(out, t.checkEnvironments(name, e, limits.LambdaEnvironmentBytes, advice)...)
	}
	return out
}

func over(n, limit int) bool { return limit > 0 && n > limit }

// largest returns the key of shares with the largest count among those that
// have advice, as that is what the reader can act on, or the largest of all
// when none has. Ties go to the first key in sorted order.
func largest(shares map[string]int, advice Advice) (key string, n int) {
	found, advised := false, false
	for _, k := range slices.Sorted(maps.Keys(shares)) {
		_, a := advice[k]
		if !found || a && !advised || a == advised && shares[k] > n {
			key, n, found, advised = k, shares[k], true, a
		}
	}
	return key, n
}

// checkRoles adds up, for each role, the inline policies IAM counts against
// it: the role's own Policies, and each AWS::IAM::Policy (and
// AWS::IAM::RolePolicy) attached to it by Ref, which is how the CDK attaches
// grants (the role's DefaultPolicy). Managed policies do not count.
func (t *parsed) checkRoles(name string, e estimator, limit int, advice Advice) []Finding {
	shares := map[string]map[string]int{} // role -> source type -> characters
	add := func(role, typ string, n int) {
		if r, ok := t.resources[role]; !ok || r.Type != "AWS::IAM::Role" {
			return // not a role of this template, so not the one checked here
		}
		if shares[role] == nil {
			shares[role] = map[string]int{}
		}
		shares[role][typ] += n
	}
	for _, id := range t.ids {
		r := t.resources[id]
		switch r.Type {
		case "AWS::IAM::Role":
			policies, ok := r.Properties["Policies"]
			if !ok {
				break
			}
			n := 0
			if list, ok := policies.([]any); ok {
				for _, p := range list {
					if m, ok := p.(map[string]any); ok && m["PolicyDocument"] != nil {
						n += e.jsonLen(m["PolicyDocument"])
					} else {
						n += e.jsonLen(p) // an Fn::If, say: its whole JSON
					}
				}
			} else {
				n = e.jsonLen(policies)
			}
			add(id, r.Type, n)
		case "AWS::IAM::Policy":
			roles, _ := r.Properties["Roles"].([]any)
			n := e.jsonLen(r.Properties["PolicyDocument"])
			seen := map[string]bool{} // a role listed twice has the policy once
			for _, role := range roles {
				if ref := refTo(role); ref != "" && !seen[ref] {
					seen[ref] = true
					add(ref, r.Type, n)
				}
			}
		case "AWS::IAM::RolePolicy":
			if ref := refTo(r.Properties["RoleName"]); ref != "" {
				add(ref, r.Type, e.jsonLen(r.Properties["PolicyDocument"]))
			}
		}
	}
	var out []Finding
	for _, role := range slices.Sorted(maps.Keys(shares)) {
		total := 0
		for _, n := range shares[role] {
			total += n
		}
		if !over(total, limit) {
			continue
		}
		typ, n := largest(shares[role], advice)
		out = append(out, Finding{
			Template: name, Resource: role, Limit: LimitRoleInlinePolicy, Count: total, Max: limit,
			Share: fmt.Sprintf("%d characters in %s", n, typ), Advice: advice[typ],
		})
	}
	return out
}

// The resource-based policy of a function, as Lambda builds it from the
// stack's AWS::Lambda::Permission resources, one statement each:
//
//	{"Version":"2012-10-17","Id":"default","Statement":[...]}
//	{"Sid":"...","Effect":"Allow","Principal":{"Service":"..."},"Action":"...","Resource":"<function ARN>",
//	 "Condition":{"ArnLike":{"AWS:SourceArn":"..."},"StringEquals":{"AWS:SourceAccount":"..."}}}
const (
	// The envelope is 54 bytes; rounded up.
	policyEnvelope = 100
	// The statement id, which CloudFormation generates.
	sidLen        = 64
	statementBase = len(`{"Sid":"","Effect":"Allow","Principal":{"Service":""},"Action":"","Resource":""}`) + sidLen + arnLen
	conditionBase = len(`,"Condition":{}`)
	sourceArnBase = len(`"ArnLike":{"AWS:SourceArn":""}`)
	sourceAccBase = len(`"StringEquals":{"AWS:SourceAccount":""}`)
)

// checkPermissions estimates, for each function, the resource-based policy
// made of the AWS::Lambda::Permission resources that name it by
// {"Ref": fn} or {"Fn::GetAtt": [fn, "Arn"]}, as the CDK does. A permission
// of an alias or a version is part of that one's policy, not the function's.
func (t *parsed) checkPermissions(name string, e estimator, limit int, advice Advice) []Finding {
	type policy struct{ statements, bytes int }
	policies := map[string]*policy{}
	for _, id := range t.ids {
		r := t.resources[id]
		if r.Type != "AWS::Lambda::Permission" {
			continue
		}
		fn := functionOf(r.Properties["FunctionName"])
		if f, ok := t.resources[fn]; !ok || f.Type != "AWS::Lambda::Function" {
			continue
		}
		p := r.Properties
		n := statementBase + e.strLen(p["Principal"]) + e.strLen(p["Action"])
		var conds []int
		if v, ok := p["SourceArn"]; ok {
			conds = append(conds, sourceArnBase+e.strLen(v))
		}
		if v, ok := p["SourceAccount"]; ok {
			conds = append(conds, sourceAccBase+e.strLen(v))
		}
		if len(conds) > 0 {
			n += conditionBase + len(conds) - 1 // the commas between them
			for _, c := range conds {
				n += c
			}
		}
		if policies[fn] == nil {
			policies[fn] = &policy{bytes: policyEnvelope - 1} // no comma before the first statement
		}
		policies[fn].statements++
		policies[fn].bytes += n + 1
	}
	var out []Finding
	for _, fn := range slices.Sorted(maps.Keys(policies)) {
		p := policies[fn]
		if !over(p.bytes, limit) {
			continue
		}
		out = append(out, Finding{
			Template: name, Resource: fn, Limit: LimitLambdaResourcePolicy, Count: p.bytes, Max: limit,
			Share:  fmt.Sprintf("%d AWS::Lambda::Permission", p.statements),
			Advice: advice["AWS::Lambda::Permission"],
		})
	}
	return out
}

// checkEnvironments adds up, for each function, the names and values of its
// environment variables.
func (t *parsed) checkEnvironments(name string, e estimator, limit int, advice Advice) []Finding {
	var out []Finding
	for _, id := range t.ids {
		r := t.resources[id]
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		env, _ := r.Properties["Environment"].(map[string]any)
		vars, ok := env["Variables"]
		if !ok {
			continue
		}
		total, top, topLen := 0, "", -1
		m, isMap := vars.(map[string]any)
		if _, _, fn := intrinsic(vars); fn || !isMap {
			total = e.strLen(vars) // an intrinsic (Fn::If, say) that yields the whole map
		} else {
			for _, k := range slices.Sorted(maps.Keys(m)) {
				n := len(k) + e.strLen(m[k])
				total += n
				if n > topLen {
					top, topLen = k, n
				}
			}
		}
		if !over(total, limit) {
			continue
		}
		f := Finding{
			Template: name, Resource: id, Limit: LimitLambdaEnvironment, Count: total, Max: limit,
			Advice: advice[AdviceEnvironment],
		}
		if top != "" {
			f.Share = fmt.Sprintf("%s, %d bytes", top, topLen)
		}
		out = append(out, f)
	}
	return out
}

// refTo returns the logical id v names if v is {"Ref": id}, or "".
func refTo(v any) string {
	if fn, arg, ok := intrinsic(v); ok && fn == "Ref" {
		id, _ := arg.(string)
		return id
	}
	return ""
}

// functionOf returns the logical id a FunctionName names by {"Ref": fn} or
// {"Fn::GetAtt": [fn, "Arn"]} (or "fn.Arn"), or "".
func functionOf(v any) string {
	fn, arg, ok := intrinsic(v)
	if !ok {
		return ""
	}
	switch fn {
	case "Ref":
		id, _ := arg.(string)
		return id
	case "Fn::GetAtt":
		switch a := arg.(type) {
		case []any:
			if len(a) == 2 && a[1] == "Arn" {
				id, _ := a[0].(string)
				return id
			}
		case string:
			if id, attr, ok := strings.Cut(a, "."); ok && attr == "Arn" {
				return id
			}
		}
	}
	return ""
}
