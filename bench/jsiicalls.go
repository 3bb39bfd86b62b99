package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/scopegate/scopegate/internal/cdkenv"
)

// The jsii calls the scale app makes: every request the Go side sends to the
// jsii kernel (create, invoke, get, set, sinvoke, sget, sset, ...) and every
// callback the kernel makes into Go (an aspect's Visit, a validation's
// Validate), each one round trip between the two processes. The kernel
// prints each request ("> {...}") and response ("< {...}") on stderr when
// JSII_DEBUG=1, which is what is counted here; the app runs once per
// configuration, directly (no CLI), with validation off: the count does not
// depend on it, and JSII_DEBUG's output slows the run, so it is not timed.

// jsiiCallCounts counts calls by group: "create aws-cdk-lib.CfnOutput",
// "get aws-cdk-lib.aws_cognito.UserPool.userPoolId", "callback visit".
type jsiiCallCounts map[string]int

func (c jsiiCallCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// countJSIICalls runs the scale app built at app with the given size and
// counts its jsii calls.
func countJSIICalls(app string, clients, routes int) (jsiiCallCounts, error) {
	context, err := cdkJSONContext()
	if err != nil {
		return nil, err
	}
	context["scale:clients"] = clients
	context["scale:routes"] = routes
	contextJSON, err := json.Marshal(context)
	if err != nil {
		return nil, err
	}
	outdir, err := os.MkdirTemp(*outDir, "jsii-calls-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(outdir)

	cmd := exec.Command(app)
	cmd.Env = append(os.Environ(),
		"JSII_DEBUG=1", cdkenv.Validation+"=false", "CDK_OUTDIR="+outdir, "CDK_CONTEXT_JSON="+string(contextJSON),
		"JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	counts, lastLines, parseErr := parseJSIIDebug(stderr)
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("%s with %d clients and %d routes: %v: %s", app, clients, routes, err, strings.Join(lastLines, "\n"))
	}
	if parseErr != nil {
		return nil, parseErr
	}
	if counts.total() == 0 {
		return nil, errors.New("JSII_DEBUG=1 printed no jsii request: has the kernel's debug output changed?")
	}
	return counts, nil
}

// cdkJSONContext is the context of cdk.json, which the CLI would hand the
// app (feature flags included).
func cdkJSONContext() (map[string]any, error) {
	data, err := os.ReadFile("cdk.json")
	if err != nil {
		return nil, err
	}
	var cdkJSON struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(data, &cdkJSON); err != nil {
		return nil, fmt.Errorf("cdk.json: %w", err)
	}
	if cdkJSON.Context == nil {
		cdkJSON.Context = map[string]any{}
	}
	return cdkJSON.Context, nil
}

// jsiiMessage is what is read of a request or a response line.
type jsiiMessage struct {
	API      string          `json:"api"`
	FQN      string          `json:"fqn"`
	Method   string          `json:"method"`
	Property string          `json:"property"`
	ObjRef   *jsiiObjRef     `json:"objref"`
	Complete json.RawMessage `json:"complete"`
	Exit     *int            `json:"exit"`
	Callback *struct {
		Invoke *struct {
			Method string `json:"method"`
		} `json:"invoke"`
		Get *struct {
			Property string `json:"property"`
		} `json:"get"`
		Set *struct {
			Property string `json:"property"`
		} `json:"set"`
	} `json:"callback"`
}

type jsiiObjRef struct {
	Ref string `json:"$jsii.byref"`
}

// parseJSIIDebug counts the requests and callbacks in the kernel's debug
// output, and keeps the last lines that are not debug output (the app's
// own error, if it failed).
func parseJSIIDebug(r io.Reader) (jsiiCallCounts, []string, error) {
	counts := jsiiCallCounts{}
	var last []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 256<<20) // a request can carry a large template value
	for sc.Scan() {
		line := sc.Text()
		request, response := strings.HasPrefix(line, "> {"), strings.HasPrefix(line, "< {")
		if !request && !response {
			if !strings.HasPrefix(line, "[@jsii/") && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "}") {
				last = append(last, line)
				if len(last) > 5 {
					last = last[1:]
				}
			}
			continue
		}
		var m jsiiMessage
		if err := json.Unmarshal([]byte(line[2:]), &m); err != nil {
			return nil, last, fmt.Errorf("a jsii message that is not JSON: %.200s: %w", line, err)
		}
		if response {
			// A callback is answered by a "complete" request, counted here
			// once, by what the kernel called.
			if cb := m.Callback; cb != nil {
				switch {
				case cb.Invoke != nil:
					counts["callback "+cb.Invoke.Method]++
				case cb.Get != nil:
					counts["callback get "+cb.Get.Property]++
				case cb.Set != nil:
					counts["callback set "+cb.Set.Property]++
				default:
					counts["callback"]++
				}
			}
			continue
		}
		if key, ok := m.group(); ok {
			counts[key]++
		}
	}
	return counts, last, sc.Err()
}

