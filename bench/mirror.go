package main

// The mirror section (go run ./bench -only mirror, make bench-mirror): what
// synthesizing the same templates costs a Go user against a JavaScript user
// (issue 20: at most 1.25 times as much for bench/scaleapp at 1,000 clients
// and 300 routes, at most 1.10 times for the default app). bench/jsmirror
// holds the two apps written as plain JavaScript CDK apps: app.js is
// bench/scaleapp, defaultapp.js the repository's own app with cdk.json's
// configuration, both built from scopegate.js, which writes what the Go
// constructs build: the same L2 constructs where they use L2s, plain L1s
// where they write L1s or include a template of their own, the same
// construct ids. Each Go app and its mirror are synthesized by the same CLI
// into their own assembly, their templates compared, then timed
// alternately.
//
// Keeping the mirror in step: scopegate.js is a copy of what the Go
// constructs build, so a change to a construct (or to bench/scaleapp,
// stacks/, main.go) that changes a template (a property, a logical id, a
// new resource) makes this section report the template and the first JSON
// path that differs, and the timing "not comparable"; the JavaScript is
// then changed to build the same again. A change that leaves the templates
// alone (how the Go code makes them, such as moving resources into a
// CfnInclude) needs nothing.
//
// Neither app bundles its functions while timed: the Go app's warm-up
// bundles them into its assembly (golambda's source hash names them), and
// the JavaScript app reuses those bundles under the same hashes
// (-c mirror:goAssembly=<the Go app's assembly>).
//
// The JavaScript apps record a creation stack trace per CloudFormation
// element, as aws-cdk-lib does for any JavaScript app unless told not to;
// the Go apps record none (cdkapp.NewApp). -mirror-creation-stacks=false
// turns them off in the JavaScript apps too.
//
// The Go apps run the jsii kernel's node with --single-threaded-gc and
// --liftoff-only (cdkapp.UseKernelNodeFlags); the JavaScript apps run plain
// node, as a JavaScript user's cdk.json does. -mirror-js-node-flags gives
// them node flags too (-mirror-js-node-flags="--single-threaded-gc
// --liftoff-only" compares like with like).
//
// What the Go apps do besides synthesizing, and the mirrors do not: they
// check their props before creating anything, and after app.Synth read the
// assembly back for budget.CheckDir (and, the default app, apiguard.CheckDir),
// in Go; those are part of what a Go user of scopegate pays.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

var (
	mirrorRuns           = flag.Int("mirror-runs", 3, "timed runs of each app per mirror size, alternated Go, JavaScript, ... after one warm-up each (0: compare the templates only)")
	mirrorJSNodeFlags    = flag.String("mirror-js-node-flags", "", "node flags for the JavaScript apps (their --app is \"node <flags> bench/jsmirror/...\"), such as \"--single-threaded-gc --liftoff-only\", which the Go apps' jsii kernel runs with")
	mirrorCreationStacks = flag.Bool("mirror-creation-stacks", true, "let the JavaScript apps record a creation stack trace per CloudFormation element, as aws-cdk-lib does by default for a JavaScript app (the Go apps record none: cdkapp.NewApp)")
)

// mirrorSizes are the sizes the mirror compares: the smallest, the clients
// alone, and the target's 1,000 clients with 300 routes. -scale-max leaves
// out the larger ones.
var mirrorSizes = []scaleConfig{{1, 10}, {1000, 10}, {1000, 300}}

// mirrorDir is the JavaScript app's directory, with its own package.json
// and package-lock.json (aws-cdk-lib and constructs at the versions the Go
// bindings in go.mod wrap).
const mirrorDir = "bench/jsmirror"

func mirrorRows() []row {
	installMirror()
	var jsContext []string
	if !*mirrorCreationStacks {
		jsContext = []string{"-c", "mirror:creationStacks=false"}
	}
	node := "node "
	if *mirrorJSNodeFlags != "" {
		node += *mirrorJSNodeFlags + " "
	}
	// The repository's own app with cdk.json's configuration, against
	// bench/jsmirror/defaultapp.js (issue 20's second target).
	defaultApp := filepath.Join(*outDir, "scopegate")
	run([]string{"go", "build", "-o", defaultApp, "."}, nil)
	goDir, jsDir := filepath.Join(*outDir, "cdk.out-mirror-go-default"), filepath.Join(*outDir, "cdk.out-mirror-js-default")
	rows := mirrorPair("mirror: default app", goDir, jsDir,
		[]string{cdkCLI, "synth", "--quiet", "--app", defaultApp, "-o", goDir},
		append(append([]string{cdkCLI, "synth", "--quiet", "--app", node + mirrorDir + "/defaultapp.js"}, jsContext...), "-c", "mirror:goAssembly="+goDir, "-o", jsDir))

	app := buildScaleApp()
	for _, c := range mirrorSizes {
		if *scaleMax > 0 && (c.clients > *scaleMax || c.routes > *scaleMax) {
			continue
		}
		goDir := filepath.Join(*outDir, fmt.Sprintf("cdk.out-mirror-go-%d-%d", c.clients, c.routes))
		jsDir := filepath.Join(*outDir, fmt.Sprintf("cdk.out-mirror-js-%d-%d", c.clients, c.routes))
		size := []string{"-c", fmt.Sprintf("scale:clients=%d", c.clients), "-c", fmt.Sprintf("scale:routes=%d", c.routes)}
		rows = append(rows, mirrorPair(fmt.Sprintf("mirror: %d clients, %d routes", c.clients, c.routes), goDir, jsDir,
			append(append([]string{cdkCLI, "synth", "--quiet", "--app", app}, size...), "-o", goDir),
			append(append(append([]string{cdkCLI, "synth", "--quiet", "--app", node + mirrorDir + "/app.js"}, size...), jsContext...), "-c", "mirror:goAssembly="+goDir, "-o", jsDir))...)
	}
	return rows
}

