package golambda

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hash must change with anything go build reads, and only with that, or
// a warm synth would ship a stale bootstrap or rebuild for nothing.
func TestSourceHashFollowsWhatGoBuildReads(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		path := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	write("go.mod", "module example.com/m\n")
	write("go.sum", "")
	write("fn/main.go", "package main\nimport _ \"example.com/m/lib\"\nfunc main() {}\n")
	write("lib/lib.go", "package lib\nimport _ \"example.com/m/lib/deep\"\n")
	write("lib/deep/deep.go", "package deep\n")
	write("other/other.go", "package other\n")
	entry := filepath.Join(root, "fn")
	hash := func() string {
		h, err := sourceHash(root, entry)
		require.NoError(t, err)
		return h
	}
	base := hash()
	assert.Len(t, base, 64)

	for _, irrelevant := range []string{"lib/lib_test.go", "other/other.go", "node_modules/x/y.go", "cdk.out/a.go", "README.md", "fn/testdata/z.go"} {
		write(irrelevant, "package x\n")
		assert.Equal(t, base, hash(), "%s must not change the hash", irrelevant)
	}
	for _, relevant := range []string{"lib/deep/deep.go", "lib/lib.go", "go.sum", "go.mod", "fn/extra.go"} {
		content := "package x\n// changed\n"
		if relevant == "go.mod" {
			content = "module example.com/m\n\ngo 1.26\n"
		}
		write(relevant, content)
		changed := hash()
		assert.NotEqual(t, base, changed, "%s must change the hash", relevant)
		base = changed
	}
	other, err := sourceHash(root, filepath.Join(root, "other"))
	require.NoError(t, err)
	assert.NotEqual(t, base, other, "another entry is another binary")
}
