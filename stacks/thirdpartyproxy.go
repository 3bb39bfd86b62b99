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

// CustomDomainConfig names an existing certificate and hosted zone for a
// custom Cognito domain, as read from configuration.
type CustomDomainConfig struct {
	// DomainName is the token endpoint's host, e.g. "auth.example.com".
	DomainName string `json:"domainName"`
	// CertificateArn is an ACM certificate in us-east-1 covering DomainName.
	CertificateArn string `json:"certificateArn"`
	// HostedZoneID and HostedZoneName identify the Route53 zone that receives
	// the alias record.
	HostedZoneID   string `json:"hostedZoneId"`
	HostedZoneName string `json:"hostedZoneName"`
}

// ThirdPartyProxyStackProps configures the third-party proxy stack.
type ThirdPartyProxyStackProps struct {
	awscdk.StackProps
	// DomainPrefix is the Cognito prefix domain, when CustomDomain is nil.
	// Default: derived from the stack.
	DomainPrefix string
	// CustomDomain, when set, serves the token endpoint on your own domain.
	CustomDomain *CustomDomainConfig
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
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)

	server := m2mauth.NewResourceServer("default", "Custom default resource server")
	defaultScope := server.AddScope("default", "Custom default scope")

	var domain m2mauth.Domain = m2mauth.PrefixDomain{Prefix: props.DomainPrefix}
	if c := props.CustomDomain; c != nil {
		if err := c.Validate(); err != nil {
			panic(err)
		}
		domain = importCustomDomain(stack, *c)
	}
	auth := m2mauth.NewAuthServer(stack, contract.DefaultAuthPrefix, authServerProps(stack, []*m2mauth.ResourceServer{server}, []m2mauth.ClientProps{{
		Name:   ThirdPartyClientName,
		Scopes: []m2mauth.Scope{defaultScope},
	}}, domain, props.ServiceOptions))
	service, api := serveWeatherEvents(stack, auth, "", props.ServiceOptions, scopedapi.ProxyRoutes(defaultScope))
	return &ThirdPartyProxyStack{Stack: stack, Auth: auth, DefaultScope: defaultScope, API: api, Service: service}
}

var certificateArnPattern = regexp.MustCompile(`^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$`)

// Validate checks that every field is present and the certificate ARN is an
// ACM certificate ARN, before anything is imported; m2mauth checks the rest
// (us-east-1, the domain inside the zone).
func (c CustomDomainConfig) Validate() error {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"domainName", c.DomainName}, {"certificateArn", c.CertificateArn},
		{"hostedZoneId", c.HostedZoneID}, {"hostedZoneName", c.HostedZoneName},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("custom domain: %s is required", f.name))
		}
	}
	if c.CertificateArn != "" && !certificateArnPattern.MatchString(c.CertificateArn) {
		errs = append(errs, fmt.Errorf("custom domain: certificateArn %q is not an ACM certificate ARN", c.CertificateArn))
	}
	return errors.Join(errs...)
}

func importCustomDomain(stack awscdk.Stack, c CustomDomainConfig) m2mauth.CustomDomain {
	return m2mauth.CustomDomain{
		DomainName:  c.DomainName,
		Certificate: awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("CognitoCertificate"), jsii.String(c.CertificateArn)),
		HostedZone: awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("HostedZone"), &awsroute53.HostedZoneAttributes{
			HostedZoneId: jsii.String(c.HostedZoneID),
			ZoneName:     jsii.String(c.HostedZoneName),
		}),
	}
}
