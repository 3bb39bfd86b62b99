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
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/scopegate/scopegate/internal/verify"
)

func main() {
	stack := flag.String("stack", "", "name of the deployed stack, e.g. WeatherEvents")
	asJSON := flag.Bool("json", false, "print the matrix as JSON")
	authPrefix := flag.String("auth-prefix", "Auth", "construct id of the stack's AuthServer, which prefixes its outputs")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	if *stack == "" {
		fmt.Fprintln(os.Stderr, "verify: -stack is required")
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify: AWS configuration:", err)
		os.Exit(2)
	}
	v := &verify.Verifier{
		CloudFormation: cloudformation.NewFromConfig(cfg),
		SecretsManager: secretsmanager.NewFromConfig(cfg),
		AuthPrefix:     *authPrefix,
	}
	os.Exit(run(ctx, v, *stack, *asJSON, os.Stdout, os.Stderr))
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
