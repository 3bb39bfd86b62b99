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
// cdk-nag or the bench tools.
func TestConstructsImportNoRuntimeNagOrBenchTools(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/scopegate/scopegate/constructs/...").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/aws/aws-lambda-go", "github.com/aws/aws-sdk-go-v2", "github.com/cdklabs/cdk-nag-go", "golang.org/x/perf"} {
			assert.False(t, strings.HasPrefix(dep, banned), "constructs import %s", dep)
		}
	}
}
