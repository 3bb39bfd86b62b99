package logicalid_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/internal/logicalid"
	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

func TestMain(m *testing.M) { cdktest.Main(m) }

// TestFromPathMatchesTheCDK builds resources at many paths, in a stack and
// in a nested stack, and compares each logical id the CDK allocates with
// FromPath's.
func TestFromPathMatchesTheCDK(t *testing.T) {
	paths := [][]string{
		{"Topic"},
		{"my-topic_1.x"},
		{"JanitorClient", "Resource"},
		{"JanitorSecret", "Resource"},
		{"Default", "Queue"},
		{"Outer", "Default"},
		{"Outer", "Default", "Resource"},
		{"Bucket", "Bucket"},
		{"BarFoo", "Foo", "Baz"},
		{"Foo", "BarFoo"},
		{"Resource"},
		{"Resource", "Resource"},
		{"Ünïcode-id", "Résource"},
		{"Api", "Default", "v1", "GET", "Resource"},
		{strings.Repeat("L", 256)},
		{strings.Repeat("a", 255)},
		{strings.Repeat("b", 200), strings.Repeat("c", 60), "Resource"},
	}
	// Random paths over components that exercise every rule: hidden ids,
	// duplicates, suffixes and characters the CDK removes.
	words := []string{"Default", "Resource", "Foo", "BarFoo", "Bar", "a-b_c.d", "x", "Client07", "Foo Bar", "ÄÖ"}
	rng := rand.New(rand.NewPCG(20, 5))
	for range 300 {
		n := 1 + rng.IntN(5)
		p := make([]string, n)
		for i := range p {
			p[i] = words[rng.IntN(len(words))]
		}
		paths = append(paths, p)
	}

	app := cdktest.NewApp()
	stack := awscdk.NewStack(app, jsii.String("LogicalIds"), nil)
	nested := awscdk.NewNestedStack(stack, jsii.String("Nested"), nil)
	for _, parent := range []awscdk.Stack{stack, nested} {
		scopes := map[string]constructs.Construct{}
		leaves := map[string]bool{}
		scopeOf := func(path []string) constructs.Construct {
			var scope constructs.Construct = parent
			for i := range path {
				key := strings.Join(path[:i+1], "/")
				s, ok := scopes[key]
				if !ok {
					s = constructs.NewConstruct(scope, jsii.String(path[i]))
					scopes[key] = s
				}
				scope = s
			}
			return scope
		}
		checked := 0
		for _, p := range paths {
			key := strings.Join(p, "/")
			if leaves[key] || scopes[key] != nil || hasLeafPrefix(leaves, p) {
				continue // a construct already has this path, or a resource is above it
			}
			want, err := logicalid.FromPath(p...)
			if err != nil {
				continue // every component "Default": the CDK refuses it too (TestFromPathRefuses)
			}
			leaves[key] = true
			res := awscdk.NewCfnResource(scopeOf(p[:len(p)-1]), jsii.String(p[len(p)-1]), &awscdk.CfnResourceProps{Type: jsii.String("AWS::SNS::Topic")})
			if got := *parent.GetLogicalId(res); got != want {
				t.Errorf("path %q in %s: the CDK allocates %q, FromPath says %q", p, *parent.StackName(), got, want)
			}
			checked++
		}
		if checked < 100 {
			t.Fatalf("only %d distinct paths checked in %s", checked, *parent.Node().Id())
		}
	}
}

func hasLeafPrefix(leaves map[string]bool, p []string) bool {
	for i := 1; i < len(p); i++ {
		if leaves[strings.Join(p[:i], "/")] {
			return true
		}
	}
	return false
}

func TestFromPathRefuses(t *testing.T) {
	for _, p := range [][]string{nil, {"Default"}, {"Default", "Default"}, {"A", "${Token[TOKEN.12]}"}} {
		if id, err := logicalid.FromPath(p...); err == nil {
			t.Errorf("FromPath(%q) = %q, want an error", p, id)
		}
	}
	want := "JanitorClient7065CF84" // in the golden templates
	if got := logicalid.Must("JanitorClient", "Resource"); got != want {
		t.Errorf("Must(JanitorClient, Resource) = %q, want %q", got, want)
	}
}
