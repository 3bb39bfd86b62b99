package m2mauth

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/contract"
)

// API Gateway's limits on a usage plan's throttle, and its account-wide
// quotas that tiers consume: usage plans (adjustable, see Quotas) and API
// keys (fixed).
const (
	// MaxTierRateLimit is API Gateway's default account-level throttle, in
	// requests per second: no key can be allowed more.
	MaxTierRateLimit = 10_000
	// MaxTierBurstLimit is API Gateway's default account-level burst.
	MaxTierBurstLimit           = 5_000
	DefaultUsagePlansPerRegion  = contract.UsagePlansPerRegion
	MaxAPIKeysPerRegion         = contract.APIKeysPerRegion
	apiKeyTagPool               = "scopegate:user-pool"
	resourcesPerClient          = 2 // the app client and its secret
	resourcesPerRotatedClient   = 1 // the secret's rotation schedule
	resourcesPerTieredClient    = 2 // the API key and its usage plan key
	clientStackResourcesAllowed = 480
)

// QuotaPeriod is the period of a tier's request quota.
type QuotaPeriod string

// The periods API Gateway counts quotas in.
const (
	QuotaPerDay   QuotaPeriod = "DAY"
	QuotaPerWeek  QuotaPeriod = "WEEK"
	QuotaPerMonth QuotaPeriod = "MONTH"
)

// Tier is a rate-limit tier of machine clients: an API Gateway usage plan
// that throttles, and optionally caps, each of its clients' API keys on
// its own. Each client of a tier gets its own API key, whose value reaches
// the client in its secret ("api_key"), and every method of a ScopedAPI
// that trusts the pool requires the key (x-api-key) beside the access token.
type Tier struct {
	// Name of the tier: 1-64 letters, digits, '-' or '_'; unique in the pool.
	Name string
	// RateLimit is each client's steady request rate, per second, over every
	// API of the pool. From more than 0 up to 10,000.
	RateLimit float64
	// BurstLimit is each client's burst (token bucket size). 1 to 5,000.
	BurstLimit int
	// Quota, when set, caps each client's requests per day, week or month.
	// Default: no quota.
	Quota *TierQuota
}

// TierQuota is a number of requests per period.
type TierQuota struct {
	Limit  int
	Period QuotaPeriod
}

// TierPlan is a declared tier and the usage plan made from it.
type TierPlan struct {
	Tier      Tier
	UsagePlan awsapigateway.UsagePlan

	usagePlanID *string // UsagePlan.UsagePlanId(), read once for every key
}

var tierNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// tierProblems reports every problem with the tiers and the clients'
// choice of tier.
func (p *AuthServerProps) tierProblems(quotas Quotas) []FieldProblem {
	var problems []FieldProblem
	add := func(field string, value any, format string, args ...any) {
		problems = append(problems, FieldProblem{Field: field, Value: value, Rule: fmt.Sprintf(format, args...)})
	}
	if len(p.Tiers) == 0 {
		if p.DefaultTier != "" {
			add("DefaultTier", p.DefaultTier, "names a tier, but no Tiers are declared")
		}
		for i, c := range p.Clients {
			if c.Tier != "" {
				add(fmt.Sprintf("Clients[%d].Tier", i), c.Tier, "names a tier, but no Tiers are declared")
			}
		}
		return problems
	}
	if p.Rotation.Disabled {
		add("Tiers", nil, "need rotation: the rotation function writes each client's API key value into its secret (API Gateway gives CloudFormation no attribute for it); turn Rotation.Disabled off, or declare no Tiers")
	}
	if n := len(p.Tiers); n > quotas.UsagePlansPerRegion {
		add("Tiers", nil, "has %d tiers, over API Gateway's quota of %d usage plans per account and region (Quotas.UsagePlansPerRegion, if your account's quota was raised)", n, quotas.UsagePlansPerRegion)
	}
	if n := len(p.Clients); n > MaxAPIKeysPerRegion {
		add("Clients", nil, "has %d clients, each with an API key, over API Gateway's quota of %d API keys per account and region, which cannot be raised", n, MaxAPIKeysPerRegion)
	}
	names := map[string]int{}
	for i, t := range p.Tiers {
		where := fmt.Sprintf("Tiers[%d]", i)
		for _, problem := range ValidateTier(t) {
			problem.Field = where + "." + problem.Field
			problems = append(problems, problem)
		}
		key := strings.ToLower(constructID(t.Name))
		if j, dup := names[key]; dup && tierNamePattern.MatchString(t.Name) {
			add(where+".Name", t.Name, "is already used by Tiers[%d] (names differing only in case or punctuation count as one)", j)
		} else if !dup {
			names[key] = i
		}
	}
	declared := func(name string) bool {
		for _, t := range p.Tiers {
			if t.Name == name {
				return true
			}
		}
		return false
	}
	if p.DefaultTier != "" && !declared(p.DefaultTier) {
		add("DefaultTier", p.DefaultTier, "is not one of the declared Tiers (%s)", p.tierNames())
	}
	for i, c := range p.Clients {
		switch {
		case c.Tier == "" && p.DefaultTier == "":
			add(fmt.Sprintf("Clients[%d].Tier", i), nil, "is empty and there is no DefaultTier: with Tiers declared every client belongs to one (%s)", p.tierNames())
		case c.Tier != "" && !declared(c.Tier):
			add(fmt.Sprintf("Clients[%d].Tier", i), c.Tier, "is not one of the declared Tiers (%s)", p.tierNames())
		}
	}
	return problems
}

