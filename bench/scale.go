package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/scopegate/scopegate/budget"
	"github.com/scopegate/scopegate/internal/cdkenv"
)

var (
	scaleRuns = flag.Int("scale-runs", 3, "timed runs per scale configuration and validation setting (after one warm-up)")
	scaleMax  = flag.Int("scale-max", 0, "leave out scale configurations with more clients or routes than this (0: none), to try the section quickly")
)

type scaleConfig struct{ clients, routes int }

// One series grows the clients with a small API, one grows the routes with a
// single client (routes of three methods per resource, so 300 routes are 100
// resources), and the last two are the mixes the stacks must reach.
var scaleConfigs = []scaleConfig{
	{1, 10}, {100, 10}, {1000, 10},
	{1, 100}, {1, 300},
	{100, 100}, {1000, 300},
}

var scaleSettings = []struct {
	label string
	env   []string
}{
	{"validation on", nil},
	{"CDK_VALIDATION=false", []string{cdkenv.Validation + "=false"}},
}

// scaleResult is what one configuration measured; a synth that failed has
// no time, and when both failed there is no assembly to count.
type scaleResult struct {
	secs  map[string]float64 // median by validation setting
	usage *assemblyUsage
}

// scaleRows synthesizes bench/scaleapp at every configuration, validation on
// and off, and reports time and template size for each, then what one more
// client and one more route cost. A configuration that fails to synthesize
// (such as one over CloudFormation's 500 resources per template) is a row
// that says so, not the end of the bench.
func scaleRows() []row {
	app := buildScaleApp()

	var rows []row
	results := map[scaleConfig]scaleResult{}
	for _, c := range scaleConfigs {
		if *scaleMax > 0 && (c.clients > *scaleMax || c.routes > *scaleMax) {
			continue
		}
		dir := filepath.Join(*outDir, fmt.Sprintf("cdk.out-scale-%d-%d", c.clients, c.routes))
		// A failed synth would leave an earlier run's templates to be counted.
		// The warm-up bundles the Lambda into the empty directory; the timed
		// runs find it there, as a warm make synth does.
		must(os.RemoveAll(dir))
		cmd := []string{cdkCLI, "synth", "--quiet", "--app", app,
			"-c", fmt.Sprintf("scale:clients=%d", c.clients), "-c", fmt.Sprintf("scale:routes=%d", c.routes), "-o", dir}
		what := fmt.Sprintf("scale: %d clients, %d routes", c.clients, c.routes)
		res := scaleResult{secs: map[string]float64{}}
		var values []string
		for _, s := range scaleSettings {
			times, err := timeRuns(cmd, s.env, *scaleRuns)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s, %s: failed\n", what, s.label)
				values = append(values, s.label+": failed: "+firstErrorLine(err))
				continue
			}
			m := median(times)
			res.secs[s.label] = m
			fmt.Fprintf(os.Stderr, "bench: %s, %s: %.2f s\n", what, s.label, m)
			values = append(values, fmt.Sprintf("%s %.2f s (min %.2f, max %.2f)", s.label, m, slices.Min(times), slices.Max(times)))
		}
		// A synth that failed on a limit may still have written the templates
		// (the directory was empty before), and their size is the point.
		switch u, err := countAssembly(dir, "Scale"); {
		case errors.Is(err, errNoTemplates):
		case err != nil:
			fail(err.Error())
		default:
			res.usage = &u
			written := ""
			if len(res.secs) == 0 {
				written = " (as the failed synth wrote them)"
			}
			values = append(values, fmt.Sprintf("%d resources in %d templates, largest template %d resources; main template %d outputs; largest template %d bytes%s",
				u.resources, u.templates, u.maxResources, u.mainOutputs, u.maxBytes, written))
		}
		results[c] = res
		rows = append(rows, row{what, strings.Join(values, "; "),
			fmt.Sprintf("/usr/bin/time -f %%e [CDK_VALIDATION=false] %s (median of %d after a warm-up); counts from %s/*.template.json", strings.Join(cmd, " "), *scaleRuns, dir)})
	}

	// The cost of one more client and one more route: the difference between
	// the ends of each series, over the clients or routes added.
	type slope struct {
		what     string
		from, to scaleConfig
		added    int
	}
	for _, sl := range []slope{
		{"client", scaleConfig{1, 10}, scaleConfig{1000, 10}, 999},
		{"route", scaleConfig{1, 10}, scaleConfig{1, 300}, 290},
	} {
		a, okA := results[sl.from]
		b, okB := results[sl.to]
		if !okA || !okB {
			continue
		}
		how := fmt.Sprintf("(%d clients, %d routes - %d clients, %d routes) / %d, from the rows above", sl.to.clients, sl.to.routes, sl.from.clients, sl.from.routes, sl.added)
		var values []string
		for _, s := range scaleSettings {
			ta, okA := a.secs[s.label]
			tb, okB := b.secs[s.label]
			if !okA || !okB {
				values = append(values, s.label+": n/a (a synth failed)")
				continue
			}
			values = append(values, fmt.Sprintf("%s %.1f ms", s.label, (tb-ta)/float64(sl.added)*1000))
		}
		rows = append(rows, row{"scale: synth time per " + sl.what, strings.Join(values, "; "), how})
		value := "n/a (a synth failed)"
		if a.usage != nil && b.usage != nil {
			value = fmt.Sprintf("%.2f", float64(b.usage.resources-a.usage.resources)/float64(sl.added))
		}
		rows = append(rows, row{"scale: resources per " + sl.what, value, how})
	}
	return append(rows, jsiiCallRows(app)...)
}

