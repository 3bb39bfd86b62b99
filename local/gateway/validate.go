package gateway

import (
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"regexp"
	"sort"
	"strings"
)

// Request body validation against an API Gateway model: JSON Schema draft 4
// ("Data models for REST APIs"), for the keywords in SchemaKeywords. A model
// using another keyword is listed as not emulated at start (see
// UnsupportedKeywords) and that keyword is not checked. The messages follow
// the shape API Gateway puts in $context.error.validationErrorString
// ("[problem, problem]"); their exact wording is not documented.

// SchemaKeywords are the keywords validateBody checks.
var SchemaKeywords = map[string]bool{
	"$schema": true, "title": true, "description": true, "type": true, "properties": true,
	"required": true, "additionalProperties": true, "pattern": true, "minLength": true,
	"maxLength": true, "minimum": true, "maximum": true, "enum": true, "items": true,
	"minItems": true, "maxItems": true,
}

// UnsupportedKeywords lists the keywords of schema (nested ones included)
// that validateBody does not check.
func UnsupportedKeywords(schema map[string]any) []string {
	seen := map[string]bool{}
	var walk func(s map[string]any)
	walk = func(s map[string]any) {
		for k, v := range s {
			if !SchemaKeywords[k] {
				seen[k] = true
			}
			switch k {
			case "properties":
				if props, ok := v.(map[string]any); ok {
					for _, p := range props {
						if ps, ok := p.(map[string]any); ok {
							walk(ps)
						}
					}
				}
			case "items", "additionalProperties":
				if ps, ok := v.(map[string]any); ok {
					walk(ps)
				}
			}
		}
	}
	walk(schema)
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validateBody checks body against the model for its content type
// (application/json when none is sent, as API Gateway assumes); "" when it
// passes, else the problems.
func validateBody(schemas map[string]map[string]any, contentType string, body []byte) string {
	mt := "application/json"
	if contentType != "" {
		if parsed, _, err := mime.ParseMediaType(contentType); err == nil {
			mt = parsed
		}
	}
	schema, ok := schemas[mt]
	if !ok {
		if schema, ok = schemas["$default"]; !ok {
			return ""
		}
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return "[Invalid JSON in request body]"
	}
	var problems []string
	check(schema, doc, "", &problems)
	if len(problems) == 0 {
		return ""
	}
	return "[" + strings.Join(problems, ", ") + "]"
}

func typeOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if v == math.Trunc(v) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func typeAllowed(allowed any, actual string) (bool, []string) {
	var list []string
	switch a := allowed.(type) {
	case string:
		list = []string{a}
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				list = append(list, s)
			}
		}
	default:
		return true, nil
	}
	for _, t := range list {
		if t == actual || (t == "number" && actual == "integer") {
			return true, list
		}
	}
	return false, list
}

func check(schema map[string]any, v any, at string, problems *[]string) {
	add := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		if at != "" {
			msg = at + ": " + msg
		}
		*problems = append(*problems, msg)
	}
	actual := typeOf(v)
	if t, ok := schema["type"]; ok {
		if fine, list := typeAllowed(t, actual); !fine {
			q, _ := json.Marshal(list)
			add("instance type (%s) does not match any allowed primitive type (allowed: %s)", actual, q)
			return
		}
	}
	if enum, ok := schema["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			a, _ := json.Marshal(e)
			b, _ := json.Marshal(v)
			if string(a) == string(b) {
				found = true
			}
		}
		if !found {
			add("instance value not found in enum")
		}
	}
	switch v := v.(type) {
	case string:
		n := len([]rune(v))
		if min, ok := schema["minLength"].(float64); ok && float64(n) < min {
			add("string %q is too short (length: %d, required minimum: %v)", v, n, min)
		}
		if max, ok := schema["maxLength"].(float64); ok && float64(n) > max {
			add("string %q is too long (length: %d, maximum allowed: %v)", v, n, max)
		}
		if p, ok := schema["pattern"].(string); ok {
			if re, err := regexp.Compile(p); err == nil && !re.MatchString(v) {
				add("ECMA 262 regex %q does not match input string %q", p, v)
			}
		}
	case float64:
		if min, ok := schema["minimum"].(float64); ok && v < min {
			add("numeric instance is lower than the required minimum (minimum: %v, found: %v)", min, v)
		}
		if max, ok := schema["maximum"].(float64); ok && v > max {
			add("numeric instance is greater than the required maximum (maximum: %v, found: %v)", max, v)
		}
	case []any:
		if min, ok := schema["minItems"].(float64); ok && float64(len(v)) < min {
			add("array is too short: must have at least %v elements but instance has %d elements", min, len(v))
		}
		if max, ok := schema["maxItems"].(float64); ok && float64(len(v)) > max {
			add("array is too long: must have at most %v elements but instance has %d elements", max, len(v))
		}
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range v {
				check(items, x, fmt.Sprintf("%s/%d", at, i), problems)
			}
		}
	case map[string]any:
		var missing []string
		if req, ok := schema["required"].([]any); ok {
			for _, r := range req {
				if name, ok := r.(string); ok {
					if _, present := v[name]; !present {
						missing = append(missing, name)
					}
				}
			}
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			q, _ := json.Marshal(missing)
			add("object has missing required properties (%s)", q)
		}
		props, _ := schema["properties"].(map[string]any)
		var extra []string
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				check(ps, v[k], at+"/"+k, problems)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					extra = append(extra, k)
				}
			case map[string]any:
				check(ap, v[k], at+"/"+k, problems)
			}
		}
		if len(extra) > 0 {
			q, _ := json.Marshal(extra)
			add("object instance has properties which are not allowed by the schema: %s", q)
		}
	}
}
