// Command bench measures scopegate the same way every time and prints one
// table (make bench). Wall times come from /usr/bin/time; Go figures from go
// test -bench -benchmem; comparisons from benchstat. Usage:
//
//	go run ./bench [-runs 5] [-previous old-handler-bench.txt] [-scale-runs 3]
//	go run ./bench -only scale [-scale-runs 3] [-scale-max 100]   (make bench-scale)
//	go run ./bench -only function [-function-limit 10m]           (make bench-function)
//	go run ./bench -only jsii [-scale-max 100]                     (make bench-jsii)
//	go run ./bench -only local [-local-limit 10m]                 (make bench-local)
//	go run ./bench -only mirror [-mirror-runs 3] [-scale-max 10]  (make bench-mirror)
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/scopegate/scopegate/cloudassembly"
	"github.com/scopegate/scopegate/internal/cdkenv"
)

var (
	runs     = flag.Int("runs", 5, "timed runs per synth figure (after one warm-up)")
	previous = flag.String("previous", "", "a previous handler benchmark output to compare with benchstat")
	outDir   = flag.String("out", "bench/out", "where raw outputs go")
	only     = flag.String("only", "", `run one section only: "scale", "jsii" (the scale section's jsii call counts), "function", "local" or "mirror" (the Go scale app against its JavaScript mirror; default: every section but mirror)`)
)

type row struct{ what, value, how string }

// cdkCLI is the CLI package.json pins, as make synth runs it.
const cdkCLI = "node_modules/.bin/cdk"

func main() {
	flag.Parse()
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		fail("bench needs /usr/bin/time (Debian package \"time\")")
	}
	must(os.MkdirAll(*outDir, 0o755))
	var rows []row
	results := "results.md"
	switch *only {
	case "":
		rows = append(append(append(coreRows(), scaleRows()...), functionRows()...), localRows()...)
	case "scale":
		// Its own file, so a scale-only run leaves the full table alone.
		rows, results = scaleRows(), "results-scale.md"
	case "function":
		rows, results = functionRows(), "results-function.md"
	case "jsii":
		// The jsii call counts of the scale section alone, without its timings.
		rows, results = jsiiCallRows(buildScaleApp()), "results-jsii.md"
	case "local":
		rows, results = localRows(), "results-local.md"
	case "mirror":
		rows, results = mirrorRows(), "results-mirror.md"
	default:
		fail(fmt.Sprintf("-only %q: the sections that run alone are scale, jsii, function, local and mirror", *only))
	}

	var table bytes.Buffer
	fmt.Fprintln(&table, "| figure | value | how |")
	fmt.Fprintln(&table, "|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(&table, "| %s | %s | `%s` |\n", r.what, r.value, r.how)
	}
	if *previous != "" && *only == "" {
		handlerFile := filepath.Join(*outDir, "handler-bench.txt")
		cmp := run([]string{"go", "tool", "benchstat", *previous, handlerFile}, nil)
		fmt.Fprintf(&table, "\nbenchstat %s %s:\n\n```\n%s```\n", *previous, handlerFile, cmp)
	}
	must(os.WriteFile(filepath.Join(*outDir, results), table.Bytes(), 0o644))
	os.Stdout.Write(table.Bytes())
}

