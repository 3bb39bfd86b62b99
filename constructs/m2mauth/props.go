package m2mauth

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/contract"
)

// Access-token lifetimes Cognito accepts, and the one we default to.
const (
	MinAccessTokenValidity     = 5 * time.Minute
	MaxAccessTokenValidity     = 24 * time.Hour
	DefaultAccessTokenValidity = 60 * time.Minute
)

// Cognito's quotas that a declaration can pass. The scope limits are hard;
// the per-pool ones are defaults an account can have raised (see Quotas).
const (
	MaxScopesPerResourceServer    = 100
	MaxScopesPerClient            = 50
	DefaultAppClientsPerPool      = contract.AppClientsPerPool
	DefaultResourceServersPerPool = contract.ResourceServersPerPool
	DefaultClientStacks           = 16
	maxClientStacks               = 64
)

// Quotas are the adjustable Cognito and API Gateway quotas of the account
// the pool deploys to. Zero fields mean the defaults; raise a field only
// after the account's quota was raised (Service Quotas), or the deploy fails
// instead.
type Quotas struct {
	// AppClientsPerPool (Cognito). Default: 1,000.
	AppClientsPerPool int
	// ResourceServersPerPool (Cognito). Default: 25.
	ResourceServersPerPool int
	// UsagePlansPerRegion (API Gateway, per account): one per Tier.
	// Default: 300.
	UsagePlansPerRegion int
}

func (q Quotas) withDefaults() Quotas {
	if q.AppClientsPerPool == 0 {
		q.AppClientsPerPool = DefaultAppClientsPerPool
	}
	if q.ResourceServersPerPool == 0 {
		q.ResourceServersPerPool = DefaultResourceServersPerPool
	}
	if q.UsagePlansPerRegion == 0 {
		q.UsagePlansPerRegion = DefaultUsagePlansPerRegion
	}
	return q
}

// AuthServerProps configures an AuthServer.
type AuthServerProps struct {
	// UserPoolName is the Cognito user pool's name.
	// Default: CloudFormation generates a name.
	UserPoolName string

	// ResourceServers declare the custom scopes of the pool. At least one.
	ResourceServers []*ResourceServer

	// Clients are the machine clients, each allowed a subset of the scopes.
	// At least one.
	Clients []ClientProps

	// Domain hosts the /oauth2/token endpoint.
	// Default: a Cognito prefix domain derived from the stack name and the
	// stack's CloudFormation id, unique per deployment.
	Domain Domain

	// Disposable turns off deletion protection and lets CloudFormation delete
	// the user pool with the stack. Use it for throw-away stacks only.
	// Default: false, the pool has deletion protection and RETAIN.
	Disposable bool

	// Quotas are the account's Cognito quotas, checked before anything is
	// created. Default: Cognito's default quotas.
	Quotas Quotas

	// ClientStacks is how many nested stacks the clients are spread over; each
	// client goes to the stack its name hashes to (ClientShard), so adding or
	// removing a client never moves another. Each stack holds two to five
	// resources per client (see MaxClientsPerStack), so 16 stacks carry
	// thousands of clients inside CloudFormation's 500 resources per
	// template. Changing it later moves clients, which replaces them (new
	// client ids and secrets): choose it once. Default: 16.
	ClientStacks int

	// Rotation of the client secrets. Default: every 90 days, the old
	// secret working 7 days more.
	Rotation RotationProps

	// Tiers are rate-limit tiers: each becomes an API Gateway usage plan,
	// each client gets an API key in its tier's plan, and ScopedAPIs that
	// trust the pool require the key on every method. Tiers need rotation
	// (it writes the key's value into the client's secret). Default: none,
	// no API keys.
	Tiers []Tier
	// DefaultTier is the tier of clients whose Tier is empty. Default: none,
	// every client names its tier.
	DefaultTier string

	// TokenBudget is a CloudWatch alarm on the account's client-credentials
	// token requests. Default: on, at 80% of Cognito's 150 per second.
	TokenBudget TokenBudgetProps

	// FeaturePlan is the Cognito feature plan of the pool.
	// Default: LITE. Machines never sign in, so nothing in Essentials or Plus
	// (managed login, user threat protection) applies to client credentials.
	FeaturePlan awscognito.FeaturePlan
}

