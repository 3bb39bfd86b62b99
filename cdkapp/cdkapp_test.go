package cdkapp

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/internal/cdkenv"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

func TestMain(m *testing.M) {
	if os.Getenv(kernelAppEnv) != "" {
		kernelApp()
		return
	}
	cdktest.Main(m)
}

// kernelAppEnv makes the test binary a program whose main starts like
// Main's (TestKernelRunsWithNodeFlags).
const kernelAppEnv = "SCOPEGATE_TEST_KERNEL_APP"

func kernelApp() {
	UseKernelNodeFlags()
	app := NewApp(nil)
	awscdk.NewStack(app, jsii.String("Kernel"), nil)
	// A deprecated reader: the kernel prints a warning on its stderr, which
	// must reach this program's stderr through the relay.
	app.PolicyValidationBeta1()
	jsii.Close()
}

// A user's mistake ends the run with exit status 1 and its message, one
// line per problem, never a goroutine dump or a JavaScript stack.
func TestMistakesEndInMessagesNotPanics(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(app awscdk.App) error
		want  []string
	}{
		{"a configuration error", func(awscdk.App) error { return errors.New("orders.clients[0].scopes: empty") },
			[]string{"orders.clients[0].scopes: empty"}},
		{"props a construct refuses", func(app awscdk.App) error {
			golambda.NewGoFunction(awscdk.NewStack(app, jsii.String("Bad"), nil), "Fn", &golambda.GoFunctionProps{Entry: "x", MemoryMB: 64})
			return nil
		}, []string{"golambda: MemoryMB 64 is outside 128 to 10240"}},
		{"a method the guard refuses", func(app awscdk.App) error {
			stack := awscdk.NewStack(app, jsii.String("Guarded"), nil)
			server := m2mauth.NewResourceServer("orders", "Orders")
			server.AddScope("read", "Read")
			auth := m2mauth.NewAuthServer(stack, "Auth", &m2mauth.AuthServerProps{
				ResourceServers: []*m2mauth.ResourceServer{server},
				Clients:         []m2mauth.ClientProps{{Name: "reader", Scopes: server.Scopes()}},
				Domain:          m2mauth.PrefixDomain{Prefix: "cdkapp-test"},
				Rotation:        m2mauth.RotationProps{Disabled: true},
			})
			api := awsapigateway.NewRestApi(stack, jsii.String("Api"), nil)
			api.Root().AddMethod(jsii.String("GET"), awsapigateway.NewMockIntegration(nil), nil)
			scopedapi.Guard(api, auth)
			return nil
		}, []string{"GET /: authorization type NONE, not COGNITO_USER_POOLS"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			assert.Equal(t, 1, run(cdktest.NewApp(), tc.build, Options{}, &stderr))
			out := stderr.String()
			t.Log(out)
			for _, w := range tc.want {
				assert.Contains(t, out, w)
			}
			assert.NotContains(t, out, "goroutine")
			assert.NotContains(t, out, "    at ")
			assert.False(t, strings.HasPrefix(out, "Error: "), out)
		})
	}
	var stderr bytes.Buffer
	assert.Equal(t, 0, run(cdktest.NewApp(), func(app awscdk.App) error {
		awscdk.NewCfnWaitConditionHandle(awscdk.NewStack(app, jsii.String("Fine"), nil), jsii.String("Nothing"), nil)
		return nil
	}, Options{}, &stderr))
	assert.Empty(t, stderr.String())
}

// NewApp's app records no creation stack trace (aws-cdk-lib writes each as
// an "aws:cdk:creationStack" entry of the stack's metadata); a plain app
// does, and a context value given to NewApp wins over its default.
func TestNewAppRecordsNoCreationStackTraces(t *testing.T) {
	traces := func(app awscdk.App) int {
		stack := awscdk.NewStack(app, jsii.String("Traced"), nil)
		handle := awscdk.NewCfnWaitConditionHandle(stack, jsii.String("Nothing"), nil)
		n := 0
		for _, entry := range *handle.Node().Metadata() {
			if *entry.Type == "aws:cdk:creationStack" {
				n++
			}
		}
		return n
	}
	assert.Zero(t, traces(NewApp(nil)), "NewApp")
	assert.Equal(t, 1, traces(awscdk.NewApp(nil)), "awscdk.NewApp records one per element: the test would pass for nothing without it")
	assert.Equal(t, 1, traces(NewApp(&awscdk.AppProps{Context: &map[string]any{DisableCreationStackTraces: false}})), "the caller's context wins")
}

