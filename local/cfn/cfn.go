// Package cfn evaluates CloudFormation intrinsic functions of a synthesized
// template to local values: what make local needs to know which user pool an
// authorizer trusts, which function a method invokes, and what a function's
// environment and a stack's outputs hold once "deployed" on this machine.
//
// It follows the CloudFormation user guide's "Intrinsic function reference"
// for Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split,
// Fn::ImportValue, Fn::Base64 and Fn::GetAZs (one local zone), and "Pseudo
// parameters reference" for AWS::Region, AWS::AccountId, AWS::Partition,
// AWS::URLSuffix, AWS::StackName, AWS::StackId and AWS::NoValue. Conditions
// (Fn::If and friends) are not evaluated: a value that needs one is an error
// the caller lists as not emulated.
package cfn

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/scopegate/scopegate/cloudassembly"
)

// Local pseudo parameter values.
const (
	Region    = "us-east-1"
	AccountID = "000000000000"
	Partition = "aws"
	URLSuffix = "amazonaws.com"
)

// Values are what the emulator knows of a resource: its Ref value and
// attributes. A resource not in Values gets a name made from its stack and
// logical id, and no attributes but Arn.
type Values struct {
	Ref   string
	Attrs map[string]string
}

// Evaluator evaluates intrinsic functions over one assembly.
type Evaluator struct {
	Assembly *cloudassembly.Assembly
	// Resources holds the local values of emulated resources, by Key.
	Resources map[string]Values
}

// Key names a resource of a template: "<template file>#<logical id>".
func Key(t *cloudassembly.Template, id string) string { return t.File + "#" + id }

// New returns an evaluator with no resource values yet.
func New(a *cloudassembly.Assembly) *Evaluator {
	return &Evaluator{Assembly: a, Resources: map[string]Values{}}
}

// Set records a resource's local values.
func (e *Evaluator) Set(t *cloudassembly.Template, id string, v Values) { e.Resources[Key(t, id)] = v }

// String evaluates v in template t of stack s to a string.
func (e *Evaluator) String(s *cloudassembly.Stack, t *cloudassembly.Template, v any) (string, error) {
	out, err := e.Eval(s, t, v)
	if err != nil {
		return "", err
	}
	switch out := out.(type) {
	case string:
		return out, nil
	case float64:
		return strconv.FormatFloat(out, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(out), nil
	}
	return "", fmt.Errorf("a %T where a string is needed", out)
}

// Eval evaluates every intrinsic function in v.
func (e *Evaluator) Eval(s *cloudassembly.Stack, t *cloudassembly.Template, v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			y, err := e.Eval(s, t, x)
			if err != nil {
				return nil, err
			}
			out = append(out, y)
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for fn, arg := range v {
				if fn == "Ref" || strings.HasPrefix(fn, "Fn::") {
					return e.call(s, t, fn, arg)
				}
			}
		}
		out := map[string]any{}
		for k, x := range v {
			y, err := e.Eval(s, t, x)
			if err != nil {
				return nil, err
			}
			out[k] = y
		}
		return out, nil
	}
	return v, nil
}

func (e *Evaluator) call(s *cloudassembly.Stack, t *cloudassembly.Template, fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Ref of a %T", arg)
		}
		return e.ref(s, t, name)
	case "Fn::GetAtt":
		var id, attr string
		switch a := arg.(type) {
		case []any:
			if len(a) == 2 {
				id, _ = a[0].(string)
				attr, _ = a[1].(string)
			}
		case string:
			id, attr, _ = strings.Cut(a, ".")
		}
		if id == "" || attr == "" {
			return nil, fmt.Errorf("Fn::GetAtt %v: want [logicalId, attribute]", arg)
		}
		return e.getAtt(s, t, id, attr)
	case "Fn::Join":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Join: want [delimiter, list]")
		}
		sep, _ := a[0].(string)
		list, err := e.Eval(s, t, a[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Join of a %T", list)
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			str, err := e.String(s, t, it)
			if err != nil {
				return nil, fmt.Errorf("Fn::Join: %w", err)
			}
			parts = append(parts, str)
		}
		return strings.Join(parts, sep), nil
	case "Fn::Split":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Split: want [delimiter, string]")
		}
		sep, _ := a[0].(string)
		str, err := e.String(s, t, a[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Split: %w", err)
		}
		var out []any
		for _, p := range strings.Split(str, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Select":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Select: want [index, list]")
		}
		idx, err := e.String(s, t, a[0])
		if err != nil {
			return nil, err
		}
		i, err := strconv.Atoi(idx)
		if err != nil {
			return nil, fmt.Errorf("Fn::Select index %q", idx)
		}
		list, err := e.Eval(s, t, a[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select index %d out of range", i)
		}
		return items[i], nil
	case "Fn::Sub":
		return e.sub(s, t, arg)
	case "Fn::ImportValue":
		name, err := e.String(s, t, arg)
		if err != nil {
			return nil, err
		}
		return e.importValue(name)
	case "Fn::Base64":
		str, err := e.String(s, t, arg)
		if err != nil {
			return nil, err
		}
		return base64.StdEncoding.EncodeToString([]byte(str)), nil
	case "Fn::GetAZs":
		return []any{Region + "a"}, nil
	}
	return nil, fmt.Errorf("%s is not evaluated locally", fn)
}

