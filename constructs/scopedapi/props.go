package scopedapi

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/lambda/routeauth"
)

// Defaults of the stage.
const (
	DefaultStageName            = "api"
	DefaultThrottlingRateLimit  = 50
	DefaultThrottlingBurstLimit = 100
)

// Route is one method of the API: who may call it is part of its declaration.
type Route struct {
	// Method is GET, POST, PUT, PATCH, DELETE, HEAD or ANY.
	Method string
	// Path is the API Gateway resource path: "/", "/events", "/{id}",
	// "/{proxy+}" (greedy, last segment only).
	Path string
	// Scopes: a token needs at least one of them (API Gateway ORs them).
	// At least one, each from the API's AuthServer.
	Scopes []m2mauth.Scope
	// BodySchema, when set, makes API Gateway validate JSON bodies against it
	// and refuse malformed ones before the function runs.
	BodySchema *awsapigateway.JsonSchema
}

// ProxyRoutes declares ANY on "/" and on "/{proxy+}": every method and path
// goes to the function, and every call needs one of scopes.
func ProxyRoutes(scopes ...m2mauth.Scope) []Route {
	return []Route{
		{Method: routeauth.AnyMethod, Path: "/", Scopes: scopes},
		{Method: routeauth.AnyMethod, Path: "/{proxy+}", Scopes: scopes},
	}
}

// ScopedAPIProps configures a ScopedAPI.
type ScopedAPIProps struct {
	// Auth is the authorization server whose pool the authorizer trusts and
	// whose scopes the routes name.
	Auth *m2mauth.AuthServer
	// Handler serves every route through a Lambda proxy integration, with one
	// invoke permission for the stage. When it is an awslambda.Function, it
	// receives the route table in a layer, named by SCOPEGATE_ROUTES_FILE, so
	// that it can re-check scopes (package routeauth).
	Handler awslambda.IFunction
	// Routes of the API. At least one.
	Routes []Route
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
}

var (
	methods       = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, routeauth.AnyMethod: true}
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
		add("Auth is required: the AuthServer whose pool the authorizer trusts")
	}
	if p.Handler == nil {
		add("Handler is required: the function behind the routes")
	}
	if len(p.Routes) == 0 {
		add("Routes is empty: declare at least one route")
	}
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
			switch {
			case s.IsZero():
				add("%s: Scopes[%d] is the zero Scope", where, k)
			case p.Auth != nil && !p.Auth.Owns(s):
				add("%s: Scopes[%d] %q is not declared by this API's AuthServer (%s)", where, k, s.String(), p.Auth.Node().Path())
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