// group names the request; a callback's "complete" and the final "exit" are
// not counted (the callback is, from its response).
func (m jsiiMessage) group() (string, bool) {
	member := m.Method
	if member == "" {
		member = m.Property
	}
	switch {
	case m.Complete != nil, m.Exit != nil:
		return "", false
	case m.ObjRef != nil:
		class, _, _ := strings.Cut(m.ObjRef.Ref, "@")
		if class == "" {
			class = "(interface)"
		}
		return m.API + " " + class + "." + member, true
	case m.FQN != "" && member != "":
		return m.API + " " + m.FQN + "." + member, true
	case m.FQN != "":
		return m.API + " " + m.FQN, true
	}
	return m.API, true
}

// jsiiCallRows counts the calls at the ends of each scale series and
// reports the total of each, the calls per client and per route (the
// slope), and the groups that make up each slope.
func jsiiCallRows(app string) []row {
	configs := []scaleConfig{{1, 10}, {100, 10}, {1000, 10}, {1, 300}}
	counts := map[scaleConfig]jsiiCallCounts{}
	var rows []row
	how := "JSII_DEBUG=1 CDK_VALIDATION=false CDK_OUTDIR=<temp> CDK_CONTEXT_JSON=<cdk.json's context + scale:clients, scale:routes> " + app + "; requests (\"> {...}\") and callbacks (\"< {\"callback\"...}\") on stderr counted by bench/jsiicalls.go"
	for _, c := range configs {
		if *scaleMax > 0 && (c.clients > *scaleMax || c.routes > *scaleMax) {
			continue
		}
		n, err := countJSIICalls(app, c.clients, c.routes)
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: jsii calls, %d clients, %d routes: %v\n", c.clients, c.routes, err)
			rows = append(rows, row{fmt.Sprintf("jsii calls: %d clients, %d routes", c.clients, c.routes), "failed: " + firstErrorLine(err), how})
			continue
		}
		counts[c] = n
		fmt.Fprintf(os.Stderr, "bench: jsii calls, %d clients, %d routes: %d\n", c.clients, c.routes, n.total())
		rows = append(rows, row{fmt.Sprintf("jsii calls: %d clients, %d routes", c.clients, c.routes), fmt.Sprintf("%d", n.total()), how})
	}
	for _, sl := range []struct {
		what     string
		from, to scaleConfig
		added    int
	}{
		{"client", scaleConfig{1, 10}, scaleConfig{1000, 10}, 999},
		{"route", scaleConfig{1, 10}, scaleConfig{1, 300}, 290},
	} {
		a, okA := counts[sl.from]
		b, okB := counts[sl.to]
		if !okA || !okB {
			continue
		}
		rows = append(rows, row{
			"jsii calls per " + sl.what,
			fmt.Sprintf("%.2f (target <= 5); largest groups: %s", float64(b.total()-a.total())/float64(sl.added), largestGroups(a, b, sl.added, 8)),
			fmt.Sprintf("(%d clients, %d routes - %d clients, %d routes) / %d, from the rows above", sl.to.clients, sl.to.routes, sl.from.clients, sl.from.routes, sl.added),
		})
	}
	return rows
}

// largestGroups lists the n groups that grew most from a to b, each per
// unit added.
func largestGroups(a, b jsiiCallCounts, added, n int) string {
	type group struct {
		name  string
		delta int
	}
	var groups []group
	for name, v := range b {
		if d := v - a[name]; d != 0 {
			groups = append(groups, group{name, d})
		}
	}
	sort.Slice(groups, func(i, j int) bool {
		if groups[i].delta != groups[j].delta {
			return groups[i].delta > groups[j].delta
		}
		return groups[i].name < groups[j].name
	})
	if len(groups) > n {
		groups = groups[:n]
	}
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = fmt.Sprintf("%s %.2f", g.name, float64(g.delta)/float64(added))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
