package cdkapp

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/assert"

	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

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