// installMirror runs npm ci in bench/jsmirror when its node_modules is
// missing or older than package.json or package-lock.json (npm ci writes
// node_modules/.package-lock.json last, as make synth's rule for the root's
// tools relies on).
func installMirror() {
	installed, err := os.Stat(filepath.Join(mirrorDir, "node_modules", ".package-lock.json"))
	stale := err != nil
	for _, f := range []string{"package.json", "package-lock.json"} {
		info, err := os.Stat(filepath.Join(mirrorDir, f))
		must(err)
		stale = stale || info.ModTime().After(installed.ModTime())
	}
	if !stale {
		return
	}
	fmt.Fprintln(os.Stderr, "bench: npm ci in", mirrorDir)
	c := exec.Command("npm", "ci", "--no-audit", "--no-fund")
	c.Dir = mirrorDir
	if out, err := c.CombinedOutput(); err != nil {
		fail(fmt.Sprintf("npm ci in %s: %v\n%s", mirrorDir, err, out))
	}
}

// mirrorPair synthesizes the Go app (goCmd, into goDir) and its mirror
// (jsCmd, into jsDir), compares their templates and, unless -mirror-runs is
// 0, times them.
func mirrorPair(what, goDir, jsDir string, goCmd, jsCmd []string) []row {
	how := func(cmd []string) string {
		quoted := make([]string, len(cmd))
		for i, a := range cmd {
			quoted[i] = a
			if strings.Contains(a, " ") {
				quoted[i] = strconv.Quote(a)
			}
		}
		return strings.Join(quoted, " ")
	}

	// A synth that failed must not leave an earlier run's templates to be
	// compared; the bundles (asset.* directories) stay, so that only the
	// first run ever bundles.
	for _, dir := range []string{goDir, jsDir} {
		old, err := filepath.Glob(filepath.Join(dir, "*.json"))
		must(err)
		for _, f := range old {
			must(os.Remove(f))
		}
	}
	// The warm-ups: the Go app bundles its functions if its assembly has
	// none yet, the JavaScript app copies them; their templates are the
	// ones compared.
	for _, cmd := range [][]string{goCmd, jsCmd} {
		if _, err := tryTimeIt(cmd, nil); err != nil {
			return []row{{what, "failed: " + firstErrorLine(err), how(cmd)}}
		}
	}
	diffs, reordered, compared, err := compareAssemblies(goDir, jsDir)
	if err != nil {
		return []row{{what, "failed: " + err.Error(), "compare " + goDir + " with " + jsDir}}
	}
	ignored := "ignoring Metadata aws:cdk:path, the CDKMetadata resource and its condition, and nested stacks' TemplateURL"
	var rows []row
	if len(diffs) == 0 {
		order := "the same bytes, key order included"
		if len(reordered) > 0 {
			order = fmt.Sprintf("the same bytes but for the order of keys in %d of them: %s", len(reordered), strings.Join(reordered, ", "))
		}
		rows = append(rows, row{what + ": templates", fmt.Sprintf("the %d templates are identical (%s): %s", compared, ignored, order),
			fmt.Sprintf("%s; %s; compare %s/*.template.json with %s", how(goCmd), how(jsCmd), goDir, jsDir)})
	} else {
		rows = append(rows, row{what + ": templates", fmt.Sprintf("not comparable: %d of %d templates differ (%s)", len(diffs), compared, ignored),
			fmt.Sprintf("%s; %s", how(goCmd), how(jsCmd))})
		for _, d := range diffs {
			rows = append(rows, row{what + ": " + d.template + " differs", d.String(), "compare " + goDir + " with " + jsDir})
		}
	}
	if *mirrorRuns == 0 {
		return rows
	}

	// Alternated, so that a change in the machine's load falls on both.
	before := uptime()
	var goTimes, jsTimes []float64
	for range *mirrorRuns {
		for _, run := range []struct {
			cmd   []string
			times *[]float64
		}{{goCmd, &goTimes}, {jsCmd, &jsTimes}} {
			secs, err := tryTimeIt(run.cmd, nil)
			if err != nil {
				return append(rows, row{what + ": synth time", "failed: " + firstErrorLine(err), how(run.cmd)})
			}
			*run.times = append(*run.times, secs)
		}
	}
	after := uptime()
	goMedian, jsMedian := median(goTimes), median(jsTimes)
	ratio := fmt.Sprintf("Go/JS %.2f", goMedian/jsMedian)
	if len(diffs) > 0 {
		ratio = "Go/JS not comparable (the templates differ)"
	}
	fmt.Fprintf(os.Stderr, "bench: %s: Go %.2f s, JS %.2f s\n", what, goMedian, jsMedian)
	rows = append(rows, row{what + ": synth time, validation on",
		fmt.Sprintf("Go %.2f s (min %.2f, max %.2f); JS %.2f s (min %.2f, max %.2f); %s; load before: %s; after: %s",
			goMedian, slices.Min(goTimes), slices.Max(goTimes), jsMedian, slices.Min(jsTimes), slices.Max(jsTimes), ratio, before, after),
		fmt.Sprintf("/usr/bin/time -f %%e, median of %d each, alternated Go, JS after a warm-up each: %s; %s", *mirrorRuns, how(goCmd), how(jsCmd))})
	return rows
}

