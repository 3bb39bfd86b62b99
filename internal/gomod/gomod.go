// Package gomod finds go.mod files: the one finder of a module's directory
// that the constructs, the app, the benches and the test tools share. It
// imports nothing but the standard library.
package gomod

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RootOf returns the directory of the go.mod at or above dir.
func RootOf(dir string) (string, bool) {
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

// Root returns the directory of the go.mod at or above the working
// directory.
func Root() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	dir, ok := RootOf(wd)
	if !ok {
		return "", fmt.Errorf("no go.mod in %s or any directory above it", wd)
	}
	return dir, nil
}

// Find returns the directory of the go.mod at or above the working
// directory, provided it declares modulePath: it never settles on another
// module's go.mod. Unlike runtime.Caller, it works in binaries built with
// -trimpath.
func Find(modulePath string) (string, error) {
	dir, err := Root()
	if err != nil {
		return "", err
	}
	goMod := filepath.Join(dir, "go.mod")
	declared, err := ModulePath(goMod)
	if err != nil {
		return "", err
	}
	if declared != modulePath {
		return "", fmt.Errorf("%s declares module %s, not %s", goMod, declared, modulePath)
	}
	return dir, nil
}

// ModulePath reads the module path from the first module line of a go.mod.
func ModulePath(goMod string) (string, error) {
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
	return "", errors.New("no module line in " + goMod)
}
