package golambda

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/scopegate/scopegate/internal/gomod"
)

// sourceHash fingerprints what `go build` turns into the bootstrap: the
// entry package and every package of the same module it imports, directly or
// not (their non-test Go files), go.mod, go.sum, the build flags, the target
// and the Go version. Modules outside this one are pinned by go.sum. Given as
// the asset's custom hash, it lets the CDK skip bundling when cdk.out already
// holds a bootstrap built from the same inputs (BENCHMARKS.md).
//
// It reads only those packages, so nothing else in the repository (build
// outputs, other commands) makes a synth rebuild, or a test re-run.
func sourceHash(moduleRoot, entry string) (string, error) {
	modulePath, err := gomod.ModulePath(filepath.Join(moduleRoot, "go.mod"))
	if err != nil {
		return "", err
	}
	h := sha256.New()
	io.WriteString(h, runtime.Version()+"\x00linux/arm64\x00"+strings.Join(BuildFlags, " ")+"\x00")
	for _, name := range []string{"go.mod", "go.sum"} {
		if err := hashFile(h, moduleRoot, filepath.Join(moduleRoot, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	seen := map[string]bool{}
	queue := []string{entry}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		if seen[dir] {
			continue
		}
		seen[dir] = true
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return "", err
		}
		sort.Strings(files)
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			if err := hashFile(h, moduleRoot, file); err != nil {
				return "", err
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
			if err != nil {
				return "", err
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				if rel, ok := strings.CutPrefix(path, modulePath+"/"); ok {
					queue = append(queue, filepath.Join(moduleRoot, filepath.FromSlash(rel)))
				}
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h io.Writer, root, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(root, path)
	io.WriteString(h, filepath.ToSlash(rel)+"\x00")
	h.Write(data)
	_, err = h.Write([]byte{0})
	return err
}