// ClientProps declares one machine client (an app client that uses the
// client-credentials grant).
type ClientProps struct {
	// Name identifies the client: its Cognito client name, its construct id
	// and its outputs. Letters, digits, '-', '_' and '.'; unique in the pool.
	Name string

	// Scopes the client may request. At least one; each from one of the
	// pool's ResourceServers.
	Scopes []Scope

	// AccessTokenValidity is how long its access tokens live, in whole
	// minutes from 5 minutes to 1 day.
	// Default: 60 minutes.
	AccessTokenValidity time.Duration

	// Tier is the name of the client's rate-limit tier, one of
	// AuthServerProps.Tiers. Default: AuthServerProps.DefaultTier.
	Tier string

	// Suspended cuts the client off without deleting it (its client id and
	// secret stay): the app client may no longer use OAuth flows, so the
	// token endpoint issues it no token; its API key, with tiers, is
	// disabled; and ScopedAPI functions that run the route check refuse its
	// tokens already issued. Default: false.
	Suspended bool
}

// Domain is where the pool's OAuth 2.0 endpoints are served: a PrefixDomain
// or a CustomDomain.
type Domain interface {
	validate() error
}

// PrefixDomain serves the endpoints at
// https://<prefix>.auth.<region>.amazoncognito.com.
type PrefixDomain struct {
	// Prefix must be unique in the region, lowercase letters, digits and
	// hyphens, and must not contain "aws", "amazon" or "cognito".
	// Default: derived from the stack (see AuthServerProps.Domain).
	Prefix string
}

// CustomDomain serves the endpoints at https://<DomainName> and adds a Route53
// alias record for it in HostedZone.
type CustomDomain struct {
	// DomainName is the fully qualified name, e.g. "auth.example.com". Cognito
	// requires an A record for its parent domain ("example.com").
	DomainName string
	// Certificate covers DomainName and must be issued in us-east-1.
	Certificate awscertificatemanager.ICertificate
	// HostedZone receives the alias A record for DomainName.
	HostedZone awsroute53.IHostedZone
}