// coreRows measures synth of the app against the empty floor app, the
// Lambda's build and size, the tests, and the handler and client benchmarks.
func coreRows() []row {
	var rows []row

	// Synthesis: the app and the empty floor app, validation on and off.
	cdk := cdkCLI
	assembly := func(label string) string { return filepath.Join(*outDir, "cdk.out-"+slug(label)) }
	synth := func(label, app string, extra ...string) []string {
		args := []string{"synth", "--quiet", "--app", app, "-o", assembly(label)}
		return append(append([]string{cdk}, args...), extra...)
	}
	type variant struct {
		label, app string
		env        []string
		extra      []string
	}
	valOff := []string{cdkenv.Validation + "=false"}
	variants := []variant{
		{"empty Go CDK app (floor), validation on", "go run ./bench/emptyapp", nil, nil},
		{"scopegate app, validation on", "go run .", nil, nil},
		{"empty Go CDK app (floor), CDK_VALIDATION=false", "go run ./bench/emptyapp", valOff, nil},
		{"scopegate app, CDK_VALIDATION=false", "go run .", valOff, nil},
		{"scopegate app with cdk-nag (make nag), CDK_VALIDATION=false", "go run .", valOff, []string{"-c", "scopegate:nag=true"}},
	}
	medians := map[string]float64{}
	for _, v := range variants {
		cmd := synth(v.label, v.app, v.extra...)
		timeIt(cmd, v.env) // warm-up: go run's build, jsii's package cache
		var times []float64
		for range *runs {
			times = append(times, timeIt(cmd, v.env))
		}
		m := median(times)
		medians[v.label] = m
		fmt.Fprintf(os.Stderr, "bench: %s: %.2f s\n", v.label, m)
		rows = append(rows, row{"cdk synth: " + v.label, fmt.Sprintf("%.2f s (median of %d; min %.2f, max %.2f)", m, *runs, slices.Min(times), slices.Max(times)),
			"/usr/bin/time -f %e " + envPrefix(v.env) + strings.Join(cmd, " ")})
	}
	// The warm synths above find the bootstrap already in cdk.out (golambda's
	// source hash) and skip bundling; this is what a changed source costs.
	bundle := []string{"go", "build", "-trimpath", `-ldflags=-s -w -buildid=`, "-tags=lambda.norpc", "-o", filepath.Join(*outDir, "bootstrap"), "./lambda/weatherevents"}
	bundleEnv := []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}
	timeIt(bundle, bundleEnv)
	var builds []float64
	for range *runs {
		builds = append(builds, timeIt(bundle, bundleEnv))
	}
	rows = append(rows, row{"Lambda bundling's go build when a source changed (warm Go cache)", fmt.Sprintf("%.2f s (median of %d)", median(builds), *runs),
		"/usr/bin/time -f %e " + envPrefix(bundleEnv) + strings.Join(bundle, " ")})

	for _, setting := range []string{"validation on", "CDK_VALIDATION=false"} {
		floor, app := medians["empty Go CDK app (floor), "+setting], medians["scopegate app, "+setting]
		rows = append(rows, row{"app above floor, " + setting, fmt.Sprintf("%.2f s (floor %.2f + %.2f; target <= 2 s)", app, floor, app-floor), "the two medians above"})
	}

	// Lambda sizes, from the real synthesis output.
	sizes := bootstrapSizes(assembly("scopegate app, validation on"))
	for _, s := range sizes {
		rows = append(rows, row{"bootstrap " + s.what, s.value, s.how})
	}

	// Tests.
	timeIt([]string{"make", "test"}, nil)
	rows = append(rows, row{"make test, warm (nothing changed)", fmt.Sprintf("%.2f s", timeIt([]string{"make", "test"}, nil)), "/usr/bin/time -f %e make test (second run: Go's test cache answers)"})
	rows = append(rows, row{"every test re-run", fmt.Sprintf("%.2f s (target < 60 s)", timeIt([]string{"go", "test", "-count=1", "./..."}, nil)), "/usr/bin/time -f %e go test -count=1 ./... (packages compiled, no test cache)"})

	// Handler and client benchmarks.
	handler := run([]string{"go", "test", "./lambda/weatherevents/api", "-run", "^$", "-bench", ".", "-benchmem", "-count", "6"}, nil)
	handlerFile := filepath.Join(*outDir, "handler-bench.txt")
	must(os.WriteFile(handlerFile, handler, 0o644))
	for _, b := range parseBench(handler) {
		rows = append(rows, row{"handler " + b.name, fmt.Sprintf("%.0f ns/op, %.0f allocs/op, %.0f B/op", b.ns, b.allocs, b.bytes), "go test ./lambda/weatherevents/api -bench . -benchmem -count 6 (median); raw: " + handlerFile})
	}
	client := run([]string{"go", "test", "./m2mclient", "-run", "^$", "-bench", "TokenRequestsPer1000", "-benchtime", "5x"}, nil)
	for _, b := range []struct{ name, what, target string }{
		{"Calls", "token requests per 1,000 API calls in one token lifetime", "1"},
		{"ScopeMisses", "token requests per 1,000 calls to a route outside the client's scopes (401) in one token lifetime", "at most 2"},
	} {
		if m := regexp.MustCompile(`TokenRequestsPer1000` + b.name + `\S*\s+\d+\s+\d+ ns/op\s+([\d.]+) tokenreqs/1000calls`).FindSubmatch(client); m != nil {
			rows = append(rows, row{b.what, string(m[1]) + " (target " + b.target + ")", "go test ./m2mclient -bench TokenRequestsPer1000" + b.name + " (10 goroutines x 100 calls)"})
		}
	}
	return rows
}