// uptime is the machine's load averages as uptime prints them.
func uptime() string {
	out, err := exec.Command("uptime").Output()
	if err != nil {
		return "(uptime: " + err.Error() + ")"
	}
	s := strings.TrimSpace(string(out))
	if i := strings.Index(s, "load average"); i >= 0 {
		return s[i:]
	}
	return s
}

// templateDiff is the first difference between the Go app's and the
// JavaScript app's version of one template.
type templateDiff struct {
	template string
	path     string // JSON path of the first difference
	goValue  any
	jsValue  any
	missing  string // "Go" or "JS" when that side has no such template
}

func (d templateDiff) String() string {
	if d.missing != "" {
		return "only the other app wrote it (the " + d.missing + " app did not)"
	}
	return fmt.Sprintf("first difference at %s: Go %s, JS %s", strings.TrimPrefix(d.path, "."), shortJSON(d.goValue), shortJSON(d.jsValue))
}

// absent marks a key one side does not have.
type absent struct{}

func shortJSON(v any) string {
	if _, ok := v.(absent); ok {
		return "(absent)"
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(data) > 200 {
		return string(data[:200]) + "..."
	}
	return string(data)
}

// compareAssemblies compares every template (*.template.json, the parent's
// and the nested stacks') of two cloud assemblies; reordered names the
// templates that are the same but for the order of their keys.
func compareAssemblies(goDir, jsDir string) (diffs []templateDiff, reordered []string, compared int, err error) {
	names := map[string][2]bool{}
	for i, dir := range []string{goDir, jsDir} {
		files, err := filepath.Glob(filepath.Join(dir, "*.template.json"))
		if err != nil {
			return nil, nil, 0, err
		}
		for _, f := range files {
			seen := names[filepath.Base(f)]
			seen[i] = true
			names[filepath.Base(f)] = seen
		}
	}
	if len(names) == 0 {
		return nil, nil, 0, errors.New("no *.template.json in " + goDir + " or " + jsDir)
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		compared++
		switch seen := names[name]; {
		case !seen[1]:
			diffs = append(diffs, templateDiff{template: name, missing: "JS"})
			continue
		case !seen[0]:
			diffs = append(diffs, templateDiff{template: name, missing: "Go"})
			continue
		}
		goData, err := os.ReadFile(filepath.Join(goDir, name))
		if err != nil {
			return nil, nil, 0, err
		}
		jsData, err := os.ReadFile(filepath.Join(jsDir, name))
		if err != nil {
			return nil, nil, 0, err
		}
		c, err := compareTemplates(goData, jsData)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("%s: %w", name, err)
		}
		switch {
		case !c.same:
			diffs = append(diffs, templateDiff{template: name, path: c.path, goValue: c.goValue, jsValue: c.jsValue})
		case !c.sameOrder:
			reordered = append(reordered, name)
		}
	}
	return diffs, reordered, compared, nil
}

// templateComparison is what compareTemplates found.
type templateComparison struct {
	// same: the templates are the same, whatever the order of their keys.
	same bool
	// sameOrder: the same, and their keys in the same order, so that the
	// CDK writes the same bytes (but for what is ignored).
	sameOrder bool
	// path is the first differing JSON path, in sorted key order, with
	// both values there, when they are not the same.
	path             string
	goValue, jsValue any
}