// ValidateTier reports every bad field of one tier ("RateLimit",
// "Quota.Period"), each with the value received: the checks NewAuthServer
// makes on each of Tiers.
func ValidateTier(t Tier) []FieldProblem {
	var problems []FieldProblem
	add := func(field string, value any, format string, args ...any) {
		problems = append(problems, FieldProblem{Field: field, Value: value, Rule: fmt.Sprintf(format, args...)})
	}
	if !tierNamePattern.MatchString(t.Name) {
		add("Name", t.Name, "must be 1-64 letters, digits, '-' or '_', starting with a letter or digit")
	}
	if !(t.RateLimit > 0 && t.RateLimit <= MaxTierRateLimit) {
		add("RateLimit", t.RateLimit, "must be more than 0 and at most %d requests per second", MaxTierRateLimit)
	}
	if t.BurstLimit < 1 || t.BurstLimit > MaxTierBurstLimit {
		add("BurstLimit", t.BurstLimit, "must be from 1 to %d", MaxTierBurstLimit)
	}
	if q := t.Quota; q != nil {
		if q.Limit < 1 || q.Limit > math.MaxInt32 {
			add("Quota.Limit", q.Limit, "must be from 1 to %d requests", math.MaxInt32)
		}
		switch q.Period {
		case QuotaPerDay, QuotaPerWeek, QuotaPerMonth:
		default:
			add("Quota.Period", string(q.Period), "must be DAY, WEEK or MONTH")
		}
	}
	return problems
}

func (p *AuthServerProps) tierNames() string {
	names := make([]string, len(p.Tiers))
	for i, t := range p.Tiers {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// clientResources is how many CloudFormation resources each client takes in
// its nested stack.
func (p *AuthServerProps) clientResources() int {
	n := resourcesPerClient
	if !p.Rotation.Disabled {
		n += resourcesPerRotatedClient
	}
	if len(p.Tiers) > 0 {
		n += resourcesPerTieredClient
	}
	return n
}

// MaxClientsPerStack is how many clients one nested client stack may hold
// with these props: as many as keep it within 480 of CloudFormation's 500
// resources per template (160 with rotation, 96 with rotation and tiers).
func (p *AuthServerProps) MaxClientsPerStack() int {
	return clientStackResourcesAllowed / p.clientResources()
}

// tierOf is the tier a client belongs to, "" without tiers.
func (p *AuthServerProps) tierOf(c ClientProps) string {
	if len(p.Tiers) == 0 {
		return ""
	}
	if c.Tier != "" {
		return c.Tier
	}
	return p.DefaultTier
}

// newUsagePlans makes one usage plan per tier. ScopedAPIs add their stages
// to them (TierPlans); the clients' keys are attached in their own stacks.
func (a *AuthServer) newUsagePlans(tiers []Tier) {
	for _, t := range tiers {
		props := &awsapigateway.UsagePlanProps{
			Description: jsii.String(fmt.Sprintf("scopegate: rate-limit tier %q of the machine clients of %s: each client's API key is throttled on its own", t.Name, *a.Node().Path())),
			Throttle:    &awsapigateway.ThrottleSettings{RateLimit: jsii.Number(t.RateLimit), BurstLimit: jsii.Number(t.BurstLimit)},
		}
		if q := t.Quota; q != nil {
			props.Quota = &awsapigateway.QuotaSettings{Limit: jsii.Number(q.Limit), Period: awsapigateway.Period(q.Period)}
		}
		plan := awsapigateway.NewUsagePlan(a.Construct, jsii.String("Tier"+constructID(t.Name)), props)
		a.tiers = append(a.tiers, TierPlan{Tier: t, UsagePlan: plan, usagePlanID: plan.UsagePlanId()})
	}
}

// TierPlans are the declared tiers with their usage plans, in the order
// declared; none without tiers. A ScopedAPI that trusts this pool adds its
// stage to every plan and requires an API key on every method.
func (a *AuthServer) TierPlans() []TierPlan {
	return append([]TierPlan(nil), a.tiers...)
}

// usagePlan is the id of the tier's usage plan and the tier's index
// (validation made sure the tier is declared).
func (a *AuthServer) usagePlan(tier string) (id *string, index int) {
	for i, t := range a.tiers {
		if t.Tier.Name == tier {
			return t.usagePlanID, i
		}
	}
	panic(fmt.Errorf("m2mauth: tier %q is not declared", tier))
}

// addAPIKey gives a client its API key, attached to its tier's usage plan,
// in the client's stack (CloudFormation User Guide, "AWS::ApiGateway::ApiKey"
// and "AWS::ApiGateway::UsagePlanKey"). API Gateway generates the value; the
// rotation function copies it into the client's secret (only the key's id is
// in the template). The tag lets the rotation function read this pool's keys
// and no other. A suspended client's key is disabled.
func (a *AuthServer) addAPIKey(template *clientStackTemplate, client ClientProps, ids clientLogicalIDs, tier string, poolID any) {
	template.add(ids.apiKey, map[string]any{
		"Type": "AWS::ApiGateway::ApiKey",
		"Properties": map[string]any{
			"Enabled":     !client.Suspended,
			"Name":        cfnJoin("-", []any{"scopegate-" + client.Name, cfnRef(ids.client)}),
			"Description": fmt.Sprintf("scopegate: API key of machine client %q (tier %q); its value is in the client's secret", client.Name, tier),
			"Tags":        []any{map[string]any{"Key": apiKeyTagPool, "Value": poolID}},
		},
	})
	plan, index := a.usagePlan(tier)
	template.add(ids.usagePlanKey, map[string]any{
		"Type": "AWS::ApiGateway::UsagePlanKey",
		"Properties": map[string]any{
			"KeyId":       cfnRef(ids.apiKey),
			"KeyType":     "API_KEY",
			"UsagePlanId": template.parameter(usagePlanParameter+strconv.Itoa(index), plan),
		},
	})
}
