// Command verify checks a deployed scopegate stack against its own promises:
//
//	make bin/verify && bin/verify -stack WeatherEvents [-json]
//
// Credentials and region come from the usual AWS environment (variables,
// profile, SSO). It exits 0 when every outcome matches the stack's
// AccessPolicy output, 1 on any mismatch, 2 when it cannot verify (a bad
// flag, unreadable outputs or secrets, a URL that is not https).
//
// It reads each client's secret at AWSCURRENT and, after a rotation,
// AWSPREVIOUS: a previous client secret still accepted is checked like the
// current one (rows "<client> (previous secret)"), one the token endpoint
// refuses as invalid_client is reported "retired", which is no mismatch.
// Calls carry x-api-key when the secret has an api_key.
//
// Run the built binary, not "go run ./cmd/verify": go run reports any
// non-zero exit status of the program as its own exit status 1, so "cannot
// verify" would look like "found a mismatch".
//
// Flags:
//
//	-stack NAME      the deployed stack (required, once, except with -preflight,
//	                 where it may be repeated or left out: every stack of the
//	                 assembly)
//	-json            print the report as JSON (all modes)
//	-auth-prefix ID  construct id of the stack's AuthServer, which prefixes
//	                 its outputs (default Auth)
//	-timeout D       give up after D (default 2m)
//	-preflight       before cdk deploy: read the cloud assembly and the
//	                 target account and say what would make the deploy fail
//	-assembly DIR    the cloud assembly -preflight reads (default cdk.out)
//	-local DIR       check the stack make local serves, reading its outputs
//	                 and client secrets from DIR (make local's state
//	                 directory, default cdk.out/local) instead of AWS
//	-conformance     on a real deployment of -stack: check the AWS
//	                 behaviours scopegate depends on that the documents
//	                 leave open, expected against seen
//
// -preflight checks, one line each: the CDK bootstrap stack (CDKToolkit) and
// its version against what the stacks require; API Gateway's account
// CloudWatch Logs role when a stage logs; the Lambda concurrency left
// unreserved after the assembly's reservations (Lambda keeps 100); the app
// clients and resource servers per Cognito user pool against the quotas
// (Service Quotas when it answers, else 1,000 and 25); the usage plans and
// API keys in the region plus the assembly's against 300 and 10,000; every
// client suspended without a deploy (bin/clients suspend: an item in the
// deployed stack's suspended-clients table) is suspended in the
// configuration too, or the deploy would turn its API key and tokens back
// on (one line per client, who suspended it and when, and the way out). It
// exits 0 when the deploy would get past all of them, 1 when one would fail
// (the line says how to fix it), 2 when it cannot tell (no assembly, no
// credentials, an API call denied).
//
// -conformance checks, one line each with expected and seen: a token
// without a route's scope gets API Gateway's 401 UNAUTHORIZED response as
// package gatewayresponse defines it; on a tiered API a missing x-api-key
// gets 403 (which body is reported, either passes) and a bad one 403
// invalid_api_key; Cognito's ListUserPoolClientSecrets lists the client's
// secret with a create date; the secret's client_secret (filled by
// Fn::GetAtt ClientSecret) gets a token; CloudWatch lists the AWS/Usage
// CallCount series of ClientAuthentication (not yet listed is "not
// observed", no failure); the rotation function's log shows Secrets
// Manager's configuration test (not seen is "not observed"). It sends only
// token requests and the verifier's usual probe calls. It exits 0 when AWS
// behaves as scopegate assumes, 1 when it differs, 2 when it cannot check.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/scopegate/scopegate/internal/verify"
)

// stackList is -stack, which -preflight takes more than once.
type stackList []string

