package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the matrix: one row per client and token request, one
// column per route. A cell that differs from the policy is marked "!" with
// what the policy expected. The rows of a client's previous secret name the
// client "<name> (previous secret)"; a previous secret the token endpoint no
// longer accepts has one row, its token "retired". A call the policy
// expected allowed that was refused with a 403 without a Bearer challenge
// (API Gateway's answer to a missing API key), sent without x-api-key
// because the secret has no api_key, adds "; no x-api-key".
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CLIENT\tTOKEN REQUEST\tTOKEN\t%s\n", strings.Join(r.Routes, "\t"))
	for _, row := range r.Rows {
		token := row.Token
		if row.Token != row.ExpectedToken {
			token = fmt.Sprintf("! %s (expected %s)", row.Token, row.ExpectedToken)
		}
		cells := make([]string, len(r.Routes))
		for i := range cells {
			cells[i] = "-"
		}
		for i, c := range row.Calls {
			cells[i] = fmt.Sprintf("%s %d", c.Outcome, c.Status)
			if c.Outcome != c.Expected {
				why := "expected " + c.Expected
				if !row.APIKey && c.Status == http.StatusForbidden && c.Challenge == "" {
					why += "; no x-api-key"
				}
				cells[i] = fmt.Sprintf("! %s %d (%s)", c.Outcome, c.Status, why)
			}
		}
		client := row.Client
		if row.Secret == SecretPrevious {
			client += " (previous secret)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", client, row.Requested, token, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Mismatches == 0 {
		_, err := fmt.Fprintf(w, "\n%s: every outcome matches the access policy\n", r.Stack)
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s: %d row(s) differ from the access policy\n", r.Stack, r.Mismatches)
	return err
}

// WriteJSON prints the matrix as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// ExitCode is the verifier's exit status for the report: 0 when every outcome
// matches the policy, 1 otherwise.
func (r *Report) ExitCode() int {
	if r.Mismatches > 0 {
		return 1
	}
	return 0
}
