package scopedapi

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Guard makes synthesis fail when any method of api, whoever built it
// (a ScopedAPI, your own code, another library), does not require an access
// token from auth's pool with a scope: authorization type
// COGNITO_USER_POOLS, an authorizer that trusts auth's pool, and non-empty
// scopes that the pool issues. Without scopes API Gateway's Cognito
// authorizer accepts any ID token of the pool and refuses access tokens. The
// only exception is the OPTIONS method CDK adds for CORS preflight, and only
// on resources where CORS is configured. When auth has rate-limit tiers
// (RateLimitedAuthority), every method must also require an API key, or its
// callers would escape their tier's limits.
//
// The check runs when the app is synthesized, so methods added after the
// call are checked too, and the failure lists every method at fault. A
// ScopedAPI guards its own API; call Guard for a RestApi you build yourself:
//
//	scopedapi.Guard(myAPI, auth)
func Guard(api awsapigateway.IRestApi, auth Authority) {
	if api == nil || auth == nil {
		panic(errors.New("scopedapi: Guard needs the REST API and the Authority whose pool it trusts"))
	}
	g := &guard{apiPath: *api.Node().Path(), stack: awscdk.Stack_Of(api), auth: auth, methods: map[string]methodFacts{}, keys: len(tierPlans(auth)) > 0}
	awscdk.Aspects_Of(api).Add(g, nil)
	api.Node().AddValidation(g)
}

// guard reads each method as the aspect reaches it, and judges them all when
// the tree is validated. The work is split so because every call into the
// CDK made while the CDK is calling Go deepens Node.js's stack: reading
// hundreds of methods in one visit overflows it.
type guard struct {
	apiPath string
	stack   awscdk.Stack
	auth    Authority
	methods map[string]methodFacts
	keys    bool // every method must require an API key
}

// methodFacts is what the guard needs of one method.
type methodFacts struct {
	where             string // "GET /orders"
	httpMethod        string
	cors              bool // CORS preflight is configured on its resource
	authorizationType string
	authorizerID      string
	scopes            []string
	apiKeyRequired    bool
}

// Visit records the facts of each CloudFormation method under the API.
func (g *guard) Visit(node constructs.IConstruct) {
	m, ok := node.(awsapigateway.CfnMethod)
	if !ok {
		return
	}
	facts := methodFacts{httpMethod: *m.HttpMethod(), authorizationType: value(m.AuthorizationType())}
	if required, ok := m.ApiKeyRequired().(bool); ok {
		facts.apiKeyRequired = required
	}
	if id := m.AuthorizerId(); id != nil {
		facts.authorizerID = *id
	}
	if s := m.AuthorizationScopes(); s != nil {
		for _, scope := range *s {
			facts.scopes = append(facts.scopes, *scope)
		}
	}
	if method, ok := m.Node().Scope().(awsapigateway.Method); ok {
		facts.where = facts.httpMethod + " " + *method.Resource().Path()
		facts.cors = method.Resource().DefaultCorsPreflightOptions() != nil
	} else {
		facts.where = facts.httpMethod + " " + *m.Node().Path()
	}
	g.methods[*m.Node().Path()] = facts
}

// Validate judges every method recorded; CDK fails synthesis with these
// messages.
func (g *guard) Validate() *[]*string {
	trusted := g.trustedAuthorizers()
	var problems []string
	for _, m := range g.methods {
		if m.httpMethod == "OPTIONS" && m.cors {
			continue
		}
		var wrong []string
		if m.authorizationType != "COGNITO_USER_POOLS" {
			wrong = append(wrong, fmt.Sprintf("authorization type %s, not COGNITO_USER_POOLS", m.authorizationType))
		} else if !trusted[m.authorizerID] {
			wrong = append(wrong, "an authorizer that does not trust the pool "+*g.auth.Pool().Node().Path())
		}
		if len(m.scopes) == 0 {
			wrong = append(wrong, "no authorization scopes")
		}
		for _, s := range m.scopes {
			if !g.auth.Issues(s) {
				wrong = append(wrong, fmt.Sprintf("scope %q, which the pool does not issue", s))
			}
		}
		if g.keys && !m.apiKeyRequired {
			wrong = append(wrong, "no API key required, but the pool's clients are rate-limited by their keys")
		}
		if m.httpMethod == "OPTIONS" && len(wrong) > 0 {
			wrong = append(wrong, "and no CORS preflight is configured on its resource")
		}
		if len(wrong) > 0 {
			problems = append(problems, m.where+": "+strings.Join(wrong, "; "))
		}
	}
	if len(problems) == 0 {
		return &[]*string{}
	}
	sort.Strings(problems)
	msg := fmt.Sprintf("scopedapi: REST API %s is guarded: every method must require an access token of its pool with a scope, but:\n  %s",
		g.apiPath, strings.Join(problems, "\n  "))
	return &[]*string{jsii.String(msg)}
}

// trustedAuthorizers are the ids (as tokens) of the Cognito authorizers, in
// the API's stack, whose providers include the pool. A method and its
// authorizer share one token per reference, so the strings compare.
func (g *guard) trustedAuthorizers() map[string]bool {
	poolArn := *g.auth.Pool().UserPoolArn()
	trusted := map[string]bool{}
	for _, c := range *g.stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		a, ok := c.(awsapigateway.CfnAuthorizer)
		if !ok || value(a.Type()) != "COGNITO_USER_POOLS" || a.ProviderArns() == nil {
			continue
		}
		for _, arn := range *a.ProviderArns() {
			if *arn == poolArn {
				trusted[*a.Ref()] = true
			}
		}
	}
	return trusted
}

func value(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}
