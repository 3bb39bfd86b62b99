// Package config is scopegate's configuration: the "scopegate" context key
// of cdk.json (or -c scopegate='{...}'), decoded once into the stacks'
// props. Every problem is one line that names its key from "scopegate.":
// an unknown key (with the nearest known one), a value of the wrong kind (in
// the configuration's words, not Go's), and a value the constructs refuse,
// judged by the constructs' own rules (m2mauth's Problems) and mapped from
// the prop's path to the key. No rule is written here that a construct
// already checks.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth"
)

// Root is the context key the configuration lives under; every problem
// names its key from here.
const Root = "scopegate"

// The stacks' ids, which are also their CloudFormation stack names.
const (
	WeatherEventsStack   = "WeatherEvents"
	ThirdPartyProxyStack = "ThirdPartyProxy"
)

// Config is what users may set under the "scopegate" context key. Every key
// is optional; docs/configuration.md describes each.
type Config struct {
	// Disposable makes the user pools, tables and log groups deletable with
	// their stacks.
	Disposable bool `json:"disposable"`
	// APIGatewayCloudWatchRoleStack names the one stack that creates the
	// account-wide API Gateway CloudWatch role; empty for none.
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
	// Quotas are the account's adjustable quotas, for accounts that had
	// them raised.
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
	// Dashboard turns off each API's dashboard and contributor rules.
	Dashboard struct {
		Disabled bool `json:"disabled"`
	} `json:"dashboard"`
	WeatherEvents   Service `json:"weatherEvents"`
	ThirdPartyProxy Service `json:"thirdPartyProxy"`
}

// Service configures one stack: its domain, its extra clients and its
// rate-limit tiers.
type Service struct {
	DomainPrefix string        `json:"domainPrefix"`
	CustomDomain *CustomDomain `json:"customDomain"`
	Clients      []Client      `json:"clients"`
	Tiers        []Tier        `json:"tiers"`
	DefaultTier  string        `json:"defaultTier"`
}

// Client is a machine client, its scopes written as text ("weather-api/get").
type Client struct {
	Name                       string   `json:"name"`
	Scopes                     []string `json:"scopes"`
	AccessTokenValidityMinutes int      `json:"accessTokenValidityMinutes"`
	// Tier is the client's rate-limit tier. Default: the stack's default.
	Tier string `json:"tier"`
	// Suspended cuts the client off: no new tokens, API key disabled, and
	// its requests refused by the functions' route check.
	Suspended bool `json:"suspended"`
}

// Tier is a rate-limit tier.
type Tier struct {
	Name       string  `json:"name"`
	RateLimit  float64 `json:"rateLimit"`
	BurstLimit int     `json:"burstLimit"`
	Quota      *struct {
		Limit  int    `json:"limit"`
		Period string `json:"period"`
	} `json:"quota"`
}

// CustomDomain names an existing certificate and hosted zone for a custom
// Cognito domain.
type CustomDomain struct {
	DomainName     string `json:"domainName"`
	CertificateArn string `json:"certificateArn"`
	HostedZoneID   string `json:"hostedZoneId"`
	HostedZoneName string `json:"hostedZoneName"`
}

// Read decodes the "scopegate" context value: an object from cdk.json, or
// a JSON string from -c. nil is the default configuration. Every problem is
// one error naming its key.
func Read(raw any) (Config, error) {
	var cfg Config
	if raw == nil {
		return cfg, nil
	}
	data, ok := raw.(string)
	if !ok {
		// A value from Go (tests, or an app that sets the context itself)
		// is judged as the JSON it stands for, as cdk.json's would be.
		encoded, err := json.Marshal(raw)
		if err != nil {
			return cfg, fmt.Errorf("%s: not JSON: %v", Root, err)
		}
		data = string(encoded)
	}
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		return cfg, fmt.Errorf("%s: not JSON: %v", Root, err)
	}
	if errs := checkShape(Root, raw, reflect.TypeOf(cfg)); len(errs) > 0 {
		return cfg, errors.Join(errs...)
	}
	if err := json.Unmarshal([]byte(data), &cfg); err != nil { // checkShape has seen every key and kind
		return cfg, fmt.Errorf("%s: %w", Root, err)
	}
	if errs := cfg.problems(); len(errs) > 0 {
		return cfg, joinSorted(errs)
	}
	return cfg, nil
}

// reservedConcurrency is the functions' ReservedConcurrency: 0 (unset) for
// the default, golambda.NoReservedConcurrency for a configured 0.
func (c Config) reservedConcurrency() int {
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
func (c Config) rotation() m2mauth.RotationProps {
	r := m2mauth.RotationProps{Disabled: c.Rotation.Disabled}
	if d := c.Rotation.IntervalDays; d != nil {
		r.Interval = time.Duration(*d) * 24 * time.Hour
	}
	if h := c.Rotation.OverlapHours; h != nil {
		r.Overlap = time.Duration(*h) * time.Hour
	}
	return r
}

// problems are the values of the shared keys the constructs would refuse,
// named by key; each stack's keys are judged when its props are made.
func (c Config) problems() []error {
	var errs []error
	add := func(key string, value any, rule string) {
		errs = append(errs, fmt.Errorf("%s.%s: %v %s", Root, key, value, rule))
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
		for _, p := range c.rotation().Problems() {
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
	case "", WeatherEventsStack, ThirdPartyProxyStack:
	default:
		add("apiGatewayCloudWatchRoleStack", fmt.Sprintf("%q", c.APIGatewayCloudWatchRoleStack), fmt.Sprintf("names no stack (%s or %s)", WeatherEventsStack, ThirdPartyProxyStack))
	}
	return errs
}

// joinSorted is every problem, one line each, in key order.
func joinSorted(errs []error) error {
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}
