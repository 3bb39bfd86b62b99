package golambda

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// FindModuleDir returns the directory of the first go.mod at or above the
// working directory, provided that go.mod declares modulePath: an app can
// locate its own module this way (for ModuleDir, or an Entry inside it) under
// `cdk synth`, which runs it from the module's root, and `go test`, which runs
// it in a package's directory. Unlike runtime.Caller, it works in binaries
// built with -trimpath, and it never settles on another module's go.mod.
func FindModuleDir(modulePath string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	dir, found := moduleRootOf(wd)
	if !found {
		return "", fmt.Errorf("no go.mod in %s or any directory above it", wd)
	}
	goMod := filepath.Join(dir, "go.mod")
	declared, err := modulePathOf(goMod)
	if err != nil {
		return "", err
	}
	if declared != modulePath {
		return "", fmt.Errorf("%s declares module %s, not %s", goMod, declared, modulePath)
	}
	return dir, nil
}

// modulePathOf reads the module path from the first module line of a go.mod.
func modulePathOf(goMod string) (string, error) {
	f, err := os.Open(goMod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == "module" {
			if path, err := strconv.Unquote(fields[1]); err == nil {
				return path, nil
			}
			return fields[1], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("golambda: no module line in " + goMod)
}

// moduleRootOf finds the directory of the go.mod at or above dir.
func moduleRootOf(dir string) (string, bool) {
	for {
		if info, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && info.Mode().IsRegular() {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

var sourceDirs sync.Map // module path -> result

type sourceDir struct {
	dir string
	err error
}

// SourceDir returns the directory of modulePath's source as the go command
// sees it from the working directory: the main module itself, a replace
// target, or the module cache. A construct library uses it to build a
// function of its own inside a consumer's app, where FindModuleDir would find
// the consumer's go.mod.
func SourceDir(modulePath string) (string, error) {
	if v, ok := sourceDirs.Load(modulePath); ok {
		r := v.(sourceDir)
		return r.dir, r.err
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", modulePath).Output()
	r := sourceDir{dir: strings.TrimSpace(string(out))}
	if err != nil || r.dir == "" {
		var exit *exec.ExitError
		detail := ""
		if errors.As(err, &exit) {
			detail = ": " + strings.TrimSpace(string(exit.Stderr))
		}
		r.err = fmt.Errorf("golambda: cannot find the source of module %s with `go list -m` (is it required by this module?)%s", modulePath, detail)
	}
	sourceDirs.Store(modulePath, r)
	return r.dir, r.err
}
