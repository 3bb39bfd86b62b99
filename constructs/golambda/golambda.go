// Package golambda builds a Go Lambda function the way scopegate runs them:
// provided.al2023 on arm64, built locally with the Go toolchain (no Docker) as
// a static, stripped binary, with its own log group, a least-privilege role,
// X-Ray tracing and a reserved concurrency.
package golambda

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdklambdagoalpha/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/internal/nagmeta"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/gomod"
)

// Limits and defaults.
const (
	// MaxTimeout is the longest a function behind API Gateway may run:
	// the REST API's integration timeout is 29 s, and a function still running
	// then costs money for an answer nobody receives.
	MaxTimeout                 = 29 * time.Second
	DefaultTimeout             = 10 * time.Second
	DefaultMemoryMB            = 256
	DefaultReservedConcurrency = 10
	// NoReservedConcurrency, as ReservedConcurrency, reserves nothing.
	NoReservedConcurrency = -1
)

// BuildFlags are the go build flags of every function: reproducible paths,
// no symbol tables, and no RPC shim (provided.al2023 does not need it).
var BuildFlags = []string{"-trimpath", `-ldflags="-s -w -buildid="`, "-tags=lambda.norpc"}

// GoFunctionProps configures a GoFunction.
type GoFunctionProps struct {
	// Entry is the directory of the function's main package.
	Entry string
	// ModuleDir is the directory holding the go.mod to build with; a path
	// to that go.mod itself is accepted too. Default: the first go.mod at or
	// above Entry.
	ModuleDir string
	// Description of the function.
	Description string
	// Environment variables of the function. Never put a secret here: anyone
	// who can read the function's configuration reads them.
	Environment map[string]string
	// Timeout must be shorter than MaxTimeout. Default: 10 s.
	Timeout time.Duration
	// MemoryMB is the memory size, 128 to 10240. Default: 256.
	MemoryMB int
	// ReservedConcurrency caps concurrent executions, so a flood of callers
	// cannot take the whole account's concurrency. Default (0): 10.
	// NoReservedConcurrency reserves none: the function then shares the
	// account's unreserved pool. Lambda keeps 100 executions of the account's
	// concurrency unreserved (Lambda developer guide, "Configuring reserved
	// concurrency"), and new accounts start with a lower concurrency quota,
	// so on a new account any reservation fails the deploy until the quota
	// is raised: use NoReservedConcurrency there (bin/verify -preflight
	// tells).
	ReservedConcurrency int
	// LogRetention of the function's log group. Default: one month.
	LogRetention awslogs.RetentionDays
	// Disposable deletes the log group with the stack. Default: RETAIN.
	Disposable bool
}

// reservation is the function's ReservedConcurrentExecutions: nil, left
// out of the template, for NoReservedConcurrency.
func reservation(reserved int) *float64 {
	if reserved == NoReservedConcurrency {
		return nil
	}
	return jsii.Number(reserved)
}

// GoFunction is a Go Lambda function with its role and log group.
type GoFunction struct {
	constructs.Construct
	Function awscdklambdagoalpha.GoFunction
	Role     awsiam.Role
	LogGroup awslogs.LogGroup
}

// Validate reports every problem with the props, naming prop and value.
func (p *GoFunctionProps) Validate() error {
	if p == nil {
		return errors.New("golambda: GoFunctionProps are required")
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf("golambda: "+format, args...)) }
	if p.Entry == "" {
		add("Entry is required: the directory of the function's main package")
	}
	if p.Timeout < 0 || p.Timeout >= MaxTimeout {
		add("Timeout %v must be positive and shorter than %v (API Gateway's integration timeout)", p.Timeout, MaxTimeout)
	} else if p.Timeout%time.Second != 0 {
		add("Timeout %v must be a whole number of seconds", p.Timeout)
	}
	if p.MemoryMB != 0 && (p.MemoryMB < 128 || p.MemoryMB > 10240) {
		add("MemoryMB %d is outside 128 to 10240", p.MemoryMB)
	}
	if p.ReservedConcurrency < 0 && p.ReservedConcurrency != NoReservedConcurrency {
		add("ReservedConcurrency %d must be positive (0 means the default, %d; golambda.NoReservedConcurrency reserves none)", p.ReservedConcurrency, DefaultReservedConcurrency)
	}
	if p.ModuleDir != "" {
		if info, err := os.Stat(filepath.Join(p.moduleDir(), "go.mod")); err != nil || !info.Mode().IsRegular() {
			add("ModuleDir %q holds no go.mod: it must be the directory of the go.mod to build with (or that go.mod's path)", p.ModuleDir)
		}
	}
	return errors.Join(errs...)
}