// timeIt runs cmd under /usr/bin/time and returns the wall seconds it reports.
func timeIt(cmd []string, env []string) float64 {
	secs, err := tryTimeIt(cmd, env)
	must(err)
	return secs
}

// tryTimeIt is timeIt for a command that may fail: the error carries the
// command's output.
func tryTimeIt(cmd []string, env []string) (float64, error) {
	timeFile := filepath.Join(*outDir, "time.txt")
	if _, err := tryRun(append([]string{"/usr/bin/time", "-f", "%e", "-o", timeFile}, cmd...), env); err != nil {
		return 0, err
	}
	data, err := os.ReadFile(timeFile)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return strconv.ParseFloat(lines[len(lines)-1], 64)
}

func run(cmd []string, env []string) []byte {
	out, err := tryRun(cmd, env)
	must(err)
	return out
}

func tryRun(cmd []string, env []string) ([]byte, error) {
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Env = append(append(os.Environ(),
		"JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20",
		"CDK_DISABLE_VERSION_CHECK=1", "CDK_DISABLE_CLI_TELEMETRY=true"), env...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s: %v\n%s", strings.Join(cmd, " "), err, out.String())
	}
	return out.Bytes(), nil
}

type sizeRow struct{ what, value, how string }

// bootstrapSizes finds each Go function's bundled bootstrap in a cloud
// assembly through its templates (cloudassembly), so each is named by its
// template.
func bootstrapSizes(assembly string) []sizeRow {
	read, err := cloudassembly.Read(assembly, nil)
	must(err)
	var out []sizeRow
	for _, stack := range read.Stacks {
		for _, t := range stack.Templates {
			for _, id := range t.IDs() {
				r := t.Resources[id]
				if r.Type != "AWS::Lambda::Function" || r.Properties["Runtime"] != "provided.al2023" {
					continue
				}
				asset, _ := r.Metadata["aws:asset:path"].(string)
				path := filepath.Join(assembly, asset, "bootstrap")
				info, err := os.Stat(path)
				must(err)
				name := strings.TrimSuffix(t.File, ".template.json")
				out = append(out, sizeRow{name + "/" + id, fmt.Sprintf("%.2f MB (%d bytes; target < 10 MB)", float64(info.Size())/1e6, info.Size()), "stat of " + filepath.Join(filepath.Base(assembly), asset, "bootstrap") + " after cdk synth"})
			}
		}
	}
	return out
}

type benchResult struct {
	name                string
	ns, allocs, bytes   float64
	nsAll, allocsAll, b []float64
}

var benchLine = regexp.MustCompile(`^Benchmark(\S+?)(-\d+)?\s+\d+\s+([\d.]+) ns/op\s+([\d.]+) B/op\s+([\d.]+) allocs/op`)

// parseBench takes the median of each benchmark's runs.
func parseBench(output []byte) []benchResult {
	byName := map[string]*benchResult{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(output))
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		r := byName[m[1]]
		if r == nil {
			r = &benchResult{name: m[1]}
			byName[m[1]] = r
			order = append(order, m[1])
		}
		ns, _ := strconv.ParseFloat(m[3], 64)
		b, _ := strconv.ParseFloat(m[4], 64)
		allocs, _ := strconv.ParseFloat(m[5], 64)
		r.nsAll, r.b, r.allocsAll = append(r.nsAll, ns), append(r.b, b), append(r.allocsAll, allocs)
	}
	var out []benchResult
	for _, name := range order {
		r := byName[name]
		r.ns, r.bytes, r.allocs = median(r.nsAll), median(r.b), median(r.allocsAll)
		out = append(out, *r)
	}
	return out
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func slug(s string) string {
	return regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(s), "-")
}

func envPrefix(env []string) string {
	if len(env) == 0 {
		return ""
	}
	return strings.Join(env, " ") + " "
}

func must(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench:", msg)
	os.Exit(1)
}
