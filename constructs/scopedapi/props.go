package scopedapi

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/routetable"
)

// Defaults of the stage.
const (
	DefaultStageName            = "api"
	DefaultThrottlingRateLimit  = 50
	DefaultThrottlingBurstLimit = 100
)

// Authority is the side of the authorizer: the user pool whose access tokens
// the API trusts, and which scopes that pool issues. *m2mauth.AuthServer is
// one; ImportedPool describes a pool built elsewhere.
type Authority interface {
	// Pool is the user pool the Cognito authorizer trusts.
	Pool() awscognito.IUserPool
	// Issues reports whether the pool issues the scope, written as in
	// tokens: "<resource server identifier>/<scope name>".
	Issues(scope string) bool
}

// RateLimitedAuthority is an Authority whose clients belong to rate-limit
// tiers (*m2mauth.AuthServer with AuthServerProps.Tiers): a ScopedAPI that
// trusts it adds its stage to every tier's usage plan and requires an API key
// (x-api-key) on every method, and the guard refuses methods that do not.
type RateLimitedAuthority interface {
	Authority
	// TierPlans are the tiers and their usage plans; none means no API keys.
	TierPlans() []m2mauth.TierPlan
}

// tierPlans are auth's tiers, none when it has no RateLimitedAuthority side.
func tierPlans(auth Authority) []m2mauth.TierPlan {
	if r, ok := auth.(RateLimitedAuthority); ok {
		return r.TierPlans()
	}
	return nil
}

// ImportedPool is an Authority for a user pool this construct does not build:
// one from another stack, or awscognito.UserPool_FromUserPoolArn. Its
// resource servers are declared again with m2mauth.NewResourceServer and
// AddScope, exactly as the pool has them, so that routes name typed scopes;
// they are declarations only and create nothing.
type ImportedPool struct {
	UserPool        awscognito.IUserPool
	ResourceServers []*m2mauth.ResourceServer
}

// Pool is the imported pool.
func (p ImportedPool) Pool() awscognito.IUserPool { return p.UserPool }

// Issues reports whether one of the declared resource servers has the scope.
func (p ImportedPool) Issues(scope string) bool {
	_, err := m2mauth.ParseScope(p.ResourceServers, scope)
	return err == nil
}

// Route is one method of the API: who may call it is part of its declaration.
type Route struct {
	// Method is GET, POST, PUT, PATCH, DELETE, HEAD or ANY.
	Method string
	// Path is the API Gateway resource path: "/", "/events", "/{id}",
	// "/{proxy+}" (greedy, last segment only).
	Path string
	// Scopes: a token needs at least one of them (API Gateway ORs them).
	// At least one, each issued by the API's Authority.
	Scopes []m2mauth.Scope
	// BodySchema, when set, makes API Gateway validate JSON bodies against it
	// and refuse malformed ones before the backend runs.
	BodySchema *awsapigateway.JsonSchema
	// Integration is the backend of this route: an HTTP endpoint, another
	// AWS service, a mock. Default: the Lambda proxy integration of
	// ScopedAPIProps.Handler.
	Integration awsapigateway.Integration
}

// ProxyRoutes declares ANY on "/" and on "/{proxy+}": every method and path
// goes to the backend, and every call needs one of scopes.
func ProxyRoutes(scopes ...m2mauth.Scope) []Route {
	return []Route{
		{Method: routetable.AnyMethod, Path: "/", Scopes: scopes},
		{Method: routetable.AnyMethod, Path: "/{proxy+}", Scopes: scopes},
	}
}

// RouteTableDelivery is how the route table reaches the Handler.
type RouteTableDelivery string

const (
	// RouteTableInLayer adds a Lambda layer holding the table to the Handler
	// and names its file in SCOPEGATE_ROUTES_FILE (routetable.Load reads it).
	// The Handler must be an awslambda.Function, or an Alias or Version of
	// one (the layer goes to the function; point the alias at
	// fn.CurrentVersion() so that a new version carries it).
	RouteTableInLayer RouteTableDelivery = "layer"
	// RouteTableByYou leaves the delivery to you: ship ScopedAPI.RouteTable
	// with your function (an imported function, say) some other way.
	RouteTableByYou RouteTableDelivery = "manual"
)

// ScopedAPIProps configures a ScopedAPI.
type ScopedAPIProps struct {
	// Auth is the pool whose access tokens the API trusts and whose scopes
	// the routes name: an *m2mauth.AuthServer, or an ImportedPool.
	Auth Authority
	// Handler serves every route that has no Integration of its own, through
	// a Lambda proxy integration with one invoke permission for the API.
	// Required unless every route has an Integration.
	Handler awslambda.IFunction
	// RouteTableDelivery says how Handler gets the route table to re-check
	// scopes (package routeauth). Default: RouteTableInLayer.
	RouteTableDelivery RouteTableDelivery
	// SharedHandler lets Handler serve other ScopedAPIs too: the function
	// then re-checks the union of their route tables, and a route two of them
	// declare must need the same scopes in both. Every ScopedAPI that shares
	// the Handler sets it. Default: false, and a second ScopedAPI binding the
	// same function fails synthesis.
	SharedHandler bool
	// Routes of the API. At least one.
	Routes []Route

	// RestAPI, when set, is an existing REST API to add the routes to: the
	// ScopedAPI adds its authorizer, request validator, gateway responses and
	// guard, and leaves the API's stage, logs and name as you set them (the
	// stage props below must then be unset). Default: a new regional API.
	RestAPI awsapigateway.RestApi
	// RestAPIName is the API's name. Default: the construct's path.
	RestAPIName string
	// StageName of the deployment. Default: "api".
	StageName string
	// ThrottlingRateLimit (requests per second) and ThrottlingBurstLimit apply
	// to every method of the stage. Default: 50 and 100.
	ThrottlingRateLimit  float64
	ThrottlingBurstLimit int
	// CreateCloudWatchRole creates the account's API Gateway CloudWatch role
	// (AWS::ApiGateway::Account). There is one per account and region, and a
	// stack that creates it overwrites whatever another stack set, so it is
	// off by default; execution logging needs that role to exist, so turn it
	// on in exactly one stack per account and region, or set it up once by hand.
	// Default: false.
	CreateCloudWatchRole bool
	// WebACLArn, when set, associates this AWS WAFv2 web ACL (REGIONAL scope)
	// with the stage. Default: none.
	WebACLArn string
	// AccessLogRetention of the access log group. Default: one month.
	AccessLogRetention awslogs.RetentionDays
	// Disposable deletes the access log group with the stack. Default: RETAIN.
	Disposable bool
	// NoDashboard leaves out the API's dashboard and its four Contributor
	// Insights rules (about $3 and $2 a month, plus $0.02 per million
	// requests logged; docs/operations.md). Default: false.
	NoDashboard bool
}