// moduleDir is ModuleDir as a directory: a path to a go.mod becomes the
// directory that holds it.
func (p *GoFunctionProps) moduleDir() string {
	if filepath.Base(p.ModuleDir) == "go.mod" {
		return filepath.Dir(p.ModuleDir)
	}
	return p.ModuleDir
}

// NewGoFunction validates props and creates the function, its role and its
// log group.
func NewGoFunction(scope constructs.Construct, id string, props *GoFunctionProps) *GoFunction {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	node := constructs.NewConstruct(scope, jsii.String(id))
	removal := awscdk.RemovalPolicy_RETAIN
	if props.Disposable {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	retention := props.LogRetention
	if retention == "" {
		retention = awslogs.RetentionDays_ONE_MONTH
	}
	logGroup := awslogs.NewLogGroup(node, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     retention,
		RemovalPolicy: removal,
	})
	// A role of our own instead of the AWSLambdaBasicExecutionRole managed
	// policy, which lets the function write to every log group in the account.
	role := awsiam.NewRole(node, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("lambda.amazonaws.com"), nil),
		Description: jsii.String("Execution role of " + id + ": its own log group, plus what the stack grants"),
	})
	logGroup.GrantWrite(role)

	timeout, memory, reserved := props.Timeout, props.MemoryMB, props.ReservedConcurrency
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if memory == 0 {
		memory = DefaultMemoryMB
	}
	if reserved == 0 {
		reserved = DefaultReservedConcurrency
	}
	env := map[string]*string{}
	for k, v := range props.Environment {
		env[k] = jsii.String(v)
	}
	// The module the function is built from, as an absolute directory.
	root, found := "", false
	if props.ModuleDir != "" {
		if abs, err := filepath.Abs(props.moduleDir()); err == nil {
			root, found = abs, true
		}
	} else if abs, err := filepath.Abs(props.Entry); err == nil {
		root, found = gomod.RootOf(abs)
	}
	// The alpha GoFunction (2.265.0-alpha.0) accepts a directory as its
	// ModuleDir but then bundles from the parent of whatever it is given
	// (path.dirname), so it always gets the go.mod's path. Unset, it would
	// find the same go.mod above Entry.
	var moduleDir *string
	if found {
		moduleDir = jsii.String(filepath.Join(root, "go.mod"))
	}
	bundling := &awscdklambdagoalpha.BundlingOptions{
		CgoEnabled:   jsii.Bool(false),
		GoBuildFlags: jsii.Strings(BuildFlags...),
	}
	if entry, err := filepath.Abs(props.Entry); found && err == nil {
		if hash, err := sourceHash(root, entry); err == nil {
			bundling.AssetHashType = awscdk.AssetHashType_CUSTOM
			bundling.AssetHash = jsii.String(hash)
		}
	}
	var description *string
	if props.Description != "" {
		description = jsii.String(props.Description)
	}
	fn := awscdklambdagoalpha.NewGoFunction(node, jsii.String("Resource"), &awscdklambdagoalpha.GoFunctionProps{
		Entry:                        jsii.String(props.Entry),
		ModuleDir:                    moduleDir,
		Description:                  description,
		Runtime:                      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:                 awslambda.Architecture_ARM_64(),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(timeout.Seconds())),
		MemorySize:                   jsii.Number(memory),
		ReservedConcurrentExecutions: reservation(reserved),
		Tracing:                      awslambda.Tracing_ACTIVE,
		LogGroup:                     logGroup,
		LoggingFormat:                awslambda.LoggingFormat_JSON,
		Role:                         role,
		Environment:                  &env,
		Bundling:                     bundling,
	})
	// Where the function's source is, for make local, which builds it for
	// the host instead of running the arm64 asset. Construct metadata lands
	// in the assembly's metadata, not in the template.
	if entry, err := filepath.Abs(props.Entry); found && err == nil {
		fn.Node().DefaultChild().Node().AddMetadata(jsii.String(contract.FunctionSourceMetadata),
			map[string]any{contract.FunctionSourceEntry: entry, contract.FunctionSourceModuleDir: root}, nil)
	}
	nagmeta.Suppress(role, true, nagmeta.Rule{
		ID:        "AwsSolutions-IAM5",
		AppliesTo: []string{"Resource::*"},
		Reason:    "Only xray:PutTraceSegments and xray:PutTelemetryRecords (added by Tracing.ACTIVE) use Resource *: X-Ray supports no resource-level permissions for them.",
	})
	// The flags are the constants in BuildFlags, not input from anyone.
	awscdk.Annotations_Of(node).AcknowledgeWarning(jsii.String("@aws-cdk/aws-lambda-go-alpha:goBuildFlagsSecurityWarning"),
		jsii.String("golambda.BuildFlags are fixed in code"))
	return &GoFunction{Construct: node, Function: fn, Role: role, LogGroup: logGroup}
}