func (l *stackList) String() string     { return strings.Join(*l, ",") }
func (l *stackList) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var stacks stackList
	flag.Var(&stacks, "stack", "name of the deployed stack, e.g. WeatherEvents (with -preflight: repeatable, default every stack of the assembly)")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	authPrefix := flag.String("auth-prefix", "Auth", "construct id of the stack's AuthServer, which prefixes its outputs")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up after this long")
	preflight := flag.Bool("preflight", false, "before cdk deploy: check the cloud assembly against the target account")
	assembly := flag.String("assembly", "cdk.out", "the cloud assembly -preflight reads")
	conformance := flag.Bool("conformance", false, "on a real deployment: check the AWS behaviours scopegate assumes")
	localDir := flag.String("local", "", "check the stack make local serves: its state directory (e.g. cdk.out/local)")
	flag.Parse()
	usage := func(msg string) {
		fmt.Fprintln(os.Stderr, "verify:", msg)
		flag.Usage()
		os.Exit(2)
	}
	switch {
	case *preflight && *conformance:
		usage("-preflight and -conformance exclude each other")
	case !*preflight && len(stacks) == 0:
		usage("-stack is required")
	case !*preflight && len(stacks) > 1:
		usage("-stack takes one stack, except with -preflight")
	case *localDir != "" && (*preflight || *conformance):
		usage("-local checks the access matrix only: not with -preflight or -conformance")
	case flag.NArg() > 0:
		usage("unexpected arguments: " + strings.Join(flag.Args(), " "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if *localDir != "" {
		l, err := verify.ReadLocal(*localDir)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(run(ctx, &verify.Verifier{CloudFormation: l, SecretsManager: l, AuthPrefix: *authPrefix}, stacks[0], *asJSON, os.Stdout, os.Stderr))
	}
	var a *verify.Assembly
	if *preflight { // the assembly first: without one there is nothing to ask AWS
		var err error
		if a, err = verify.ReadAssembly(*assembly, stacks); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify: AWS configuration:", err)
		os.Exit(2)
	}
	switch {
	case *preflight:
		p := &verify.Preflight{
			APIGateway:     apigateway.NewFromConfig(cfg),
			Lambda:         lambda.NewFromConfig(cfg),
			CloudFormation: cloudformation.NewFromConfig(cfg),
			ServiceQuotas:  servicequotas.NewFromConfig(cfg),
			SSM:            ssm.NewFromConfig(cfg),
			DynamoDB:       dynamodb.NewFromConfig(cfg),
		}
		os.Exit(report(p.Run(ctx, a), *asJSON, os.Stdout, os.Stderr))
	case *conformance:
		c := &verify.Conformance{
			CloudFormation: cloudformation.NewFromConfig(cfg),
			SecretsManager: secretsmanager.NewFromConfig(cfg),
			Cognito:        cognitoidentityprovider.NewFromConfig(cfg),
			CloudWatch:     cloudwatch.NewFromConfig(cfg),
			Logs:           cloudwatchlogs.NewFromConfig(cfg),
			AuthPrefix:     *authPrefix,
		}
		checks, err := c.Run(ctx, stacks[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(report(checks, *asJSON, os.Stdout, os.Stderr))
	}
	v := &verify.Verifier{
		CloudFormation: cloudformation.NewFromConfig(cfg),
		SecretsManager: secretsmanager.NewFromConfig(cfg),
		AuthPrefix:     *authPrefix,
	}
	os.Exit(run(ctx, v, stacks[0], *asJSON, os.Stdout, os.Stderr))
}

// report prints a -preflight or -conformance report and returns the exit
// status: the report's, or 2 when it cannot be printed.
func report(c *verify.Checks, asJSON bool, stdout, stderr io.Writer) int {
	var err error
	if asJSON {
		err = c.WriteJSON(stdout)
	} else {
		err = c.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "verify:", err)
		return 2
	}
	return c.ExitCode()
}

// run verifies the stack, prints the report on stdout and returns the exit
// status.
func run(ctx context.Context, v *verify.Verifier, stack string, asJSON bool, stdout, stderr io.Writer) int {
	report, err := v.Run(ctx, stack)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	if asJSON {
		err = report.WriteJSON(stdout)
	} else {
		err = report.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "verify:", err)
		return 2
	}
	return report.ExitCode()
}
