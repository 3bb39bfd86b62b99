// Command startupapp times what a Go CDK app pays before its first
// construct: from the start of main to awscdk.NewApp returning (the jsii
// kernel's start and aws-cdk-lib's load), then one stack, then stopping the
// kernel. BENCHMARKS.md ("Synthesis cost per client") compares it with
// require('aws-cdk-lib') and new App() in node:
//
//	go build -o bench/out/startupapp ./bench/startupapp && bench/out/startupapp
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	start := time.Now()
	app := awscdk.NewApp(nil)
	created := time.Now()
	awscdk.NewStack(app, jsii.String("Startup"), nil)
	stacked := time.Now()
	jsii.Close()
	fmt.Fprintf(os.Stderr, "new App %v, a stack %v, closing the kernel %v\n",
		created.Sub(start).Round(time.Millisecond), stacked.Sub(created).Round(time.Millisecond), time.Since(stacked).Round(time.Millisecond))
}