var (
	domainPrefixPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	reservedPrefixWords = []string{"aws", "amazon", "cognito"}
	// Cognito's patterns for names, identifiers and scope names, minus the
	// characters that would break our construct ids and outputs.
	clientNamePattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	serverNamePattern     = regexp.MustCompile(`^[\w\s+=,.@-]{1,256}$`)
	identifierPattern     = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,256}$`)
	scopeNamePattern      = regexp.MustCompile(`^[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]{1,256}$`)
	domainNamePattern     = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	certificateUsEast1Msg = "Cognito custom domains need an ACM certificate in us-east-1"
)

// Validate reports every problem with the props, each naming the prop and the
// value received. NewAuthServer calls it before creating anything.
func (p *AuthServerProps) Validate() error {
	if p == nil {
		return errors.New("m2mauth: AuthServerProps are required")
	}
	var errs []error
	for _, problem := range p.Problems() {
		errs = append(errs, errors.New("m2mauth: "+problem.String()))
	}
	return errors.Join(errs...)
}

// Problems reports every problem with the props, each at the path of its
// prop ("Clients[3].Scopes[1]", "Tiers[0].RateLimit", "Rotation.Interval")
// with the value received: the checks NewAuthServer makes, for tools that
// read props from configuration and name their own keys (FieldProblem).
func (p *AuthServerProps) Problems() []FieldProblem {
	var problems []FieldProblem
	add := func(field string, value any, format string, args ...any) {
		problems = append(problems, FieldProblem{Field: field, Value: value, Rule: fmt.Sprintf(format, args...)})
	}
	quotas := p.Quotas.withDefaults()
	if p.Quotas.AppClientsPerPool < 0 || p.Quotas.ResourceServersPerPool < 0 || p.Quotas.UsagePlansPerRegion < 0 {
		add("Quotas", fmt.Sprintf("%+v", p.Quotas), "must not be negative (0 means Cognito's default)")
	}
	for _, sub := range []struct {
		prefix   string
		problems []FieldProblem
	}{{"Rotation.", p.Rotation.Problems()}, {"TokenBudget.", p.TokenBudget.Problems()}} {
		for _, problem := range sub.problems {
			problem.Field = sub.prefix + problem.Field
			problems = append(problems, problem)
		}
	}
	if p.ClientStacks < 0 || p.ClientStacks > maxClientStacks {
		add("ClientStacks", p.ClientStacks, "must be from 1 to %d (0 means %d)", maxClientStacks, DefaultClientStacks)
	}

	if len(p.ResourceServers) == 0 {
		add("ResourceServers", nil, "is empty: declare at least one resource server with its scopes")
	}
	if n := len(p.ResourceServers); n > quotas.ResourceServersPerPool {
		add("ResourceServers", nil, "has %d resource servers, over Cognito's quota of %d per user pool (Quotas.ResourceServersPerPool, if your account's quota was raised)", n, quotas.ResourceServersPerPool)
	}
	declared := map[*ResourceServer]bool{}
	identifiers := map[string]int{}
	serverIDs := map[string]int{}
	for i, r := range p.ResourceServers {
		where := fmt.Sprintf("ResourceServers[%d]", i)
		if r == nil {
			add(where, nil, "is nil")
			continue
		}
		if declared[r] {
			add(where, r.identifier, "is listed twice")
		}
		declared[r] = true
		if r.owner != nil {
			add(where, r.identifier, "already belongs to another AuthServer (%s)", *r.owner.Node().Path())
		}
		if !identifierPattern.MatchString(r.identifier) {
			add(where+".Identifier", r.identifier, "must be 1-256 printable characters without spaces, '\"' or '\\'")
		}
		if j, dup := identifiers[r.identifier]; dup {
			add(where+".Identifier", r.identifier, "is already used by ResourceServers[%d]", j)
		} else {
			identifiers[r.identifier] = i
			id := constructID(r.identifier)
			if id == "" {
				add(where+".Identifier", r.identifier, "needs at least one letter or digit")
			} else if j, dup := serverIDs[id]; dup {
				add(where+".Identifier", r.identifier, "differs from ResourceServers[%d] only in punctuation or case", j)
			}
			serverIDs[id] = i
		}
		if !serverNamePattern.MatchString(r.name) {
			add(where+".Name", r.name, "must be 1-256 letters, digits, spaces or + = , . @ -")
		}
		if len(r.scopes) == 0 {
			add(where, r.identifier, "declares no scopes: add at least one with AddScope")
		}
		if n := len(r.scopes); n > MaxScopesPerResourceServer {
			add(where, r.identifier, "declares %d scopes, over Cognito's hard limit of %d custom scopes per resource server: spread them over more resource servers", n, MaxScopesPerResourceServer)
		}
		scopeNames := map[string]bool{}
		for k, s := range r.scopes {
			at := fmt.Sprintf("%s.Scopes[%d]", where, k)
			if !scopeNamePattern.MatchString(s.name) {
				add(at, s.name, "must be 1-256 printable characters without spaces, '/', '\"' or '\\'")
			}
			if scopeNames[s.name] {
				add(at, s.name, "is declared twice on %q", r.identifier)
			}
			scopeNames[s.name] = true
			if l := len(s.description); l < 1 || l > 256 {
				add(at, s.name, "needs a description of 1-256 characters (got %d)", l)
			}
		}
	}

	if len(p.Clients) == 0 {
		add("Clients", nil, "is empty: declare at least one machine client")
	}
	if n := len(p.Clients); n > quotas.AppClientsPerPool {
		add("Clients", nil, "has %d clients, over Cognito's quota of %d app clients per user pool (Quotas.AppClientsPerPool, if your account's quota was raised)", n, quotas.AppClientsPerPool)
	}
	clientNames := map[string]int{}
	clientIDs := map[string]int{}
	for i, c := range p.Clients {
		where := fmt.Sprintf("Clients[%d]", i)
		if err := ValidateClientName(c.Name); err != nil {
			add(where+".Name", nil, "%v", err)
		}
		key := strings.ToLower(c.Name)
		if j, dup := clientNames[key]; dup {
			add(where+".Name", c.Name, "is already used by Clients[%d] (names differing only in case count as one)", j)
		} else {
			clientNames[key] = i
			id := constructID(c.Name)
			if j, dup := clientIDs[id]; dup {
				add(where+".Name", c.Name, "differs from Clients[%d] only in punctuation, which their outputs cannot tell apart", j)
			}
			clientIDs[id] = i
		}
		if len(c.Scopes) == 0 {
			add(where+".Scopes", nil, "is empty: a client-credentials client needs at least one custom scope")
		}
		if n := len(c.Scopes); n > MaxScopesPerClient {
			add(where+".Scopes", nil, "has %d scopes, over Cognito's hard limit of %d per app client", n, MaxScopesPerClient)
		}
		seen := map[Scope]int{}
		for k, s := range c.Scopes {
			at := fmt.Sprintf("%s.Scopes[%d]", where, k)
			switch j, dup := seen[s]; {
			case s.IsZero():
				add(at, nil, "is the zero Scope: use a Scope returned by ResourceServer.AddScope")
			case !declared[s.server]:
				add(at, s.String(), "comes from resource server %q, which is not in ResourceServers", s.server.identifier)
			case !slices.Contains(s.server.scopeNames(), s.name):
				add(at, nil, "%v", mustLookup(s))
			case dup:
				add(at, s.String(), "is already listed at Scopes[%d]", j)
			}
			seen[s] = k
		}
		if v := c.AccessTokenValidity; v != 0 {
			if v < MinAccessTokenValidity || v > MaxAccessTokenValidity {
				add(where+".AccessTokenValidity", v, "is outside the range Cognito accepts, %d to %d minutes", int(MinAccessTokenValidity.Minutes()), int(MaxAccessTokenValidity.Minutes()))
			} else if v%time.Minute != 0 {
				add(where+".AccessTokenValidity", v, "must be a whole number of minutes")
			}
		}
	}

	if shards := p.ClientStacks; shards >= 0 && shards <= maxClientStacks {
		if shards == 0 {
			shards = DefaultClientStacks
		}
		counts := make([]int, shards)
		for _, c := range p.Clients {
			counts[ClientShard(c.Name, shards)]++
		}
		limit := p.MaxClientsPerStack()
		for n, count := range counts {
			if count > limit {
				add("ClientStacks", nil, "is too few: client stack %d of %d would hold %d clients, over the %d that keep it (%d resources each) inside CloudFormation's 500 resources per template: raise ClientStacks (which moves, and so replaces, existing clients)", n, shards, count, limit, p.clientResources())
			}
		}
	}
	problems = append(problems, p.tierProblems(quotas)...)

	switch p.Domain.(type) {
	case nil, PrefixDomain, CustomDomain:
		if p.Domain != nil {
			if err := p.Domain.validate(); err != nil {
				for _, line := range strings.Split(err.Error(), "\n") {
					add("Domain", nil, "is invalid: %s", line)
				}
			}
		}
	default:
		add("Domain", fmt.Sprintf("%T", p.Domain), "must be a PrefixDomain or a CustomDomain value")
	}
	return problems
}

// FieldProblem is one bad prop: Field is its path ("Clients[3].Scopes[1]",
// "Rotation.Interval"), Value the value it had (after defaults; nil when the
// rule says it all), and Rule what it must be. Tools that read props from
// configuration map Field to their own key; the constructs name the prop.
type FieldProblem struct {
	Field string
	Value any
	Rule  string
}

// String is the problem as one line: "Clients[1].Name "x" is already used
// by Clients[0]".
func (f FieldProblem) String() string {
	switch v := f.Value.(type) {
	case nil:
		return f.Field + " " + f.Rule
	case string:
		return fmt.Sprintf("%s %q %s", f.Field, v, f.Rule)
	default:
		return fmt.Sprintf("%s %v %s", f.Field, v, f.Rule)
	}
}

// ValidateClientName reports whether name can name a client: its Cognito
// client name, construct id and outputs.
func ValidateClientName(name string) error {
	if !clientNamePattern.MatchString(name) {
		return fmt.Errorf("%q must start with a letter or digit and hold 1-128 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

func mustLookup(s Scope) error {
	_, err := s.server.Lookup(s.name)
	return err
}

func (d PrefixDomain) validate() error {
	if d.Prefix == "" || unresolved(d.Prefix) {
		return nil
	}
	return validatePrefix(d.Prefix)
}

func validatePrefix(prefix string) error {
	if !domainPrefixPattern.MatchString(prefix) {
		return fmt.Errorf("Prefix %q must be 1-63 lowercase letters, digits or hyphens, starting and ending with a letter or digit", prefix)
	}
	for _, w := range reservedPrefixWords {
		if strings.Contains(prefix, w) {
			return fmt.Errorf("Prefix %q must not contain the reserved word %q", prefix, w)
		}
	}
	return nil
}

func (d CustomDomain) validate() error {
	var errs []error
	if d.DomainName == "" {
		errs = append(errs, errors.New("CustomDomain.DomainName is required"))
	} else if !unresolved(d.DomainName) && !domainNamePattern.MatchString(d.DomainName) {
		errs = append(errs, fmt.Errorf("CustomDomain.DomainName %q is not a fully qualified lowercase domain name", d.DomainName))
	}
	if d.Certificate == nil {
		errs = append(errs, fmt.Errorf("CustomDomain.Certificate is required (%s)", certificateUsEast1Msg))
	} else if region := certificateRegion(d.Certificate); region != "" && region != "us-east-1" {
		errs = append(errs, fmt.Errorf("CustomDomain.Certificate %s is in %s: %s", *d.Certificate.CertificateArn(), region, certificateUsEast1Msg))
	}
	if d.HostedZone == nil {
		errs = append(errs, errors.New("CustomDomain.HostedZone is required for the alias record"))
	} else if zone := d.HostedZone.ZoneName(); zone != nil && !unresolved(*zone) &&
		!unresolved(d.DomainName) && d.DomainName != "" &&
		!strings.HasSuffix(d.DomainName, "."+strings.TrimSuffix(*zone, ".")) {
		errs = append(errs, fmt.Errorf("CustomDomain.DomainName %q is not inside HostedZone %q", d.DomainName, *zone))
	}
	return errors.Join(errs...)
}

// certificateRegion is the certificate's region when it is known at synth
// time: from its ARN, or else from the stack it was created in.
func certificateRegion(cert awscertificatemanager.ICertificate) string {
	if arn := *cert.CertificateArn(); !unresolved(arn) {
		if parts := strings.SplitN(arn, ":", 5); len(parts) == 5 && parts[2] == "acm" {
			return parts[3]
		}
	}
	if region := cert.Env().Region; region != nil && !unresolved(*region) {
		return *region
	}
	return ""
}

// constructID is the name as PascalCase letters and digits, for construct
// ids and output names.
func constructID(name string) string { return contract.Key(name) }

// unresolved reports whether s holds a CDK token, whose value is only known at
// deploy time and so cannot be judged here.
func unresolved(s string) bool {
	return *awscdk.Token_IsUnresolved(jsii.String(s))
}
