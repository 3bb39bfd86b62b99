package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// checkShape compares a decoded JSON value with the Go type it must fill:
// every key of an object must be a field's json name, and every value of
// the kind the field holds. Each problem names its key path.
func checkShape(path string, v any, t reflect.Type) []error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return nil // null: the default
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return []error{fmt.Errorf("%s: must be an object ({...}), not %s", path, describe(v))}
		}
		fields := map[string]reflect.StructField{}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name != "" && name != "-" {
				fields[name] = f
			}
		}
		var errs []error
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			f, ok := fields[k]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: unknown key %q%s", path, k, suggest(k, fields)))
				continue
			}
			errs = append(errs, checkShape(path+"."+k, obj[k], f.Type)...)
		}
		return errs
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return []error{fmt.Errorf("%s: must be a list ([...]), not %s", path, describe(v))}
		}
		var errs []error
		for i, e := range list {
			errs = append(errs, checkShape(fmt.Sprintf("%s[%d]", path, i), e, t.Elem())...)
		}
		return errs
	case reflect.String:
		if _, ok := v.(string); !ok {
			return []error{fmt.Errorf("%s: must be a string in quotes, not %s", path, describe(v))}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return []error{fmt.Errorf("%s: must be true or false, not %s", path, describe(v))}
		}
	case reflect.Int:
		if n, ok := v.(float64); !ok || n != float64(int64(n)) {
			return []error{fmt.Errorf("%s: must be a whole number, not %s", path, describe(v))}
		}
	case reflect.Float64:
		if _, ok := v.(float64); !ok {
			return []error{fmt.Errorf("%s: must be a number, not %s", path, describe(v))}
		}
	}
	return nil
}

// describe names a JSON value's kind, with the value when it is short.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%v", v)
}

// suggest names the known key nearest to k, when one is near enough to be
// a typo.
func suggest(k string, fields map[string]reflect.StructField) string {
	best, bestDistance := "", 4
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if d := distance(strings.ToLower(k), strings.ToLower(name)); d < bestDistance {
			best, bestDistance = name, d
		}
	}
	if best == "" {
		return " (known keys: " + strings.Join(names, ", ") + ")"
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
