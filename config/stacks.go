package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/stacks"
)

// StackProps are the props of the two stacks, with every client's scopes
// resolved against the stack's own resource servers before any stack
// exists. Every value a construct would refuse is an error naming its key;
// the caller adds each stack's environment and description.
func (c Config) StackProps() (*stacks.WeatherEventsStackProps, *stacks.ThirdPartyProxyStackProps, error) {
	var problems []error
	weatherAPI := stacks.NewWeatherAPI()
	weather := &stacks.WeatherEventsStackProps{API: weatherAPI}
	weather.ServiceOptions, problems = c.service(WeatherEventsStack, "weatherEvents", c.WeatherEvents, []*m2mauth.ResourceServer{weatherAPI.Server}, weatherAPI.OwnClients(), problems)
	if p := c.WeatherEvents.DomainPrefix; p != "" {
		weather.Domain = m2mauth.PrefixDomain{Prefix: p}
	}
	proxyAPI := stacks.NewProxyAPI()
	proxy := &stacks.ThirdPartyProxyStackProps{API: proxyAPI, DomainPrefix: c.ThirdPartyProxy.DomainPrefix}
	proxy.ServiceOptions, problems = c.service(ThirdPartyProxyStack, "thirdPartyProxy", c.ThirdPartyProxy, []*m2mauth.ResourceServer{proxyAPI.Server}, proxyAPI.OwnClients(), problems)
	if d := c.ThirdPartyProxy.CustomDomain; d != nil {
		custom := stacks.CustomDomain(*d)
		proxy.CustomDomain = &custom
		for _, p := range custom.Problems() {
			problems = append(problems, problem(Root+".thirdPartyProxy.customDomain."+configKey(p.Field), p))
		}
	}
	if len(problems) > 0 {
		return nil, nil, joinSorted(problems)
	}
	return weather, proxy, nil
}

// service is one stack's options from its configuration key, and every
// problem with it appended to problems.
func (c Config) service(stackID, key string, s Service, servers []*m2mauth.ResourceServer, own []m2mauth.ClientProps, problems []error) (stacks.ServiceOptions, []error) {
	root := Root + "." + key
	opts := stacks.ServiceOptions{
		Disposable:                     c.Disposable,
		CreateAPIGatewayCloudWatchRole: c.APIGatewayCloudWatchRoleStack == stackID,
		ReservedConcurrency:            c.reservedConcurrency(),
		Quotas:                         m2mauth.Quotas(c.Quotas),
		Rotation:                       c.rotation(),
		TokenBudget:                    m2mauth.TokenBudgetProps{Disabled: c.TokenBudget.Disabled, Share: c.TokenBudget.Share},
		TokenBudgetTopicArn:            c.TokenBudget.AlarmTopicArn,
		NoDashboard:                    c.Dashboard.Disabled,
		DefaultTier:                    s.DefaultTier,
	}
	for i, t := range s.Tiers {
		tier := m2mauth.Tier{Name: t.Name, RateLimit: t.RateLimit, BurstLimit: t.BurstLimit}
		if t.Quota != nil {
			tier.Quota = &m2mauth.TierQuota{Limit: t.Quota.Limit, Period: m2mauth.QuotaPeriod(t.Quota.Period)}
		}
		// The stacks' APIs keep the default stage throttle.
		for _, p := range scopedapi.TierAboveStage(tier, scopedapi.DefaultThrottlingRateLimit, scopedapi.DefaultThrottlingBurstLimit) {
			problems = append(problems, problem(fmt.Sprintf("%s.tiers[%d].%s", root, i, configKey(p.Field)), p))
		}
		opts.Tiers = append(opts.Tiers, tier)
	}
	if opts.DefaultTier == "" && len(opts.Tiers) > 0 {
		opts.DefaultTier = opts.Tiers[0].Name
	}
	// scopeAt[i][k] is the key index of client i's k-th resolved scope: a
	// scope text that names nothing is left out of the props.
	scopeAt := make([][]int, len(s.Clients))
	skip := map[string]bool{}
	for i, cc := range s.Clients {
		client := m2mauth.ClientProps{Name: cc.Name, AccessTokenValidity: time.Duration(cc.AccessTokenValidityMinutes) * time.Minute, Tier: cc.Tier, Suspended: cc.Suspended}
		for k, text := range cc.Scopes {
			scope, err := m2mauth.ParseScope(servers, text)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s.clients[%d].scopes[%d]: %v", root, i, k, err))
				continue
			}
			client.Scopes = append(client.Scopes, scope)
			scopeAt[i] = append(scopeAt[i], k)
		}
		opts.Clients = append(opts.Clients, client)
		if len(cc.Scopes) > 0 && len(client.Scopes) == 0 {
			// Every scope named nothing: each has its line already, and
			// "scopes is empty" would say the opposite of what was written.
			skip[fmt.Sprintf("Clients[%d].Scopes", len(own)+i)] = true
		}
	}
	props := m2mauth.AuthServerProps{ResourceServers: servers, Clients: append(append([]m2mauth.ClientProps(nil), own...), opts.Clients...),
		Quotas: opts.Quotas, Rotation: opts.Rotation, Tiers: opts.Tiers, DefaultTier: opts.DefaultTier}
	paths := pathMapper{root: root, own: len(own), scopeAt: scopeAt}
	for _, p := range props.Problems() {
		if skip[p.Field] || strings.HasPrefix(p.Field, "Rotation.") || strings.HasPrefix(p.Field, "TokenBudget.") {
			continue // judged once, under their own keys (Config.problems)
		}
		key, ok := paths.key(p.Field)
		if !ok {
			// A problem with the stack's own declarations, not with a key.
			problems = append(problems, fmt.Errorf("%s (stack %s): %s", root, stackID, p))
			continue
		}
		if d, isDuration := p.Value.(time.Duration); isDuration {
			p.Value = int(d.Minutes())
		}
		p.Rule = paths.words(p.Rule)
		problems = append(problems, problem(key, p))
	}
	return opts, problems
}

