package golambda

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"

	"github.com/scopegate/scopegate/internal/gomod"
)

// FindModuleDir returns the directory of the first go.mod at or above the
// working directory, provided that go.mod declares modulePath: an app can
// locate its own module this way (for ModuleDir, or an Entry inside it) under
// `cdk synth`, which runs it from the module's root, and `go test`, which runs
// it in a package's directory. Unlike runtime.Caller, it works in binaries
// built with -trimpath, and it never settles on another module's go.mod.
func FindModuleDir(modulePath string) (string, error) { return gomod.Find(modulePath) }

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
