// Command emptyapp is the floor every Go CDK program pays: one empty stack,
// so synthesizing it costs the jsii start-up, loading aws-cdk-lib and the
// CLI's own work, and nothing of scopegate's. make bench times it beside the
// real app.
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	awscdk.NewStack(app, jsii.String("Empty"), nil)
	app.Synth(nil)
}
