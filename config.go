package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/stacks"
)

// config is what users may set under the "scopegate" context key.
type config struct {
	// Disposable makes the user pools, tables and log groups deletable with
	// their stacks.
	Disposable bool `json:"disposable"`
	// APIGatewayCloudWatchRoleStack names the one stack ("WeatherEvents" or
	// "ThirdPartyProxy") that creates the account-wide API Gateway CloudWatch
	// role; empty for none. See docs/configuration.md before setting it.
	APIGatewayCloudWatchRoleStack string `json:"apiGatewayCloudWatchRoleStack"`
	// ReservedConcurrency of each stack's function; 0 reserves none, for
	// the rotation functions too. Absent: golambda's default.
	ReservedConcurrency *int `json:"reservedConcurrency"`
	// Rotation of every client secret. Absent keys take m2mauth's
	// defaults (90 days, 168 hours); a 0 is refused, not taken as "default".
	Rotation struct {
		Disabled     bool `json:"disabled"`
		IntervalDays *int `json:"intervalDays"`
		OverlapHours *int `json:"overlapHours"`
	} `json:"rotation"`
	// Quotas are the account's adjustable Cognito quotas, for accounts that
	// had them raised.
	Quotas struct {
		AppClientsPerPool      int `json:"appClientsPerPool"`
		ResourceServersPerPool int `json:"resourceServersPerPool"`
		UsagePlansPerRegion    int `json:"usagePlansPerRegion"`
	} `json:"quotas"`
	// TokenBudget is the alarm on client-credentials token requests.
	TokenBudget struct {
		Disabled      bool    `json:"disabled"`
		Share         float64 `json:"share"`
		AlarmTopicArn string  `json:"alarmTopicArn"`
	} `json:"tokenBudget"`
	// WeatherEvents configures the WeatherEvents stack.
	WeatherEvents struct {
		DomainPrefix string                `json:"domainPrefix"`
		Clients      []stacks.ClientConfig `json:"clients"`
		Tiers        []stacks.TierConfig   `json:"tiers"`
		DefaultTier  string                `json:"defaultTier"`
	} `json:"weatherEvents"`
	// ThirdPartyProxy configures the ThirdPartyProxy stack.
	ThirdPartyProxy struct {
		DomainPrefix string                     `json:"domainPrefix"`
		CustomDomain *stacks.CustomDomainConfig `json:"customDomain"`
		Clients      []stacks.ClientConfig      `json:"clients"`
		Tiers        []stacks.TierConfig        `json:"tiers"`
		DefaultTier  string                     `json:"defaultTier"`
	} `json:"thirdPartyProxy"`
}

// reservedConcurrency is the functions' ReservedConcurrency: 0 (unset) for
// the default, golambda.NoReservedConcurrency for a configured 0.
func (c config) reservedConcurrency() int {
	switch r := c.ReservedConcurrency; {
	case r == nil:
		return 0
	case *r == 0:
		return golambda.NoReservedConcurrency
	default:
		return *r
	}
}

// rotation is the configured rotation as m2mauth's props.
func (c config) rotation() m2mauth.RotationProps {
	r := m2mauth.RotationProps{Disabled: c.Rotation.Disabled}
	if d := c.Rotation.IntervalDays; d != nil {
		r.Interval = time.Duration(*d) * 24 * time.Hour
	}
	if h := c.Rotation.OverlapHours; h != nil {
		r.Overlap = time.Duration(*h) * time.Hour
	}
	return r
}

// configRoot is the context key the configuration lives under; every
// problem names its key from here.
const configRoot = "scopegate"

// readConfig decodes the "scopegate" context value. With -c on the command
// line the value arrives as a JSON string; from cdk.json it is an object.
// Every problem is one error naming its key: an unknown key (with the
// nearest known one), a value of the wrong kind (in the words of the
// configuration, not of Go), and a value the constructs would refuse, by the
// constructs' own rule (m2mauth's Problems), named by its key.
func readConfig(app awscdk.App) (config, error) {
	var cfg config
	raw := app.Node().TryGetContext(jsii.String(configRoot))
	if raw == nil {
		return cfg, nil
	}
	if s, ok := raw.(string); ok {
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return cfg, fmt.Errorf("%s: not JSON: %v", configRoot, err)
		}
	}
	if errs := checkShape(configRoot, raw, reflect.TypeOf(cfg)); len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	data, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	if err != nil { // checkShape has seen every key and kind
		return cfg, fmt.Errorf("%s: %w", configRoot, err)
	}
	return cfg, errors.Join(cfg.problems()...)
}

// problems are the values the constructs would refuse, named by key.
func (c config) problems() []error {
	var errs []error
	add := func(key string, value any, rule string) {
		errs = append(errs, fmt.Errorf("%s.%s: %v %s", configRoot, key, value, rule))
	}
	if r := c.ReservedConcurrency; r != nil && *r < 0 {
		add("reservedConcurrency", *r, "must be 0 (reserve none) or positive")
	}
	for key, v := range map[string]*int{"rotation.intervalDays": c.Rotation.IntervalDays, "rotation.overlapHours": c.Rotation.OverlapHours} {
		if v != nil && *v <= 0 {
			add(key, *v, "must be at least 1 (leave the key out for the default)")
		}
	}
	if len(errs) == 0 {
		rotation := c.rotation()
		for _, p := range rotation.Problems() {
			switch p.Field {
			case "Interval":
				add("rotation.intervalDays", p.Value.(time.Duration).Hours()/24, "days "+p.Rule)
			case "Overlap":
				add("rotation.overlapHours", p.Value.(time.Duration).Hours(), "hours "+strings.Replace(p.Rule, "(", "(rotation.intervalDays: ", 1))
			}
		}
	}
	for _, p := range (m2mauth.TokenBudgetProps{Share: c.TokenBudget.Share}).Problems() {
		add("tokenBudget.share", p.Value, p.Rule)
	}
	switch c.APIGatewayCloudWatchRoleStack {
	case "", weatherEventsID, thirdPartyProxyID:
	default:
		add("apiGatewayCloudWatchRoleStack", fmt.Sprintf("%q", c.APIGatewayCloudWatchRoleStack), fmt.Sprintf("names no stack (%s or %s)", weatherEventsID, thirdPartyProxyID))
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs
}

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