var (
	methods       = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, routetable.AnyMethod: true}
	segment       = regexp.MustCompile(`^(?:[A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\}|\{proxy\+\})$`)
	stageNameRule = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
)

// Validate reports every problem with the props, naming prop and value.
func (p *ScopedAPIProps) Validate() error {
	if p == nil {
		return errors.New("scopedapi: ScopedAPIProps are required")
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("scopedapi: "+format, args...)) }
	if p.Auth == nil {
		add("Auth is required: the AuthServer (or ImportedPool) whose pool the authorizer trusts")
	}
	if len(p.Routes) == 0 {
		add("Routes is empty: declare at least one route")
	}
	needsHandler := false
	seen := map[string]int{}
	for i, r := range p.Routes {
		where := fmt.Sprintf("Routes[%d] %s %s", i, r.Method, r.Path)
		if !methods[r.Method] {
			add("%s: Method %q must be one of GET, POST, PUT, PATCH, DELETE, HEAD, ANY", where, r.Method)
		}
		if err := validatePath(r.Path); err != nil {
			add("%s: Path %q %v", where, r.Path, err)
		}
		key := r.Method + " " + r.Path
		if j, dup := seen[key]; dup {
			add("%s is declared again (first at Routes[%d])", where, j)
		}
		seen[key] = i
		if len(r.Scopes) == 0 {
			add("%s has no Scopes: every route needs at least one, or API Gateway would accept ID tokens and no access token", where)
		}
		for k, s := range r.Scopes {
			if msg := scopeProblem(p.Auth, s); msg != "" {
				add("%s: Scopes[%d] %s", where, k, msg)
			}
		}
		if r.Integration == nil {
			needsHandler = true
		}
	}
	if p.Handler == nil && needsHandler {
		add("Handler is required: the function behind the routes that have no Integration")
	}
	switch p.RouteTableDelivery {
	case "", RouteTableInLayer, RouteTableByYou:
	default:
		add("RouteTableDelivery %q must be RouteTableInLayer or RouteTableByYou", p.RouteTableDelivery)
	}
	if p.RestAPI != nil {
		for _, set := range []struct {
			name string
			set  bool
		}{
			{"RestAPIName", p.RestAPIName != ""}, {"StageName", p.StageName != ""},
			{"ThrottlingRateLimit", p.ThrottlingRateLimit != 0}, {"ThrottlingBurstLimit", p.ThrottlingBurstLimit != 0},
			{"CreateCloudWatchRole", p.CreateCloudWatchRole}, {"WebACLArn", p.WebACLArn != ""},
			{"AccessLogRetention", p.AccessLogRetention != ""},
		} {
			if set.set {
				add("%s is set, but RestAPI is an existing API whose stage and name are yours: set them on it", set.name)
			}
		}
	}
	if p.StageName != "" && !stageNameRule.MatchString(p.StageName) {
		add("StageName %q must be 1-128 letters, digits, '-' or '_'", p.StageName)
	}
	if p.ThrottlingRateLimit < 0 {
		add("ThrottlingRateLimit %v must be positive", p.ThrottlingRateLimit)
	}
	if p.ThrottlingBurstLimit < 0 {
		add("ThrottlingBurstLimit %d must be positive", p.ThrottlingBurstLimit)
	}
	return errors.Join(errs...)
}

// scopeProblem says why a route may not use s, or "" when it may.
func scopeProblem(auth Authority, s m2mauth.Scope) string {
	switch {
	case s.IsZero():
		return "is the zero Scope"
	case auth == nil:
		return ""
	}
	if server, ok := auth.(*m2mauth.AuthServer); ok {
		if !server.Owns(s) {
			return fmt.Sprintf("%q is not declared by this API's AuthServer (%s)", s.String(), *server.Node().Path())
		}
		return ""
	}
	if !auth.Issues(s.String()) {
		return fmt.Sprintf("%q is not issued by this API's pool (declare its resource server in ImportedPool.ResourceServers)", s.String())
	}
	return ""
}

func validatePath(path string) error {
	if path == "/" {
		return nil
	}
	if !strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		return errors.New(`must start with "/" and not end with one`)
	}
	parts := strings.Split(path[1:], "/")
	for i, part := range parts {
		if !segment.MatchString(part) {
			return fmt.Errorf("has an invalid segment %q", part)
		}
		if part == "{proxy+}" && i != len(parts)-1 {
			return errors.New(`may only use {proxy+} as its last segment`)
		}
	}
	return nil
}
