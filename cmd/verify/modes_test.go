package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/awsfake"
)

// The built binary's -preflight, with every AWS client sent to awsfake
// through AWS_ENDPOINT_URL: exit 0 ready, 1 would fail, 2 cannot tell, and
// 2 without an assembly; and the flags that exclude each other.
func TestPreflightExitStatusOfTheBinary(t *testing.T) {
	goTool, err := exec.LookPath("go")
	require.NoError(t, err)
	dir := t.TempDir()
	bin := filepath.Join(dir, "verify")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	assembly := filepath.Join(dir, "cdk.out")
	require.NoError(t, os.Mkdir(assembly, 0o755))
	manifest := `{"version":"48.0.0","artifacts":{"Tiny":{"type":"aws:cloudformation:stack","properties":{"templateFile":"Tiny.template.json","requiresBootstrapStackVersion":6}}}}`
	template := `{"Resources":{"Fn":{"Type":"AWS::Lambda::Function","Properties":{"ReservedConcurrentExecutions":10}}}}`
	require.NoError(t, os.WriteFile(filepath.Join(assembly, "manifest.json"), []byte(manifest), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(assembly, "Tiny.template.json"), []byte(template), 0o644))

	f := awsfake.New()
	defer f.Close()
	f.Reply("cloudformation", "DescribeStacks", `<Stacks><member><StackName>CDKToolkit</StackName><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs><member><OutputKey>BootstrapVersion</OutputKey><OutputValue>27</OutputValue></member></Outputs></member></Stacks>`)
	f.Fail("cloudformation", "ListStackResources", &awsfake.Error{Code: "ValidationError", Message: "Stack with id Tiny does not exist"})

	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+dir, "AWS_CONFIG_FILE="+filepath.Join(dir, "no-config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "no-credentials"),
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ENDPOINT_URL="+f.URL, "AWS_MAX_ATTEMPTS=1",
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=example-not-a-secret")
	runBin := func(args ...string) (int, string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append(args, "-timeout", "20s")...)
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), stdout.String(), stderr.String()
		}
		require.NoError(t, err)
		return 0, stdout.String(), stderr.String()
	}

	f.Reply("lambda", "GET /2016-08-19/account-settings", map[string]any{"AccountLimit": map[string]any{"ConcurrentExecutions": 1000, "UnreservedConcurrentExecutions": 1000}})
	code, stdout, stderr := runBin("-preflight", "-assembly", assembly)
	assert.Equal(t, 0, code, "%s%s", stdout, stderr)
	assert.Contains(t, stdout, "Tiny preflight: ready to deploy")

	f.Reply("lambda", "GET /2016-08-19/account-settings", map[string]any{"AccountLimit": map[string]any{"ConcurrentExecutions": 100, "UnreservedConcurrentExecutions": 100}})
	code, stdout, _ = runBin("-preflight", "-assembly", assembly, "-stack", "Tiny", "-json")
	assert.Equal(t, 1, code, stdout)
	var report struct {
		Mode     string `json:"mode"`
		ExitCode int    `json:"exitCode"`
		Checks   []struct{ Name, Status string }
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &report))
	assert.Equal(t, "preflight", report.Mode)
	assert.Equal(t, 1, report.ExitCode)

	f.Fail("lambda", "GET /2016-08-19/account-settings", awsfake.AccessDenied(awsfake.RESTJSON))
	code, stdout, _ = runBin("-preflight", "-assembly", assembly)
	assert.Equal(t, 2, code, stdout)
	assert.Contains(t, stdout, "AccessDeniedException")

	for _, tc := range []struct {
		args   []string
		stderr string
	}{
		{[]string{"-preflight", "-assembly", filepath.Join(dir, "none")}, "make synth"},
		{[]string{"-preflight", "-assembly", assembly, "-stack", "Other"}, "has no stack Other"},
		{[]string{"-preflight", "-conformance", "-stack", "Tiny"}, "exclude each other"},
		{[]string{"-conformance"}, "-stack is required"},
		{[]string{"-stack", "A", "-stack", "B"}, "-stack takes one stack"},
	} {
		code, stdout, stderr := runBin(tc.args...)
		assert.Equal(t, 2, code, "%v: %s%s", tc.args, stdout, stderr)
		assert.Contains(t, stderr, tc.stderr, tc.args)
	}
}
