// Package cdkapp runs a CDK app built from scopegate's constructs the way a
// user's `cdk synth` should end: with one line per problem and exit status
// 1, never a goroutine dump. It synthesizes the app, turns the CDK's
// validation errors (which reach Go as panics through jsii) into errors, and
// judges the assembly with package budget (AWS limits) and package apiguard
// (every method of a guarded API, in every template).
//
// A consumer's main is one call:
//
//	func main() {
//		cdkapp.Main(func(app awscdk.App) error {
//			NewOrdersStack(app, "Orders")
//			return nil
//		})
//	}
package cdkapp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/apiguard"
	"github.com/scopegate/scopegate/budget"
	"github.com/scopegate/scopegate/internal/cdkenv"
)

// NewApp is awscdk.NewApp for a Go app: the same app, except for two
// things that make its synthesis cheaper.
//
// The CDK records no creation stack trace for each construct. aws-cdk-lib
// captures one per CloudFormation element (CfnElement's constructor, unless
// the context key "aws:cdk:disable-creation-stack-traces" is set; cx-api's
// DISABLE_CREATION_STACK_TRACES) and writes them to the assembly's
// <stack>.metadata.json. From Go they hold only the jsii kernel's
// JavaScript frames ("...jsii runtime, node internals...", "no user code"),
// never the Go code that created the construct, yet they cost about 0.25 s
// and 1.5 MB of metadata at 1,000 clients and 300 routes (BENCHMARKS.md).
// CDK_DEBUG=true records them anyway (aws-cdk-lib's debugModeEnabled).
// props may be nil; a context value props sets for that key wins.
//
// And when the templates will be validated (CDK_VALIDATION is not "false"),
// NewApp registers aws-cdk-lib's CloudFormationValidatePlugin with its
// default rules itself, which, as its documentation says, replaces the
// instance aws-cdk-lib would otherwise create during synthesis. The plugin
// builds its rule engine (WebAssembly) when it is created, and that takes
// longer the more the jsii kernel already holds: 1.3 s at the start instead
// of 2.2 s during the synthesis of 1,000 clients and 300 routes, 1.3 s
// instead of 1.6 s for the default app (BENCHMARKS.md, "The validation
// engine, built first"). The findings and the report are the same. Two
// things differ: each template's CDKMetadata (when analytics reporting is
// on) names the plugin and its rule ids, as for any app that registers a
// validation plugin; and an app that registers a CloudFormationValidatePlugin
// of its own (its own rules) starts from awscdk.NewApp instead, because
// aws-cdk-lib allows one.
func NewApp(props *awscdk.AppProps) awscdk.App {
	var p awscdk.AppProps
	if props != nil {
		p = *props
	}
	ctx := map[string]any{DisableCreationStackTraces: true}
	if p.Context != nil {
		for k, v := range *p.Context {
			ctx[k] = v
		}
	}
	p.Context = &ctx
	app := awscdk.NewApp(&p)
	if cdkenv.ValidationOn() {
		awscdk.Validations_Of(app).AddPlugins(awscdk.NewCloudFormationValidatePlugin(nil))
	}
	return app
}

// DisableCreationStackTraces is aws-cdk-lib's context key that NewApp sets.
const DisableCreationStackTraces = "aws:cdk:disable-creation-stack-traces"

// Options tune the checks after synth.
type Options struct {
	// Limits are the AWS limits budget checks. Default: budget.DefaultLimits().
	Limits *budget.Limits
	// Advice names what to change for each kind of finding (budget.Advice).
	Advice budget.Advice
}

// Synth synthesizes app and judges its assembly. It returns the assembly's
// directory, or an error that says every problem, one per line: a
// construct's validation error, an AWS limit a deploy would pass, a method
// of a guarded API that needs no scoped token. It does not panic for them.
func Synth(app awscdk.App, opts Options) (string, error) {
	var dir string
	if err := Catch(func() { dir = *app.Synth(nil).Directory() }); err != nil {
		return "", err
	}
	limits := budget.DefaultLimits()
	if opts.Limits != nil {
		limits = *opts.Limits
	}
	return dir, errors.Join(budget.CheckDir(dir, limits, opts.Advice), apiguard.CheckDir(dir))
}

// Catch runs fn and returns what it panicked with as an error: props a
// construct refused, or the CDK's "Validation failed" with one line per
// construct. JavaScript stack frames are dropped; the messages are kept.
func Catch(fn func()) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		e, ok := r.(error)
		if !ok {
			e = fmt.Errorf("%v", r)
		}
		if msg := clean(e.Error()); msg != e.Error() {
			e = errors.New(msg)
		}
		err = e
	}()
	fn()
	return nil
}

// clean drops the "Error: " jsii puts before a JavaScript error's message
// and the stack frames ("    at ...") after it.
func clean(msg string) string {
	var lines []string
	for _, line := range strings.Split(msg, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "at ") {
			continue
		}
		lines = append(lines, line)
	}
	return strings.TrimPrefix(strings.TrimSpace(strings.Join(lines, "\n")), "Error: ")
}

// Main builds the app with build, synthesizes and checks it (Synth), prints
// any error to stderr, stops the jsii kernel and exits: 0, or 1 with the
// problems one per line. An error build returns (a bad configuration value)
// is printed the same way.
func Main(build func(app awscdk.App) error) {
	MainWith(Options{}, build)
}

// MainWith is Main with Options.
func MainWith(opts Options, build func(app awscdk.App) error) {
	UseKernelNodeFlags()
	var code int
	if err := Catch(func() { code = run(NewApp(nil), build, opts, os.Stderr) }); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	jsii.Close()
	os.Exit(code)
}

func run(app awscdk.App, build func(app awscdk.App) error, opts Options, stderr io.Writer) int {
	err := Catch(func() {
		if err := build(app); err != nil {
			panic(err)
		}
	})
	if err == nil {
		_, err = Synth(app, opts)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
