package local

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/scopegate/scopegate/cloudassembly"
	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/local/cfn"
	"github.com/scopegate/scopegate/local/lambdart"
)

// DefaultFunctionTimeout is Lambda's default timeout, 3 seconds
// (AWS::Lambda::Function Timeout).
const DefaultFunctionTimeout = 3 * time.Second

// errReported is a function's start failure already listed.
var errReported = errors.New("reported")

// unreached lists the functions no API method reaches: they are not started.
func (e *Emulator) unreached() {
	e.each("AWS::Lambda::Function", func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource) {
		for _, ref := range e.fnByArn {
			if ref.tpl == t && ref.id == id && !ref.tried {
				e.notEmulated(s, id, r.Type, "no API method reaches it, so it is not started (what invokes it, e.g. a Secrets Manager rotation or a schedule, is not emulated)")
			}
		}
	})
}

// nameFunctions gives every function its local name and ARN, so that
// methods' integration URIs resolve to them.
func (e *Emulator) nameFunctions() {
	e.each("AWS::Lambda::Function", func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource) {
		name := e.str(s, t, r.Properties["FunctionName"])
		if name == "" {
			name, _ = e.eval.String(s, t, map[string]any{"Ref": id})
		}
		arn := cfn.LocalARN("AWS::Lambda::Function", "function:"+name)
		e.eval.Set(t, id, cfn.Values{Ref: name, Attrs: map[string]string{"Arn": arn}})
		e.fnByArn[arn] = &fnRef{stack: s, tpl: t, id: id, name: name}
	})
	e.each("AWS::Lambda::LayerVersion", func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource) {
		e.eval.Set(t, id, cfn.Values{Ref: cfn.LocalARN("AWS::Lambda::LayerVersion", "layer:"+s.StackName+"-"+id+":1")})
	})
}

// function starts (once) the function an integration URI names:
// arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<arn>/invocations.
func (e *Emulator) function(ctx context.Context, uri string) (*fnRef, error) {
	arn := strings.TrimSuffix(uri[strings.Index(uri, "functions/")+len("functions/"):], "/invocations")
	ref, ok := e.fnByArn[arn]
	if !ok {
		return nil, fmt.Errorf("its integration URI names no function of the assembly (%s)", arn)
	}
	if ref.tried {
		if ref.err != nil {
			return ref, errReported
		}
		return ref, nil
	}
	ref.tried = true
	ref.fn, ref.err = e.startFunction(ctx, ref)
	return ref, ref.err
}

func (e *Emulator) startFunction(ctx context.Context, ref *fnRef) (*lambdart.Function, error) {
	r := ref.tpl.Resources[ref.id]
	binary, err := e.binary(ctx, ref.stack, ref.tpl, ref.id)
	if err != nil {
		return nil, err
	}
	env, err := e.environment(ref, r)
	if err != nil {
		return nil, err
	}
	prefix := ref.stack.StackName + "/" + ref.id + " "
	fn, err := lambdart.StartEchoing(ctx, binary, env, func(line string) { e.logf("%s%s", prefix, line) })
	if err != nil {
		return nil, err
	}
	e.functions = append(e.functions, fn)
	return fn, nil
}

// binary is the function built for this machine: from its source when
// constructs/golambda recorded it (contract.FunctionSourceMetadata), else
// the asset's bootstrap if it runs here.
func (e *Emulator) binary(ctx context.Context, s *cloudassembly.Stack, t *cloudassembly.Template, id string) (string, error) {
	r := t.Resources[id]
	if data, ok := s.ConstructMetadata(t, id, contract.FunctionSourceMetadata); ok {
		m, _ := data.(map[string]any)
		entry, _ := m[contract.FunctionSourceEntry].(string)
		module, _ := m[contract.FunctionSourceModuleDir].(string)
		if entry == "" || module == "" {
			return "", fmt.Errorf("its %s metadata names no entry and module", contract.FunctionSourceMetadata)
		}
		return e.build(ctx, entry, module)
	}
	if asset := s.AssetPath(r, "Code"); asset != "" {
		bootstrap := filepath.Join(s.Dir, asset, "bootstrap")
		if runsHere(bootstrap) {
			return bootstrap, nil
		}
	}
	return "", errNoSource
}

// runsHere tells whether file is an ELF executable for this machine.
func runsHere(file string) bool {
	f, err := elf.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	return runtime.GOOS == "linux" && f.Machine == want
}

// build builds entry for the host once per source state: the binary is
// kept under StateDir/build/<hash of the source files' paths, sizes and
// times>, so an unchanged function is not built again, not even by a later
// run. go build itself has no deadline: a cold build cache is slow, not
// broken.
func (e *Emulator) build(ctx context.Context, entry, module string) (string, error) {
	key, err := sourceKey(ctx, entry, module)
	if err != nil {
		return "", err
	}
	if bin, ok := e.built[key]; ok {
		return bin, nil
	}
	dir := filepath.Join(e.opts.StateDir, "build", key)
	bin := filepath.Join(dir, "bootstrap")
	if _, err := os.Stat(bin); err != nil {
		if bin, err = lambdart.Build(ctx, entry, dir); err != nil {
			return "", err
		}
	}
	e.built[key] = bin
	return bin, nil
}

