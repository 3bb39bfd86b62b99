package golambda

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
