package stacks

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/contract"
)

// CustomDomain names an existing certificate and hosted zone for a custom
// Cognito domain.
type CustomDomain struct {
	// DomainName is the token endpoint's host, e.g. "auth.example.com".
	DomainName string
	// CertificateArn is an ACM certificate in us-east-1 covering DomainName.
	CertificateArn string
	// HostedZoneID and HostedZoneName identify the Route53 zone that receives
	// the alias record.
	HostedZoneID   string
	HostedZoneName string
}

// ProxyAPI is the "default" resource server with its one scope: a plain
// declaration, so that configuration resolves scope names against it before
// any stack exists.
type ProxyAPI struct {
	Server       *m2mauth.ResourceServer
	DefaultScope m2mauth.Scope
}

// NewProxyAPI declares the "default" resource server.
func NewProxyAPI() *ProxyAPI {
	server := m2mauth.NewResourceServer("default", "Custom default resource server")
	return &ProxyAPI{Server: server, DefaultScope: server.AddScope("default", "Custom default scope")}
}

// OwnClients are the clients the stack declares itself.
func (p *ProxyAPI) OwnClients() []m2mauth.ClientProps {
	return []m2mauth.ClientProps{{Name: ThirdPartyClientName, Scopes: []m2mauth.Scope{p.DefaultScope}}}
}

// ThirdPartyProxyStackProps configures the third-party proxy stack.
type ThirdPartyProxyStackProps struct {
	awscdk.StackProps
	// DomainPrefix is the Cognito prefix domain, when CustomDomain is nil.
	// Default: derived from the stack.
	DomainPrefix string
	// CustomDomain, when set, serves the token endpoint on your own domain.
	CustomDomain *CustomDomain
	// API declares the resource server; ServiceOptions.Clients take their
	// scopes from it. Default: NewProxyAPI().
	API *ProxyAPI
	ServiceOptions
}

// ThirdPartyProxyStack gives third-party integrators client credentials for
// one "default/default" scope that opens the whole proxied API: ANY on "/" and
// "/{proxy+}", passed to the same weather-events service.
type ThirdPartyProxyStack struct {
	awscdk.Stack
	Auth         *m2mauth.AuthServer
	DefaultScope m2mauth.Scope
	API          *scopedapi.ScopedAPI
	Service      weatherService
}

// ThirdPartyClientName is the name of the third-party proxy stack's client.
const ThirdPartyClientName = "ThirdPartyAppClient"

// NewThirdPartyProxyStack builds the third-party proxy stack.
func NewThirdPartyProxyStack(scope constructs.Construct, id string, props *ThirdPartyProxyStackProps) *ThirdPartyProxyStack {
	if props == nil {
		props = &ThirdPartyProxyStackProps{}
	}
	if c := props.CustomDomain; c != nil {
		var errs []error
		for _, p := range c.Problems() {
			errs = append(errs, fmt.Errorf("stacks: CustomDomain.%s", p))
		}
		if len(errs) > 0 {
			panic(errors.Join(errs...))
		}
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)
	declared := props.API
	if declared == nil {
		declared = NewProxyAPI()
	}
	var domain m2mauth.Domain = m2mauth.PrefixDomain{Prefix: props.DomainPrefix}
	if c := props.CustomDomain; c != nil {
		domain = importCustomDomain(stack, *c)
	}
	auth := m2mauth.NewAuthServer(stack, contract.DefaultAuthPrefix, authServerProps(stack, []*m2mauth.ResourceServer{declared.Server}, declared.OwnClients(), domain, props.ServiceOptions))
	service, api := serveWeatherEvents(stack, auth, "", props.ServiceOptions, scopedapi.ProxyRoutes(declared.DefaultScope))
	return &ThirdPartyProxyStack{Stack: stack, Auth: auth, DefaultScope: declared.DefaultScope, API: api, Service: service}
}

var certificateArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$`)

// Problems reports every missing field and a certificate ARN that is not an
// ACM certificate's, before anything is imported; m2mauth checks the rest
// (us-east-1, the domain inside the zone).
func (c CustomDomain) Problems() []m2mauth.FieldProblem {
	var problems []m2mauth.FieldProblem
	for _, f := range []struct{ name, value string }{
		{"DomainName", c.DomainName}, {"CertificateArn", c.CertificateArn},
		{"HostedZoneID", c.HostedZoneID}, {"HostedZoneName", c.HostedZoneName},
	} {
		if f.value == "" {
			problems = append(problems, m2mauth.FieldProblem{Field: f.name, Rule: "is required"})
		}
	}
	if c.CertificateArn != "" && !certificateArnPattern.MatchString(c.CertificateArn) {
		problems = append(problems, m2mauth.FieldProblem{Field: "CertificateArn", Value: c.CertificateArn, Rule: "is not an ACM certificate ARN"})
	}
	return problems
}

func importCustomDomain(stack awscdk.Stack, c CustomDomain) m2mauth.CustomDomain {
	return m2mauth.CustomDomain{
		DomainName:  c.DomainName,
		Certificate: awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("CognitoCertificate"), jsii.String(c.CertificateArn)),
		HostedZone: awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("HostedZone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: jsii.String(c.HostedZoneID),
			ZoneName:     jsii.String(c.HostedZoneName),
		}),
	}
}
