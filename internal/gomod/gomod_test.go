package gomod

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindWalksUpToTheNamedModuleOnly(t *testing.T) {
	root := t.TempDir()
	write := func(rel, content string) {
		path := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	write("app/go.mod", "// the app\nmodule example.com/app // a comment\n\ngo 1.26\n")
	write("app/pkg/deep/x.go", "package deep\n")
	write("app/consumer/go.mod", "module \"example.com/consumer\"\n")

	t.Chdir(filepath.Join(root, "app", "pkg", "deep"))
	dir, err := Find("example.com/app")
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "app"), dir)

	// The first go.mod above is another module's: refused, not skipped.
	t.Chdir(filepath.Join(root, "app", "consumer"))
	_, err = Find("example.com/app")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "declares module example.com/consumer, not example.com/app")

	// No go.mod at or above: an error either way (unless the temporary
	// directory's parents hold some other module's go.mod, also an error).
	t.Chdir(root)
	_, err = Find("example.com/app")
	assert.Error(t, err)
}
