package golambda

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// skippedDirs hold no source the function is built from.
var skippedDirs = map[string]bool{"node_modules": true, "cdk.out": true, "testdata": true}

// sourceHash fingerprints what `go build` turns into the bootstrap: every
// non-test Go file of the module, go.mod, go.sum, the build flags, the target
// and the Go version. Given as the asset's custom hash, it lets the CDK skip
// bundling when cdk.out already holds a bootstrap built from the same inputs
// (a warm synth then saves the build's ~0.6 s; see BENCHMARKS.md). Modules
// outside this one are pinned by go.sum, so they are covered too.
func sourceHash(moduleRoot string, entry string) (string, error) {
	h := sha256.New()
	io.WriteString(h, runtime.Version()+"\x00linux/arm64\x00"+strings.Join(BuildFlags, " ")+"\x00")
	rel, err := filepath.Rel(moduleRoot, entry)
	if err != nil {
		return "", err
	}
	io.WriteString(h, filepath.ToSlash(rel)+"\x00")
	err = filepath.WalkDir(moduleRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != moduleRoot && (skippedDirs[name] || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !(strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) && name != "go.mod" && name != "go.sum" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(moduleRoot, path)
		io.WriteString(h, filepath.ToSlash(r)+"\x00")
		h.Write(data)
		h.Write([]byte{0})
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// moduleRootOf finds the directory of the go.mod at or above dir.
func moduleRootOf(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}
