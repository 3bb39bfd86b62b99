// Command clients reports on a deployed stack's machine clients and
// suspends or resumes one without a deploy:
//
//	make bin/clients
//	bin/clients -stack WeatherEvents [-days 90] [-json]
//	bin/clients suspend -stack WeatherEvents -client NAME|ID -reason TEXT
//	bin/clients resume -stack WeatherEvents -client NAME|ID
//
// Credentials and region come from the usual AWS environment (variables,
// profile, SSO).
//
// The report lists every client of the stack's clients output: tier,
// scopes, requests in the last -days days with the share answered 4xx and
// 5xx and the last one seen (one CloudWatch Logs Insights query over the
// API's access log), the secret's last and next rotation, whether its API
// key is enabled, and whether it is suspended (in configuration, or by
// whom, when and why without a deploy). It flags clients unused for -days
// days and clients never rotated. It exits 0 when no client is flagged, 1
// when one is, 2 when it cannot report (a bad flag, no credentials, a
// missing output, an AWS call refused).
//
// suspend writes the client to the suspended-clients table (who, when,
// why), disables its API key and turns its token issuance off; resume
// undoes the three. Each prints one line per step and exits 0 when every
// step was done, 2 when one failed (the others are still tried).
//
// Run the built binary, not "go run ./cmd/clients": go run reports any
// non-zero exit status as 1, so "cannot report" would look like "flagged".
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
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/scopegate/scopegate/internal/clients"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, awsTool))
}

// awsTool builds the tool on the AWS configuration of the environment.
func awsTool(ctx context.Context, authPrefix string) (*clients.Tool, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("clients: AWS configuration: %w", err)
	}
	return &clients.Tool{
		CloudFormation: cloudformation.NewFromConfig(cfg),
		Logs:           cloudwatchlogs.NewFromConfig(cfg),
		SecretsManager: secretsmanager.NewFromConfig(cfg),
		APIGateway:     apigateway.NewFromConfig(cfg),
		DynamoDB:       dynamodb.NewFromConfig(cfg),
		Cognito:        cognitoidentityprovider.NewFromConfig(cfg),
		STS:            sts.NewFromConfig(cfg),
		AuthPrefix:     authPrefix,
	}, nil
}

// run parses args, runs the command and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, newTool func(context.Context, string) (*clients.Tool, error)) int {
	command := "report"
	if len(args) > 0 && (args[0] == "suspend" || args[0] == "resume") {
		command, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("clients "+command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "", "name of the deployed stack, e.g. WeatherEvents (required)")
	authPrefix := fs.String("auth-prefix", "Auth", "construct id of the stack's AuthServer, which prefixes its outputs")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	var days *int
	var asJSON *bool
	var client, reason *string
	if command == "report" {
		days = fs.Int("days", clients.DefaultDays, "the report's window in days; a client with no request in it is flagged unused")
		asJSON = fs.Bool("json", false, "print the report as JSON")
	} else {
		client = fs.String("client", "", "the client's name or client id (required)")
	}
	if command == "suspend" {
		reason = fs.String("reason", "", "why the client is suspended, recorded with who and when (required)")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	usage := func(msg string) int {
		fmt.Fprintln(stderr, "clients "+command+":", msg)
		return 2
	}
	switch {
	case *stack == "":
		return usage("-stack is required")
	case fs.NArg() > 0:
		return usage("unexpected arguments: " + strings.Join(fs.Args(), " "))
	case client != nil && *client == "":
		return usage("-client is required")
	case reason != nil && strings.TrimSpace(*reason) == "":
		return usage("-reason is required: why the client is suspended")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tool, err := newTool(ctx, *authPrefix)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	switch command {
	case "suspend":
		err = tool.Suspend(ctx, *stack, *client, *reason, stdout)
	case "resume":
		err = tool.Resume(ctx, *stack, *client, stdout)
	default:
		var report *clients.Report
		if report, err = tool.Report(ctx, *stack, *days); err == nil {
			if *asJSON {
				err = report.WriteJSON(stdout)
			} else {
				err = report.WriteTable(stdout)
			}
			if err == nil {
				return report.ExitCode()
			}
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	return 0
}
