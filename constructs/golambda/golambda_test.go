package golambda_test

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

var (
	once     sync.Once
	stack    awscdk.Stack
	fn       *golambda.GoFunction
	template cdktest.Template
)

func entry(t *testing.T) string {
	dir, err := filepath.Abs("testdata/hello")
	require.NoError(t, err)
	return dir
}

func load(t *testing.T) {
	t.Helper()
	once.Do(func() {
		stack = awscdk.NewStack(cdktest.NewApp(), jsii.String("Fn"), nil)
		fn = golambda.NewGoFunction(stack, "Hello", &golambda.GoFunctionProps{Entry: entry(t), Environment: map[string]string{"GREETING": "hi"}})
		template = cdktest.Synth(t, stack)
	})
	if template == nil {
		t.Fatal("shared synthesis failed in an earlier test")
	}
}

// Security property 11 (docs/security.md), the function's side.
func TestFunctionRunsOnAL2023Arm64WithLimits(t *testing.T) {
	load(t)
	fns := template.Resources("AWS::Lambda::Function")
	require.Len(t, fns, 1)
	p := fns[0].Properties
	assert.Equal(t, "provided.al2023", p["Runtime"])
	assert.Equal(t, "bootstrap", p["Handler"])
	assert.Equal(t, []any{"arm64"}, p["Architectures"])
	assert.EqualValues(t, 10, p["Timeout"])
	assert.Less(t, p["Timeout"], float64(29))
	assert.EqualValues(t, 256, p["MemorySize"])
	assert.EqualValues(t, 10, p["ReservedConcurrentExecutions"])
	assert.Equal(t, map[string]any{"Mode": "Active"}, p["TracingConfig"])
	logGroup := cdktest.LogicalID(stack, fn.LogGroup.Node().DefaultChild().(awscdk.CfnElement))
	assert.Equal(t, map[string]any{"LogFormat": "JSON", "LogGroup": map[string]any{"Ref": logGroup}}, p["LoggingConfig"])
	assert.Equal(t, map[string]any{"Variables": map[string]any{"GREETING": "hi"}}, p["Environment"])
	role := cdktest.LogicalID(stack, fn.Role.Node().DefaultChild().(awscdk.CfnElement))
	assert.Equal(t, map[string]any{"Fn::GetAtt": []any{role, "Arn"}}, p["Role"])
}

func TestLogGroupHasFiniteRetentionAndIsRetained(t *testing.T) {
	load(t)
	groups := template.Resources("AWS::Logs::LogGroup")
	require.Len(t, groups, 1)
	assert.EqualValues(t, 30, groups[0].Properties["RetentionInDays"])
	assert.Equal(t, "Retain", groups[0].Raw["DeletionPolicy"])
}

// The role may write to its own log group and send traces: no managed policy,
// no wildcard action, and a wildcard resource only for the X-Ray calls, which
// support no resource-level permissions.
func TestRoleIsLeastPrivilege(t *testing.T) {
	load(t)
	roles := template.Resources("AWS::IAM::Role")
	require.Len(t, roles, 1)
	assert.NotContains(t, roles[0].Properties, "ManagedPolicyArns")
	logGroup := cdktest.LogicalID(stack, fn.LogGroup.Node().DefaultChild().(awscdk.CfnElement))
	for _, policy := range template.Resources("AWS::IAM::Policy") {
		for _, st := range policy.Properties["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			statement := st.(map[string]any)
			actions := fmt.Sprint(statement["Action"])
			assert.NotContains(t, actions, "*", "wildcard action in %v", statement)
			if statement["Resource"] == "*" {
				for _, a := range asList(statement["Action"]) {
					assert.True(t, strings.HasPrefix(a, "xray:"), "only X-Ray may use Resource *: %v", statement)
				}
				continue
			}
			assert.Contains(t, mustJSON(t, statement["Resource"]), logGroup, "log permissions must name the function's own log group")
		}
	}
}

func asList(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, len(v))
		for i, s := range v {
			out[i] = s.(string)
		}
		return out
	}
	return nil
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// The one test that really bundles: go build runs locally (no Docker) and
// yields a static, stripped arm64 Linux binary called bootstrap.
func TestBundlingBuildsAStrippedArm64Bootstrap(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	bundled := awscdk.NewStack(app, jsii.String("Bundled"), nil)
	golambda.NewGoFunction(bundled, "Hello", &golambda.GoFunctionProps{Entry: entry(t)})
	assembly := app.Synth(nil)

	matches, err := filepath.Glob(filepath.Join(*assembly.Directory(), "asset.*", "bootstrap"))
	require.NoError(t, err)
	require.Len(t, matches, 1, "one bootstrap asset")
	info, err := os.Stat(matches[0])
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(10<<20), "bootstrap must stay under 10 MB")

	bin, err := elf.Open(matches[0])
	require.NoError(t, err)
	defer bin.Close()
	assert.Equal(t, elf.EM_AARCH64, bin.Machine)
	assert.Nil(t, bin.Section(".symtab"), "symbols must be stripped (-s)")
	for _, p := range bin.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "must be statically linked (CGO_ENABLED=0)")
	}
}

