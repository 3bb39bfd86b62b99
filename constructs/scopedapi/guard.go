package scopedapi

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/apiguard"
	"github.com/scopegate/scopegate/constructs/m2mauth"
)

// Guard makes synthesis fail when any method of api, whoever built it
// (a ScopedAPI, your own code, another library), does not require an access
// token from auth's pool with a scope: authorization type
// COGNITO_USER_POOLS, an authorizer that trusts exactly auth's pool, and
// non-empty scopes that the pool issues. Without scopes API Gateway's
// Cognito authorizer accepts any ID token of the pool and refuses access
// tokens. The only exception is an OPTIONS method that is a CORS preflight
// (a MOCK integration answering Access-Control-Allow-* headers). When auth
// has rate-limit tiers (RateLimitedAuthority), every method must also
// require an API key, or its callers would escape their tier's limits.
//
// It works at two depths:
//   - in the construct tree, when the app is synthesized: methods under the
//     API without COGNITO_USER_POOLS, without scopes, with a scope the pool
//     does not issue, or without a required API key fail synthesis with one
//     message, early and with construct names;
//   - in the synthesized assembly, with package apiguard: Guard marks the
//     API's AWS::ApiGateway::RestApi with the apiguard.MetadataKey metadata,
//     and apiguard.CheckDir (which scopegate's app and the consumer example
//     run after every synth) judges every method of every template whose
//     RestApiId resolves to it, nested stacks, other stacks, escape hatches
//     and late aspects included, and its authorizer as deployed. That check
//     is the one that cannot be walked around; the authorizer and CORS
//     checks live only there, where imported pools, L1 authorizers and
//     AddCorsPreflight can be read as they will deploy.
//
// A ScopedAPI guards its own API; call Guard for a RestApi you build
// yourself:
//
//	scopedapi.Guard(myAPI, auth)
//
// api should be the RestApi construct that defines the API: an imported
// one (RestApi_FromRestApiId) has no template resource to mark, so only
// the construct-tree check applies to it.
func Guard(api awsapigateway.IRestApi, auth Authority) {
	if api == nil || auth == nil {
		panic(errors.New("scopedapi: Guard needs the REST API and the Authority whose pool it trusts"))
	}
	keys := len(tierPlans(auth)) > 0
	g := &guard{api: api, apiPath: *api.Node().Path(), auth: auth, keys: keys}
	api.Node().AddValidation(g)
	if cfn, ok := api.Node().DefaultChild().(awsapigateway.CfnRestApi); ok {
		cfn.AddMetadata(jsii.String(apiguard.MetadataKey), map[string]any{
			"providerArns": []any{auth.Pool().UserPoolArn()},
			"scopes":       issuedScopes(auth),
			"apiKeys":      keys,
			"construct":    g.apiPath,
		})
	}
}

// issuedScopes lists the scopes auth's pool issues, when it can tell; the
// assembly check adds those of the pool's resource servers it finds.
func issuedScopes(auth Authority) []string {
	var servers []*m2mauth.ResourceServer
	switch a := auth.(type) {
	case *m2mauth.AuthServer:
		servers = a.ResourceServers
	case ImportedPool:
		servers = a.ResourceServers
	}
	scopes := []string{}
	for _, server := range servers {
		for _, s := range server.Scopes() {
			scopes = append(scopes, s.String())
		}
	}
	return scopes
}

// guard judges every CloudFormation method under the API when the tree is
// validated, after every aspect has run.
type guard struct {
	api     awsapigateway.IRestApi
	apiPath string
	auth    Authority
	keys    bool // every method must require an API key
}

// methodFacts is what the guard needs of one method.
type methodFacts struct {
	method            awsapigateway.CfnMethod
	httpMethod        string
	authorizationType string
	scopes            []string
	apiKeyRequired    bool
}

// readMethod reads the method's properties in one call into the CDK. Each
// call is a round trip to the jsii kernel, and each made while the CDK is
// calling Go, as in Validate, deepens Node.js's stack until the callback
// returns: with one call per method a stack holds far fewer methods than
// would overflow it (CloudFormation takes 500 resources per stack; the
// bench's scale app read 2,500 methods in one Validate and overflowed at
// 3,000).
func readMethod(m awsapigateway.CfnMethod) methodFacts {
	props := *m.CfnProperties()
	facts := methodFacts{method: m, authorizationType: "(none)"}
	facts.httpMethod, _ = props["httpMethod"].(string)
	if t, ok := props["authorizationType"].(string); ok {
		facts.authorizationType = t
	}
	facts.apiKeyRequired, _ = props["apiKeyRequired"].(bool)
	if scopes, ok := props["authorizationScopes"].([]any); ok {
		for _, s := range scopes {
			if s, ok := s.(string); ok {
				facts.scopes = append(facts.scopes, s)
			}
		}
	}
	return facts
}

// where names a method at fault: "GET /orders", or its construct path for
// a CfnMethod that is no Method's.
func (m methodFacts) where() string {
	if method, ok := m.method.Node().Scope().(awsapigateway.Method); ok {
		return m.httpMethod + " " + *method.Resource().Path()
	}
	return m.httpMethod + " " + *m.method.Node().Path()
}

// Validate judges every method under the API; CDK fails synthesis with
// these messages. OPTIONS methods and authorizers are judged on the assembly
// (package apiguard), where a CORS preflight and the pool an authorizer
// trusts can be read as they deploy.
func (g *guard) Validate() *[]*string {
	var problems []string
	for _, c := range *g.api.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		cfn, ok := c.(awsapigateway.CfnMethod)
		if !ok {
			continue
		}
		m := readMethod(cfn)
		if m.httpMethod == "OPTIONS" {
			continue
		}
		var wrong []string
		if m.authorizationType != "COGNITO_USER_POOLS" {
			wrong = append(wrong, fmt.Sprintf("authorization type %s, not COGNITO_USER_POOLS", m.authorizationType))
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
		if len(wrong) > 0 {
			problems = append(problems, m.where()+": "+strings.Join(wrong, "; "))
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