// With CDK_VALIDATION=false (as cdktest.Main sets it) NewApp registers no
// validation plugin: aws-cdk-lib runs a registered plugin whatever the
// variable says, so a template it would reject synthesizes without a report.
// test/validation checks the other side: with validation on, NewApp's plugin
// is the only one and finds what it should.
func TestNewAppRegistersNoValidationWhenItIsOff(t *testing.T) {
	require.Equal(t, "false", os.Getenv(cdkenv.Validation))
	dir := t.TempDir()
	app := NewApp(&awscdk.AppProps{Outdir: jsii.String(dir)})
	stack := awscdk.NewStack(app, jsii.String("Broken"), nil)
	awscdk.NewCfnResource(stack, jsii.String("Queue"), &awscdk.CfnResourceProps{
		Type:       jsii.String("AWS::SQS::Queue"),
		Properties: &map[string]any{"MessageRetentionPeriod": "a week"},
	})
	app.Synth(nil)
	assert.FileExists(t, filepath.Join(dir, "Broken.template.json"))
	assert.NoFileExists(t, filepath.Join(dir, "validation-report.json"))
}

// UseKernelNodeFlags makes the program's binary the jsii kernel's node,
// which starts the kernel proper with kernelNodeFlags and relays to it (no
// jsii relay in node); JSII_NODE set by the user turns that off. A "node" first in PATH records its arguments and runs the real one.
// Either way the kernel's console output reaches the program's stderr, and
// neither start leaves jsii's runtime behind in TMPDIR.
func TestKernelRunsWithNodeFlags(t *testing.T) {
	realNode, err := exec.LookPath("node")
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		env  []string
		args string // node's, as a regular expression
	}{
		{"by default", nil, `--single-threaded-gc --liftoff-only --preserve-symlinks /\S+/lib/program\.js`},
		{"JSII_NODE=node", []string{jsiiNodeEnv + "=node"}, `/\S+/bin/jsii-runtime\.js`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, tmp := t.TempDir(), t.TempDir()
			args := filepath.Join(dir, "args")
			script := "#!/bin/sh\necho \"$@\" >> " + args + "\nexec " + realNode + " \"$@\"\n"
			require.NoError(t, os.WriteFile(filepath.Join(dir, "node"), []byte(script), 0o755))
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			for _, e := range os.Environ() {
				switch strings.SplitN(e, "=", 2)[0] {
				case jsiiNodeEnv, jsiiRuntimeEnv, kernelNodeEnv, "PATH", "TMPDIR":
				default:
					cmd.Env = append(cmd.Env, e)
				}
			}
			cmd.Env = append(cmd.Env, append(tc.env, kernelAppEnv+"=1", "TMPDIR="+tmp, "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))...)
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s", out)
			recorded, err := os.ReadFile(args)
			require.NoError(t, err, "node was not started through PATH")
			lines := strings.Split(strings.TrimSpace(string(recorded)), "\n")
			require.Len(t, lines, 1, "node started once through PATH (jsii's relay starts the kernel by its own path): %q", lines)
			assert.Regexp(t, "^"+tc.args+"$", lines[0])
			assert.Contains(t, string(out), "Do not use this function to look up validation plugins", "the kernel's warning on its stderr")
			left, err := filepath.Glob(filepath.Join(tmp, "jsii-runtime.*"))
			require.NoError(t, err)
			assert.Empty(t, left, "jsii's runtime left in TMPDIR")
		})
	}
}

// kernelProgram finds the kernel proper only next to a relay laid out as
// jsii-runtime-go v1.139.0 lays out its runtime; anything else is started
// as it is, relay and all.
func TestKernelProgramOnlyInJsiisLayout(t *testing.T) {
	dir := t.TempDir()
	relay := filepath.Join(dir, "bin", "jsii-runtime.js")
	program := filepath.Join(dir, "lib", "program.js")
	for _, f := range []string{relay, program} {
		require.NoError(t, os.MkdirAll(filepath.Dir(f), 0o755))
		require.NoError(t, os.WriteFile(f, nil, 0o644))
	}
	assert.Equal(t, program, kernelProgram([]string{relay}))
	assert.Empty(t, kernelProgram([]string{relay, "--more"}), "other arguments")
	assert.Empty(t, kernelProgram(nil))
	assert.Empty(t, kernelProgram([]string{program}), "not the relay")
	require.NoError(t, os.Remove(program))
	assert.Empty(t, kernelProgram([]string{relay}), "no lib/program.js beside it")
}