// sourceKey hashes what go list says the entry is built from: every
// non-standard package's Go files, with their sizes and modification times,
// and the module's go.mod and go.sum.
func sourceKey(ctx context.Context, entry, module string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-deps", "-f", `{{if not .Standard}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}`, ".")
	cmd.Dir = entry
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list in %s: %w", entry, err)
	}
	h := sha256.New()
	fmt.Fprintln(h, runtime.GOOS, runtime.GOARCH, entry)
	for _, f := range append(strings.Fields(string(out)), filepath.Join(module, "go.mod"), filepath.Join(module, "go.sum")) {
		if info, err := os.Stat(f); err == nil {
			fmt.Fprintln(h, f, info.Size(), info.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// environment is the function's environment: the template's variables with
// references resolved to local resources and /opt paths to its extracted
// layers, the endpoint variables the AWS SDKs honour, dummy credentials, and
// Lambda's own variables (lambdart adds the rest).
func (e *Emulator) environment(ref *fnRef, r cloudassembly.Resource) ([]string, error) {
	vars := map[string]string{}
	if env, ok := r.Properties["Environment"].(map[string]any); ok {
		if vs, ok := env["Variables"].(map[string]any); ok {
			for k, v := range vs {
				s, err := e.eval.String(ref.stack, ref.tpl, v)
				if err != nil {
					return nil, fmt.Errorf("environment variable %s: %w", k, err)
				}
				vars[k] = s
			}
		}
	}
	layers, err := e.layers(ref, r)
	if err != nil {
		return nil, err
	}
	for k, v := range vars {
		vars[k] = optPaths(v, layers)
	}
	out := []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + ref.name,
		"AWS_REGION=" + cfn.Region, "AWS_DEFAULT_REGION=" + cfn.Region,
		// The SDKs refuse to sign without credentials; dynalite accepts any.
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
	}
	if mem := atoi(r.Properties["MemorySize"]); mem > 0 {
		out = append(out, fmt.Sprintf("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", mem))
	}
	if e.dynamo != nil {
		// The AWS SDKs' service-specific endpoint variable ("Service-specific
		// endpoints", AWS SDKs and Tools reference guide).
		out = append(out, "AWS_ENDPOINT_URL_DYNAMODB="+e.dynamo.Endpoint)
	}
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	return out, nil
}

// optPaths rewrites each ':'-separated /opt path of v to the first layer
// directory holding it (Lambda extracts layers into /opt in order, a later
// layer's files over an earlier one's; the first that has the file wins
// here, which differs only when two layers hold the same path).
func optPaths(v string, layers []string) string {
	if !strings.Contains(v, "/opt/") {
		return v
	}
	parts := strings.Split(v, ":")
	for i, p := range parts {
		rest, ok := strings.CutPrefix(p, "/opt/")
		if !ok {
			continue
		}
		for j := len(layers) - 1; j >= 0; j-- {
			if _, err := os.Stat(filepath.Join(layers[j], rest)); err == nil {
				parts[i] = filepath.Join(layers[j], rest)
				break
			}
		}
	}
	return strings.Join(parts, ":")
}

// layers are the directories of the function's layers of this assembly,
// in order: an asset directory as is, a .zip asset extracted under
// StateDir/layers.
func (e *Emulator) layers(ref *fnRef, r cloudassembly.Resource) ([]string, error) {
	var dirs []string
	for _, l := range asList(r.Properties["Layers"]) {
		t, id, ok := ref.tpl.Resolve(l)
		if !ok {
			e.notEmulated(ref.stack, ref.id, "AWS::Lambda::Function Layers", "a layer from outside the assembly is not available locally")
			continue
		}
		asset := ref.stack.AssetPath(t.Resources[id], "Content")
		if asset == "" {
			e.notEmulated(ref.stack, id, "AWS::Lambda::LayerVersion", "no asset in the assembly")
			continue
		}
		path, err := filepath.Abs(filepath.Join(ref.stack.Dir, asset))
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(path, ".zip") {
			dir := filepath.Join(e.opts.StateDir, "layers", filepath.Base(path))
			if err := unzip(path, dir); err != nil {
				return nil, fmt.Errorf("layer %s: %w", id, err)
			}
			path = dir
		}
		dirs = append(dirs, path)
	}
	return dirs, nil
}

func unzip(file, dir string) error {
	z, err := zip.OpenReader(file)
	if err != nil {
		return err
	}
	defer z.Close()
	for _, f := range z.File {
		target := filepath.Join(dir, f.Name)
		if !strings.HasPrefix(target, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("%s: entry %q leaves the directory", file, f.Name)
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		out, err := os.OpenFile(target, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, f.Mode()|0o600)
		if err == nil {
			_, err = io.Copy(out, rc)
			out.Close()
		}
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// timeout is the function's Timeout.
func timeout(r cloudassembly.Resource) time.Duration {
	if n := atoi(r.Properties["Timeout"]); n > 0 {
		return time.Duration(n) * time.Second
	}
	return DefaultFunctionTimeout
}
