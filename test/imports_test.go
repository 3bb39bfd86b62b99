package test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A consumer who imports only the constructs builds infrastructure code: it
// must not compile the Lambda runtime, the AWS SDK the functions use,
// cdk-nag or the bench tools. The functions that live beside their
// constructs (constructs/m2mauth/rotator) are bundled by synth, not
// imported, so the library is every package under constructs/ outside a
// function's main package and its own packages.
func TestConstructsImportNoRuntimeNagOrBenchTools(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Name}}", "github.com/scopegate/scopegate/constructs/...").CombinedOutput()
	require.NoError(t, err, string(out))
	var packages, functions []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, name, _ := strings.Cut(line, " ")
		packages = append(packages, path)
		if name == "main" {
			functions = append(functions, path)
		}
	}
	require.NotEmpty(t, functions, "the rotation function lives under constructs/")
	var library []string
	for _, p := range packages {
		inFunction := false
		for _, f := range functions {
			inFunction = inFunction || p == f || strings.HasPrefix(p, f+"/")
		}
		if !inFunction {
			library = append(library, p)
		}
	}
	require.Contains(t, library, "github.com/scopegate/scopegate/constructs/m2mauth")
	out, err = exec.Command("go", append([]string{"list", "-deps"}, library...)...).CombinedOutput()
	require.NoError(t, err, string(out))
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/aws/aws-lambda-go", "github.com/aws/aws-sdk-go-v2", "github.com/cdklabs/cdk-nag-go", "golang.org/x/perf"} {
			assert.False(t, strings.HasPrefix(dep, banned), "constructs import %s", dep)
		}
	}
}