// problem is one configuration error: the key, then the value and the rule.
func problem(key string, p m2mauth.FieldProblem) error {
	p.Field = key + ":"
	return fmt.Errorf("%s", p)
}

// pathMapper turns a prop path of the AuthServer ("Clients[3].Scopes[1]")
// into its key ("scopegate.weatherEvents.clients[2].scopes[1]"): the
// stack's own clients come first in Clients, and scopes that named nothing
// are missing from the props.
type pathMapper struct {
	root    string
	own     int
	scopeAt [][]int
}

var (
	clientPath = regexp.MustCompile(`^Clients\[(\d+)\](?:\.Scopes\[(\d+)\]|\.(\w+))?$`)
	tierPath   = regexp.MustCompile(`^Tiers(\[\d+\])?((?:\.\w+)*)$`)
	clientRef  = regexp.MustCompile(`Clients\[(\d+)\]`)
)

func (m pathMapper) key(field string) (string, bool) {
	if field == "Clients" || field == "ClientStacks" {
		return m.root + ".clients", true
	}
	if field == "DefaultTier" {
		return m.root + ".defaultTier", true
	}
	if t := tierPath.FindStringSubmatch(field); t != nil {
		return m.root + ".tiers" + t[1] + configKey(t[2]), true
	}
	c := clientPath.FindStringSubmatch(field)
	if c == nil {
		return "", false
	}
	i, _ := strconv.Atoi(c[1])
	if i < m.own {
		return "", false
	}
	i -= m.own
	key := fmt.Sprintf("%s.clients[%d]", m.root, i)
	switch {
	case c[2] != "":
		k, _ := strconv.Atoi(c[2])
		if k < len(m.scopeAt[i]) {
			k = m.scopeAt[i][k]
		}
		return fmt.Sprintf("%s.scopes[%d]", key, k), true
	case c[3] == "AccessTokenValidity":
		return key + ".accessTokenValidityMinutes", true
	case c[3] != "":
		return key + "." + configKey(c[3]), true
	}
	return key, true
}

// propWords are the props a rule may mention, in the configuration's words.
var propWords = strings.NewReplacer(
	"Quotas.AppClientsPerPool", "quotas.appClientsPerPool",
	"Quotas.UsagePlansPerRegion", "quotas.usagePlansPerRegion",
	"Rotation.Disabled", "rotation.disabled",
	"DefaultTier", "defaultTier",
	"Tiers", "tiers",
	"AccessTokenValidity", "accessTokenValidityMinutes",
)

// words rewrites a rule's references to other props as keys.
func (m pathMapper) words(rule string) string {
	rule = clientRef.ReplaceAllStringFunc(rule, func(ref string) string {
		i, _ := strconv.Atoi(clientRef.FindStringSubmatch(ref)[1])
		if i < m.own {
			return "the stack's own client"
		}
		return fmt.Sprintf("clients[%d]", i-m.own)
	})
	return propWords.Replace(rule)
}

// configKey is a prop path in the configuration's spelling: each part with
// a lowercase first letter ("Quota.Period" -> "quota.period"), and "ID" as
// "Id".
func configKey(path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		p = strings.ReplaceAll(p, "ID", "Id")
		if p != "" {
			parts[i] = strings.ToLower(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, ".")
}