// compareTemplates compares two CloudFormation templates but for what
// differs between two apps that build the same resources: each resource's
// Metadata "aws:cdk:path" (the construct path: the apps' constructs differ
// where one includes a template the other builds with L1s), the CDKMetadata
// resource and its condition (the construct types used), and a nested
// stack's TemplateURL (its template's hash, which the metadata changes).
// Objects are the same when they hold the same keys and values in any
// order (a template's meaning does not depend on it), arrays in order.
func compareTemplates(goData, jsData []byte) (templateComparison, error) {
	var c templateComparison
	a, err := decodeOrdered(goData)
	if err != nil {
		return c, fmt.Errorf("the Go app's template: %w", err)
	}
	b, err := decodeOrdered(jsData)
	if err != nil {
		return c, fmt.Errorf("the JavaScript app's template: %w", err)
	}
	stripIgnored(a)
	stripIgnored(b)
	c.path, c.goValue, c.jsValue, c.same = firstDifference("", a, b)
	if c.same {
		goText, err := json.Marshal(a)
		if err != nil {
			return c, err
		}
		jsText, err := json.Marshal(b)
		if err != nil {
			return c, err
		}
		c.sameOrder = bytes.Equal(goText, jsText)
	}
	return c, nil
}

// object is a JSON object with its keys in the order of its text.
type object struct {
	keys   []string
	values map[string]any
}

func (o *object) delete(key string) {
	if _, ok := o.values[key]; ok {
		delete(o.values, key)
		o.keys = slices.DeleteFunc(o.keys, func(k string) bool { return k == key })
	}
}

// MarshalJSON writes the object compactly, its keys in their order.
func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		value, err := json.Marshal(o.values[k])
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// decodeOrdered reads JSON into *object, []any, string, json.Number, bool
// and nil values.
func decodeOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t {
	case json.Delim('{'):
		o := &object{values: map[string]any{}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key := k.(string) // the decoder only gives string keys
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := o.values[key]; !dup {
				o.keys = append(o.keys, key)
			}
			o.values[key] = v
		}
		_, err := dec.Token() // '}'
		return o, err
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token() // ']'
		return list, err
	}
	return t, nil
}

// stripIgnored removes, in place, what compareTemplates ignores.
func stripIgnored(template any) {
	t, ok := template.(*object)
	if !ok {
		return
	}
	if resources, ok := t.values["Resources"].(*object); ok {
		resources.delete("CDKMetadata")
		for _, id := range resources.keys {
			r, ok := resources.values[id].(*object)
			if !ok {
				continue
			}
			if m, ok := r.values["Metadata"].(*object); ok {
				m.delete("aws:cdk:path")
				// As the CDK writes a resource without path metadata.
				if len(m.keys) == 0 {
					r.delete("Metadata")
				}
			}
			if r.values["Type"] == "AWS::CloudFormation::Stack" {
				if p, ok := r.values["Properties"].(*object); ok {
					p.delete("TemplateURL")
				}
			}
		}
	}
	if conditions, ok := t.values["Conditions"].(*object); ok {
		conditions.delete("CDKMetadataAvailable")
		if len(conditions.keys) == 0 {
			t.delete("Conditions")
		}
	}
}

// firstDifference walks a and b (values of decodeOrdered) together, objects
// in sorted key order.
func firstDifference(path string, a, b any) (string, any, any, bool) {
	switch a := a.(type) {
	case *object:
		b, ok := b.(*object)
		if !ok {
			break
		}
		keys := slices.Clone(a.keys)
		for _, k := range b.keys {
			if _, ok := a.values[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			av, inA := a.values[k]
			bv, inB := b.values[k]
			p := path + "." + k
			switch {
			case !inA:
				return p, absent{}, bv, false
			case !inB:
				return p, av, absent{}, false
			}
			if p, x, y, same := firstDifference(p, av, bv); !same {
				return p, x, y, false
			}
		}
		return "", nil, nil, true
	case []any:
		b, ok := b.([]any)
		if !ok {
			break
		}
		for i := range min(len(a), len(b)) {
			if p, x, y, same := firstDifference(path+"["+strconv.Itoa(i)+"]", a[i], b[i]); !same {
				return p, x, y, false
			}
		}
		if len(a) != len(b) {
			return path + ".length", len(a), len(b), false
		}
		return "", nil, nil, true
	case json.Number:
		// The same number written alike by both (the CDK writes both
		// templates), or differently: 60 and 60.0.
		if b, ok := b.(json.Number); ok {
			x, errA := a.Float64()
			y, errB := b.Float64()
			if a == b || errA == nil && errB == nil && x == y {
				return "", nil, nil, true
			}
		}
		return path, a, b, false
	}
	if reflect.DeepEqual(a, b) {
		return "", nil, nil, true
	}
	return path, a, b, false
}