func TestInvalidPropsPanicBeforeCreatingAnything(t *testing.T) {
	app := cdktest.NewApp()
	for i, tc := range []struct {
		name  string
		props golambda.GoFunctionProps
		want  string
	}{
		{"no entry", golambda.GoFunctionProps{}, "Entry is required"},
		{"timeout of 29 s", golambda.GoFunctionProps{Entry: "x", Timeout: 29 * time.Second}, "Timeout 29s must be positive and shorter than 29s"},
		{"timeout over 29 s", golambda.GoFunctionProps{Entry: "x", Timeout: time.Minute}, "Timeout 1m0s must be positive"},
		{"negative timeout", golambda.GoFunctionProps{Entry: "x", Timeout: -time.Second}, "Timeout -1s"},
		{"fractional timeout", golambda.GoFunctionProps{Entry: "x", Timeout: 1500 * time.Millisecond}, "Timeout 1.5s must be a whole number of seconds"},
		{"too little memory", golambda.GoFunctionProps{Entry: "x", MemoryMB: 64}, "MemoryMB 64 is outside 128 to 10240"},
		{"negative concurrency", golambda.GoFunctionProps{Entry: "x", ReservedConcurrency: -2}, "ReservedConcurrency -2 must be positive (0 means the default, 10; golambda.NoReservedConcurrency reserves none)"},
		{"module dir without go.mod", golambda.GoFunctionProps{Entry: "x", ModuleDir: "testdata"}, `ModuleDir "testdata" holds no go.mod`},
		{"missing module dir", golambda.GoFunctionProps{Entry: "x", ModuleDir: "testdata/nowhere"}, `ModuleDir "testdata/nowhere" holds no go.mod`},
		{"go.mod path that does not exist", golambda.GoFunctionProps{Entry: "x", ModuleDir: "testdata/go.mod"}, `ModuleDir "testdata/go.mod" holds no go.mod`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := awscdk.NewStack(app, jsii.String(fmt.Sprintf("Case%d", i)), nil)
			msg := cdktest.Recover(func() { golambda.NewGoFunction(s, "Fn", &tc.props) })
			assert.Contains(t, msg, tc.want)
			assert.True(t, strings.HasPrefix(msg, "golambda: "), msg)
			assert.Nil(t, s.Node().TryFindChild(jsii.String("Fn")))
		})
	}
}

// ModuleDir is the directory of the go.mod, as documented; the go.mod's own
// path, a relative path and no ModuleDir at all (the go.mod above Entry) name
// the same module and so give the same asset hash. Without bundling, an asset
// that has no custom hash gets one from its construct path instead, so equal
// hashes across functions also show each one got the source hash.
func TestModuleDirAsDirectoryOrGoModGivesTheSameAssetHash(t *testing.T) {
	root := cdktest.ModuleRoot()
	relative := filepath.Join("..", "..") // go test runs in constructs/golambda
	s := awscdk.NewStack(cdktest.NewApp(), jsii.String("ModuleDir"), nil)
	cases := map[string]string{
		"Directory": root,
		"GoMod":     filepath.Join(root, "go.mod"),
		"Relative":  relative,
		"Default":   "",
	}
	fns := map[string]*golambda.GoFunction{}
	for id, dir := range cases {
		fns[id] = golambda.NewGoFunction(s, id, &golambda.GoFunctionProps{Entry: entry(t), ModuleDir: dir})
	}
	tmpl := cdktest.Synth(t, s)
	keys := map[string]string{}
	for id, fn := range fns {
		props := tmpl.Resource(cdktest.LogicalID(s, fn.Function.Node().DefaultChild().(awscdk.CfnElement)))["Properties"].(map[string]any)
		keys[id] = props["Code"].(map[string]any)["S3Key"].(string)
	}
	for id := range cases {
		assert.Equal(t, keys["GoMod"], keys[id], "ModuleDir %q (%s)", cases[id], id)
	}
}

func TestModuleDirMustHoldAGoMod(t *testing.T) {
	root := cdktest.ModuleRoot()
	for _, dir := range []string{root, filepath.Join(root, "go.mod")} {
		assert.NoError(t, (&golambda.GoFunctionProps{Entry: "x", ModuleDir: dir}).Validate(), dir)
	}
	empty := t.TempDir()
	err := (&golambda.GoFunctionProps{Entry: "x", ModuleDir: empty}).Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("golambda: ModuleDir %q holds no go.mod", empty))
}
