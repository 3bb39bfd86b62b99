// Package cdktest holds what tests of CDK code need and the CDK does not give
// Go: a TestMain that starts and stops the jsii kernel once per package, a way
// to turn the panics that carry CDK errors into test failures, and typed access
// to a synthesized template.
package cdktest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/internal/cdkenv"
	"github.com/scopegate/scopegate/internal/gomod"
)

// Main runs a package's tests. The jsii client copies the environment when it
// is created, and the CDK packages' init functions create it before TestMain
// runs; so Main sets the environment and then closes that first client (its
// Node.js process has not started yet, so this costs nothing), and the next
// CDK call starts one that sees the settings. The kernel is closed once more
// after every test: each restart costs the whole Node.js start-up again.
//
// Template validation ("CloudFormation Validate") is off here because it
// adds seconds to every synthesis; the whole-stack tests switch it back on.
func Main(m *testing.M) {
	setDefaultEnv(cdkenv.Validation, "false")
	run(m)
}

// MainWithValidation runs a package's tests with CloudFormation template
// validation on, for the tests that check its findings.
func MainWithValidation(m *testing.M) {
	os.Setenv(cdkenv.Validation, "true")
	run(m)
}

func run(m *testing.M) {
	// Node 20 is what this machine has; users are told to use 22 or 24.
	setDefaultEnv("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
	setDefaultEnv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	jsii.Close()
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

func setDefaultEnv(key, value string) {
	if _, set := os.LookupEnv(key); !set {
		os.Setenv(key, value)
	}
}

// NewApp returns an app for tests with the feature flags of the project's
// cdk.json, so that tests see the templates `cdk synth` emits. Asset bundling
// (the Lambda's go build) is skipped: only the bundling tests need it.
func NewApp() awscdk.App {
	ctx := ProjectContext()
	ctx["aws:cdk:bundling-stacks"] = []string{}
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
}

// ProjectContext returns the "context" of the cdk.json at the module root.
func ProjectContext() map[string]any {
	data, err := os.ReadFile(filepath.Join(ModuleRoot(), "cdk.json"))
	if err != nil {
		panic(fmt.Sprintf("cdktest: reading cdk.json: %v", err))
	}
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		panic(fmt.Sprintf("cdktest: cdk.json: %v", err))
	}
	if cfg.Context == nil {
		cfg.Context = map[string]any{}
	}
	return cfg.Context
}

// ModuleRoot is the directory of the go.mod above the working directory.
func ModuleRoot() string {
	dir, err := gomod.Root()
	if err != nil {
		panic("cdktest: " + err.Error())
	}
	return dir
}

// Recover runs fn and returns what it panicked with, formatted, or "" if it
// returned normally. CDK errors and failed assertions reach Go as panics.
func Recover(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	fn()
	return ""
}

// Check runs fn, typically a CDK assertion, and turns a panic into a test
// failure, so one failed assertion does not abort the rest of the package.
func Check(t testing.TB, fn func()) {
	t.Helper()
	if msg := Recover(fn); msg != "" {
		t.Fatal(msg)
	}
}

// Template is a synthesized CloudFormation template as plain Go values.
type Template map[string]any

// ErrorAnnotations lists the error annotations (cdk-nag findings among them)
// on scope and everything below it, as "path: message". They are still on the
// construct tree after the synthesis they failed.
func ErrorAnnotations(scope constructs.IConstruct) []string {
	var out []string
	for _, c := range *scope.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		for _, entry := range *c.Node().Metadata() {
			if *entry.Type == "aws:cdk:error" {
				msg := fmt.Sprint(entry.Data)
				if i := strings.Index(msg, ": "); i > 0 && (strings.HasPrefix(msg, "AwsSolutions-") || strings.HasPrefix(msg, "Serverless-")) {
					msg = msg[:i] // the cdk-nag rule id; its long explanation follows
				}
				out = append(out, *c.Node().Path()+": "+msg)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Synth synthesizes stack (with its whole app) and returns its template.
// When synthesis fails on error annotations (a cdk-nag finding, say), the
// failure lists each one and where it fired.
func Synth(t testing.TB, stack awscdk.Stack) Template {
	t.Helper()
	var tmpl Template
	msg := Recover(func() {
		tmpl = Template(*assertions.Template_FromStack(stack, nil).ToJSON())
	})
	if msg != "" {
		t.Fatal(msg + "\n" + strings.Join(ErrorAnnotations(stack), "\n"))
	}
	return tmpl
}

// Resource is one entry of a template's Resources section.
type Resource struct {
	LogicalID  string
	Type       string
	Properties map[string]any
	Raw        map[string]any
}

// Resources returns the resources of the given type, by logical id order.
func (t Template) Resources(cfnType string) []Resource {
	all, _ := t["Resources"].(map[string]any)
	ids := make([]string, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []Resource
	for _, id := range ids {
		raw, _ := all[id].(map[string]any)
		if raw["Type"] != cfnType {
			continue
		}
		props, _ := raw["Properties"].(map[string]any)
		out = append(out, Resource{LogicalID: id, Type: cfnType, Properties: props, Raw: raw})
	}
	return out
}

// Resource returns the resource with the given logical id, or nil.
func (t Template) Resource(logicalID string) map[string]any {
	all, _ := t["Resources"].(map[string]any)
	r, _ := all[logicalID].(map[string]any)
	return r
}

// Section returns a top-level section such as "Outputs" or "Parameters".
func (t Template) Section(name string) map[string]any {
	s, _ := t[name].(map[string]any)
	return s
}

// LogicalID resolves a CloudFormation element's logical id in its stack, so
// tests never hard-code the hashed ids. It resolves the element's own
// LogicalId, which an override (OverrideLogicalId, or CfnInclude keeping a
// template's ids) changes; Stack.GetLogicalId only allocates one from the
// path.
func LogicalID(stack awscdk.Stack, element awscdk.CfnElement) string {
	id, ok := stack.Resolve(element.LogicalId()).(string)
	if !ok {
		panic(fmt.Sprintf("cdktest: the logical id of %s does not resolve to a string", *element.Node().Path()))
	}
	return id
}

// AssetFile reads a file from the staged asset of a Lambda function or layer
// (its Code.S3Key or Content.S3Key, "<hash>.zip", names the directory
// "asset.<hash>" in the cloud assembly).
func AssetFile(stack awscdk.Stack, tmpl Template, logicalID, file string) ([]byte, error) {
	r := tmpl.Resource(logicalID)
	if r == nil {
		return nil, fmt.Errorf("cdktest: no resource %s", logicalID)
	}
	props, _ := r["Properties"].(map[string]any)
	location, _ := props["Content"].(map[string]any)
	if location == nil {
		location, _ = props["Code"].(map[string]any)
	}
	key, _ := location["S3Key"].(string)
	if !strings.HasSuffix(key, ".zip") {
		return nil, fmt.Errorf("cdktest: %s has no asset S3Key (got %v)", logicalID, location)
	}
	dir := filepath.Join(*awscdk.Stage_Of(stack).Outdir(), "asset."+strings.TrimSuffix(key, ".zip"))
	return os.ReadFile(filepath.Join(dir, file))
}

// PermissionsOf returns the AWS::Lambda::Permission resources of the
// function with the given logical id (FunctionName as Ref or Fn::GetAtt Arn).
func (t Template) PermissionsOf(functionID string) []Resource {
	var out []Resource
	for _, p := range t.Resources("AWS::Lambda::Permission") {
		switch name := p.Properties["FunctionName"].(type) {
		case map[string]any:
			if name["Ref"] == functionID {
				out = append(out, p)
			} else if att, ok := name["Fn::GetAtt"].([]any); ok && len(att) == 2 && att[0] == functionID {
				out = append(out, p)
			}
		}
	}
	return out
}