func (e *Evaluator) ref(s *cloudassembly.Stack, t *cloudassembly.Template, name string) (any, error) {
	switch name {
	case "AWS::Region":
		return Region, nil
	case "AWS::AccountId":
		return AccountID, nil
	case "AWS::Partition":
		return Partition, nil
	case "AWS::URLSuffix":
		return URLSuffix, nil
	case "AWS::StackName":
		return s.StackName, nil
	case "AWS::StackId":
		// The shape CloudFormation documents: the UUID's fifth group is what
		// the CDK's generated names take (Fn::Select 4 of Fn::Split "-").
		return "arn:aws:cloudformation:" + Region + ":" + AccountID + ":stack/" + s.StackName + "/00000000-0000-0000-0000-" + localHex(s.StackName), nil
	case "AWS::NoValue":
		return nil, nil
	}
	if _, ok := t.Resources[name]; ok {
		if v, ok := e.Resources[Key(t, name)]; ok && v.Ref != "" {
			return v.Ref, nil
		}
		return physicalName(s, name), nil
	}
	if t.Parent != nil {
		if params, ok := t.Parent.Resources[t.ParentID].Properties["Parameters"].(map[string]any); ok {
			if v, ok := params[name]; ok {
				return e.Eval(s, t.Parent, v)
			}
		}
	}
	if p, ok := t.Parameters[name].(map[string]any); ok {
		if d, ok := p["Default"]; ok {
			return d, nil
		}
	}
	return nil, fmt.Errorf("Ref %s: no such resource or parameter", name)
}

func (e *Evaluator) getAtt(s *cloudassembly.Stack, t *cloudassembly.Template, id, attr string) (any, error) {
	r, ok := t.Resources[id]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such resource", id, attr)
	}
	if v, ok := e.Resources[Key(t, id)]; ok {
		if a, ok := v.Attrs[attr]; ok {
			return a, nil
		}
	}
	if r.Type == "AWS::CloudFormation::Stack" && strings.HasPrefix(attr, "Outputs.") {
		for _, nested := range s.Templates {
			if nested.Parent == t && nested.ParentID == id {
				out, ok := nested.Outputs[strings.TrimPrefix(attr, "Outputs.")]
				if !ok {
					return nil, fmt.Errorf("Fn::GetAtt %s.%s: the nested stack has no such output", id, attr)
				}
				return e.Eval(s, nested, out.Value)
			}
		}
	}
	if attr == "Arn" {
		return LocalARN(r.Type, physicalName(s, id)), nil
	}
	return nil, fmt.Errorf("Fn::GetAtt %s.%s: attribute of %s not emulated", id, attr, r.Type)
}

// LocalARN is the ARN make local gives a resource of cfnType named name.
func LocalARN(cfnType, name string) string {
	service := strings.ToLower(strings.Split(cfnType, "::")[1])
	return "arn:" + Partition + ":" + service + ":" + Region + ":" + AccountID + ":" + name
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (e *Evaluator) sub(s *cloudassembly.Stack, t *cloudassembly.Template, arg any) (any, error) {
	str, ok := arg.(string)
	vars := map[string]any{}
	if !ok {
		a, isList := arg.([]any)
		if !isList || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub: want a string or [string, variables]")
		}
		str, _ = a[0].(string)
		vars, _ = a[1].(map[string]any)
	}
	var failed error
	out := subVar.ReplaceAllStringFunc(str, func(m string) string {
		name := m[2 : len(m)-1]
		var v string
		var err error
		switch val, isVar := vars[name]; {
		case isVar:
			v, err = e.String(s, t, val)
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			id, attr, _ := strings.Cut(name, ".")
			var got any
			if got, err = e.getAtt(s, t, id, attr); err == nil {
				v, err = e.String(s, t, got)
			}
		default:
			var got any
			if got, err = e.ref(s, t, name); err == nil {
				v, err = e.String(s, t, got)
			}
		}
		if err != nil && failed == nil {
			failed = fmt.Errorf("Fn::Sub ${%s}: %w", name, err)
		}
		return v
	})
	if failed != nil {
		return nil, failed
	}
	return strings.ReplaceAll(out, "${!", "${"), nil
}

func (e *Evaluator) importValue(name string) (any, error) {
	for _, s := range e.Assembly.Stacks {
		for _, t := range s.Templates {
			keys := make([]string, 0, len(t.Outputs))
			for k := range t.Outputs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				o := t.Outputs[k]
				if o.Export == nil {
					continue
				}
				if exported, err := e.String(s, t, o.Export.Name); err == nil && exported == name {
					return e.Eval(s, t, o.Value)
				}
			}
		}
	}
	return nil, fmt.Errorf("Fn::ImportValue %s: no stack of the assembly exports it", name)
}

// physicalName is the name CloudFormation would generate for a resource
// without one: "<stack>-<logical id>-<suffix>" (its suffix is random; here it
// is derived from the names, so a restart gives the same name).
func physicalName(s *cloudassembly.Stack, id string) string {
	return s.StackName + "-" + id + "-" + strings.ToUpper(localHex(s.StackName + "/" + id)[:12])
}

// localHex is a stable 12-hex-digit string for name (FNV-1a).
func localHex(name string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 1099511628211
	}
	return fmt.Sprintf("%012x", h&0xffffffffffff)
}
