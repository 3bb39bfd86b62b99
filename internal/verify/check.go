package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Status is the verdict of one check of -preflight or -conformance.
type Status string

// The verdicts. Exit status: any StatusProblem makes it 1; otherwise any
// StatusUnknown makes it 2; StatusOK and StatusNote leave it 0.
const (
	StatusOK      Status = "ok"
	StatusProblem Status = "problem"      // preflight: the deploy would fail; conformance: AWS differs from what scopegate assumes
	StatusUnknown Status = "cannot tell"  // credentials missing, an API denied, nothing to check with
	StatusNote    Status = "not observed" // cannot be seen (yet) from outside; no failure
)

// Check is one line of a -preflight or -conformance report.
type Check struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Expected and Seen say what scopegate assumes (or the deploy needs)
	// and what AWS answered.
	Expected string `json:"expected,omitempty"`
	Seen     string `json:"seen,omitempty"`
	// Detail says why, and for a problem how to fix it.
	Detail string `json:"detail,omitempty"`
}

// Checks is a -preflight or -conformance report.
type Checks struct {
	Mode   string  `json:"mode"` // "preflight" or "conformance"
	Target string  `json:"target"`
	Checks []Check `json:"checks"`
}

func (c *Checks) add(ch Check) { c.Checks = append(c.Checks, ch) }

// ExitCode is 1 when a check found a problem, else 2 when one could not
// tell, else 0.
func (c *Checks) ExitCode() int {
	code := 0
	for _, ch := range c.Checks {
		switch ch.Status {
		case StatusProblem:
			return 1
		case StatusUnknown:
			code = 2
		}
	}
	return code
}

// WriteTable prints one line per check, then a summary line.
func (c *Checks) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, ch := range c.Checks {
		var parts []string
		if ch.Expected != "" {
			parts = append(parts, "expected: "+ch.Expected)
		}
		if ch.Seen != "" {
			parts = append(parts, "seen: "+ch.Seen)
		}
		if ch.Detail != "" {
			parts = append(parts, ch.Detail)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", ch.Status, ch.Name, strings.Join(parts, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var verdict string
	switch c.ExitCode() {
	case 0:
		verdict = map[string]string{"preflight": "ready to deploy", "conformance": "AWS behaves as scopegate assumes"}[c.Mode]
	case 1:
		verdict = map[string]string{"preflight": "the deploy would fail (see problem lines)", "conformance": "AWS differs from what scopegate assumes (see problem lines)"}[c.Mode]
	default:
		verdict = "cannot tell (see the \"cannot tell\" lines)"
	}
	_, err := fmt.Fprintf(w, "\n%s %s: %s\n", c.Target, c.Mode, verdict)
	return err
}

// WriteJSON prints the report as JSON.
func (c *Checks) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Checks
		ExitCode int `json:"exitCode"`
	}{c, c.ExitCode()})
}