// buildScaleApp builds bench/scaleapp once, so the timings hold no go build.
func buildScaleApp() string {
	app := filepath.Join(*outDir, "scaleapp")
	run([]string{"go", "build", "-o", app, "./bench/scaleapp"}, nil)
	return app
}

// timeRuns times cmd once to warm up, then runs times, stopping at the first
// failure.
func timeRuns(cmd, env []string, runs int) ([]float64, error) {
	if _, err := tryTimeIt(cmd, env); err != nil {
		return nil, err
	}
	var times []float64
	for range runs {
		secs, err := tryTimeIt(cmd, env)
		if err != nil {
			return nil, err
		}
		times = append(times, secs)
	}
	return times, nil
}

// firstErrorLine picks the first line that says why a synth failed out of its
// output: the app's own one-line error ("scaleapp: ..."), or the CLI's first
// "ERROR" annotation (such as CloudFormation's 200 outputs per template),
// which the app prints after its progress lines and which jsii's exit message
// ("Runtime process exited abnormally: waitid: ...", harmless, on every app)
// can precede on the same line.
func firstErrorLine(err error) string {
	lines := strings.Split(err.Error(), "\n")
	for _, marker := range []string{"scaleapp: ", "ERROR ", "Error: "} {
		for _, l := range lines {
			// Not the CLI's "bench/out/scaleapp: Subprocess exited with error 1".
			if i := strings.Index(l, marker); i == 0 || i > 0 && l[i-1] != '/' {
				return strings.TrimSpace(l[i:])
			}
		}
	}
	for _, l := range lines[1:] { // lines[0] is the command and its exit status
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "!!") && !strings.HasPrefix(l, "Bundling ") {
			return l
		}
	}
	return strings.TrimSpace(lines[0])
}

// assemblyUsage sums a cloud assembly's templates: the stacks' own and their
// nested stacks' (*.nested.template.json), counted by package budget so the
// bench and the budget check count alike.
type assemblyUsage struct {
	templates    int
	resources    int // in all templates
	maxResources int // in the template with the most
	mainOutputs  int // of the top-level stack's template
	maxBytes     int // of the largest template file
}

var errNoTemplates = errors.New("no *.template.json")

func countAssembly(dir, mainStack string) (assemblyUsage, error) {
	var u assemblyUsage
	files, err := filepath.Glob(filepath.Join(dir, "*.template.json"))
	if err != nil {
		return u, err
	}
	if len(files) == 0 {
		return u, errNoTemplates
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return u, err
		}
		usage, err := budget.Count(data)
		if err != nil {
			return u, fmt.Errorf("%s: %w", f, err)
		}
		u.templates++
		u.resources += usage.Resources
		u.maxResources = max(u.maxResources, usage.Resources)
		u.maxBytes = max(u.maxBytes, usage.Bytes)
		if filepath.Base(f) == mainStack+".template.json" {
			u.mainOutputs = usage.Outputs
		}
	}
	return u, nil
}
