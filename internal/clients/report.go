package clients

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/suspensions"
)

// DefaultDays is the report's window and the age past which a client with
// no request in it is flagged unused.
const DefaultDays = 90

// MaxDays bounds -days: the widest window StartQuery is asked for. Logs
// Insights searches what the log group retains, whatever the window (see
// docs/operations.md).
const MaxDays = 3650

// Flags a client can carry.
const (
	FlagUnused       = "unused"
	FlagNeverRotated = "never-rotated"
)

// Report is bin/clients' report of one stack.
type Report struct {
	Stack string `json:"stack"`
	Days  int    `json:"days"`
	// From and To are the window of the access log query.
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Clients []Client  `json:"clients"`
	// Flagged counts clients with at least one flag.
	Flagged int `json:"flagged"`
	// Notes say what the report could not see.
	Notes []string `json:"notes,omitempty"`
}

// Client is one client's line.
type Client struct {
	Name     string   `json:"name"`
	ClientID string   `json:"clientId"`
	Tier     string   `json:"tier,omitempty"`
	Scopes   []string `json:"scopes"`
	// Requests in the window, and how many were answered 4xx and 5xx.
	Requests  int64   `json:"requests"`
	Errors4xx int64   `json:"errors4xx"`
	Errors5xx int64   `json:"errors5xx"`
	Share4xx  float64 `json:"share4xx"`
	Share5xx  float64 `json:"share5xx"`
	// LastSeen is the last request in the window; nil for none.
	LastSeen *time.Time `json:"lastSeen,omitempty"`
	// SecretCreated, LastRotated and NextRotation are Secrets Manager's
	// CreatedDate, LastRotatedDate and NextRotationDate of the client's
	// secret; RotationEnabled its RotationEnabled.
	SecretCreated   *time.Time `json:"secretCreated,omitempty"`
	LastRotated     *time.Time `json:"lastRotated,omitempty"`
	NextRotation    *time.Time `json:"nextRotation,omitempty"`
	RotationEnabled bool       `json:"rotationEnabled"`
	// APIKeyEnabled is the client's API key's enabled flag; nil without a
	// key (an untiered client).
	APIKeyEnabled *bool `json:"apiKeyEnabled,omitempty"`
	// SuspendedInConfig is record.suspended; Suspension the table's item,
	// when it was suspended without a deploy.
	SuspendedInConfig bool                 `json:"suspendedInConfig"`
	Suspension        *contract.Suspension `json:"suspension,omitempty"`
	Flags             []string             `json:"flags,omitempty"`
}

// usage is one client's row of the access log query.
type usage struct {
	requests, errors4xx, errors5xx int64
	lastSeen                       *time.Time
}

// Report builds the report of the stack over the last days days.
func (t *Tool) Report(ctx context.Context, stackName string, days int) (*Report, error) {
	if days < 1 || days > MaxDays {
		return nil, fmt.Errorf("clients: -days %d must be from 1 to %d", days, MaxDays)
	}
	s, err := t.readStack(ctx, stackName)
	if err != nil {
		return nil, err
	}
	if err := s.need(s.logGroup, contract.AccessLogGroup, "the report's request counts"); err != nil {
		return nil, err
	}
	r := &Report{Stack: s.name, Days: days, To: t.now().Truncate(time.Second)}
	r.From = r.To.Add(-time.Duration(days) * 24 * time.Hour)
	used, err := t.usage(ctx, s.logGroup, r.From, r.To)
	if err != nil {
		return nil, err
	}
	suspended := map[string]contract.Suspension{}
	if s.table == "" {
		r.Notes = append(r.Notes, fmt.Sprintf("the stack has no %s output: suspensions made without a deploy are not shown", contract.SuspendedClientsTable(t.prefix())))
	} else {
		list, err := suspensions.List(ctx, t.DynamoDB, s.table)
		if err != nil {
			return nil, fmt.Errorf("clients: %w", err)
		}
		for _, item := range list {
			suspended[item.ClientID] = item
		}
	}
	for _, rec := range s.clients {
		c := Client{Name: rec.Name, ClientID: rec.ClientID, Tier: rec.Tier, Scopes: rec.Scopes, SuspendedInConfig: rec.Suspended}
		if u, ok := used[rec.ClientID]; ok {
			c.Requests, c.Errors4xx, c.Errors5xx, c.LastSeen = u.requests, u.errors4xx, u.errors5xx, u.lastSeen
			if u.requests > 0 {
				c.Share4xx = float64(u.errors4xx) / float64(u.requests)
				c.Share5xx = float64(u.errors5xx) / float64(u.requests)
			}
		}
		if item, ok := suspended[rec.ClientID]; ok {
			c.Suspension = &item
		}
		secret, err := t.SecretsManager.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(rec.SecretArn)})
		if err != nil {
			return nil, fmt.Errorf("clients: client %q: secretsmanager DescribeSecret %s: %w", rec.Name, rec.SecretArn, err)
		}
		c.SecretCreated, c.LastRotated, c.NextRotation = secret.CreatedDate, secret.LastRotatedDate, secret.NextRotationDate
		c.RotationEnabled = aws.ToBool(secret.RotationEnabled)
		if rec.APIKeyID != "" {
			key, err := t.APIGateway.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(rec.APIKeyID)})
			if err != nil {
				return nil, fmt.Errorf("clients: client %q: apigateway GetApiKey %s: %w", rec.Name, rec.APIKeyID, err)
			}
			enabled := key.Enabled
			c.APIKeyEnabled = &enabled
		}
		c.Flags = flags(c, r.From, r.To)
		if len(c.Flags) > 0 {
			r.Flagged++
		}
		r.Clients = append(r.Clients, c)
	}
	return r, nil
}

// flags: unused when the window holds no request of a client whose secret
// (created with the client) is older than the window, so a client added
// last week is not dead weight; never-rotated when the secret has no
// LastRotatedDate and no rotation is still to come (rotation off, or its
// NextRotationDate already past): a new client waiting for its first
// scheduled rotation is not flagged.
func flags(c Client, from, now time.Time) []string {
	var out []string
	if c.Requests == 0 && (c.SecretCreated == nil || c.SecretCreated.Before(from)) {
		out = append(out, FlagUnused)
	}
	if c.LastRotated == nil && (!c.RotationEnabled || c.NextRotation == nil || c.NextRotation.Before(now)) {
		out = append(out, FlagNeverRotated)
	}
	return out
}

// usageQuery counts each client's requests by status over the access log
// (one JSON line per request, the fields of scopedapi's accessLogFormat):
// Logs Insights QL's filter, ispresent, stats with count(*) and max, and
// grouping by two fields (CloudWatch Logs user guide, "CloudWatch Logs
// Insights language query syntax", the filter and stats pages). API Gateway
// writes "-" for a variable without a value ($context.authorizer.claims.*
// of a request refused before the authorizer); such lines name no client.
// Grouping by status rather than summing conditions keeps to documented
// functions; the client sums the 4xx and 5xx rows.
const usageQuery = `filter ispresent(clientId) and clientId != "" and clientId != "-"
| stats count(*) as requests, max(@timestamp) as lastSeen by clientId, status`

// usage runs usageQuery over [from, to] and waits for its results.
func (t *Tool) usage(ctx context.Context, logGroup string, from, to time.Time) (map[string]usage, error) {
	started, err := t.Logs.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupName: aws.String(logGroup),
		StartTime:    aws.Int64(from.Unix()),
		EndTime:      aws.Int64(to.Unix()),
		QueryString:  aws.String(usageQuery),
		// CloudWatch Logs API reference, StartQuery: Limit is the most
		// log events (here: result rows) returned, up to 10,000.
		Limit: aws.Int32(10000),
	})
	if err != nil {
		return nil, fmt.Errorf("clients: logs StartQuery on %s: %w", logGroup, err)
	}
	interval := t.PollInterval
	if interval <= 0 {
		interval = time.Second
	}
	for {
		out, err := t.Logs.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: started.QueryId})
		if err != nil {
			return nil, fmt.Errorf("clients: logs GetQueryResults: %w", err)
		}
		// CloudWatch Logs API reference, GetQueryResults: Status is
		// Scheduled, Running, Complete, Failed, Cancelled, Timeout or
		// Unknown; results are whole only when Complete.
		switch out.Status {
		case logstypes.QueryStatusComplete:
			return parseUsage(out.Results)
		case logstypes.QueryStatusScheduled, logstypes.QueryStatusRunning:
		default:
			return nil, fmt.Errorf("clients: the Logs Insights query on %s ended %s", logGroup, out.Status)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("clients: waiting for the Logs Insights query on %s: %w", logGroup, ctx.Err())
		case <-time.After(interval):
		}
	}
}

func parseUsage(rows [][]logstypes.ResultField) (map[string]usage, error) {
	out := map[string]usage{}
	for _, row := range rows {
		fields := map[string]string{}
		for _, f := range row {
			fields[aws.ToString(f.Field)] = aws.ToString(f.Value)
		}
		id := fields["clientId"]
		if id == "" {
			continue
		}
		n, err := strconv.ParseInt(fields["requests"], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("clients: the Logs Insights query answered requests %q for client %s, not a count", fields["requests"], id)
		}
		u := out[id]
		u.requests += n
		if status, err := strconv.Atoi(fields["status"]); err == nil {
			switch {
			case status >= 400 && status < 500:
				u.errors4xx += n
			case status >= 500 && status < 600:
				u.errors5xx += n
			}
		}
		if seen, ok := parseTimestamp(fields["lastSeen"]); ok && (u.lastSeen == nil || seen.After(*u.lastSeen)) {
			u.lastSeen = &seen
		}
		out[id] = u
	}
	return out, nil
}

// parseTimestamp reads a Logs Insights timestamp. GetQueryResults shows
// @timestamp as "2006-01-02 15:04:05.000" in UTC (the examples of the
// GetQueryResults API reference); what max(@timestamp) returns is not
// documented, so epoch milliseconds are read too.
func parseTimestamp(v string) (time.Time, bool) {
	if ts, err := time.Parse("2006-01-02 15:04:05.000", v); err == nil {
		return ts.UTC(), true
	}
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), true
	}
	return time.Time{}, false
}

// ExitCode is 1 when a client is flagged, 0 otherwise (2, cannot run, is
// the caller's for an error).
func (r *Report) ExitCode() int {
	if r.Flagged > 0 {
		return 1
	}
	return 0
}

// WriteJSON prints the report as JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Report
		ExitCode int `json:"exitCode"`
	}{r, r.ExitCode()})
}

// WriteTable prints one line per client, then the notes and a summary.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT\tCLIENT ID\tTIER\tSCOPES\tREQUESTS\t4XX\t5XX\tLAST SEEN\tLAST ROTATED\tNEXT ROTATION\tAPI KEY\tSUSPENDED\tFLAGS")
	for _, c := range r.Clients {
		tier := c.Tier
		if tier == "" {
			tier = "-"
		}
		key := "-"
		if c.APIKeyEnabled != nil {
			key = map[bool]string{true: "enabled", false: "disabled"}[*c.APIKeyEnabled]
		}
		rotated := day(c.LastRotated, "never")
		next := day(c.NextRotation, "-")
		if !c.RotationEnabled {
			next = "off"
		}
		flagged := "-"
		if len(c.Flags) > 0 {
			flagged = "! " + strings.Join(c.Flags, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.ClientID, tier, strings.Join(c.Scopes, " "),
			c.Requests, percent(c.Share4xx, c.Requests), percent(c.Share5xx, c.Requests), day(c.LastSeen, "none"), rotated, next, key, suspendedText(c), flagged)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	summary := "no client flagged"
	if r.Flagged > 0 {
		summary = fmt.Sprintf("%d of %d client(s) flagged (unused: no request in %d days; never-rotated: no rotation done and none to come)", r.Flagged, len(r.Clients), r.Days)
	}
	_, err := fmt.Fprintf(w, "\n%s, requests from %s to %s: %s\n", r.Stack, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339), summary)
	return err
}

func day(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format("2006-01-02")
}

func percent(share float64, requests int64) string {
	if requests == 0 {
		return "-"
	}
	return strconv.FormatFloat(share*100, 'f', 1, 64) + "%"
}

func suspendedText(c Client) string {
	var parts []string
	if c.SuspendedInConfig {
		parts = append(parts, "in config")
	}
	if s := c.Suspension; s != nil {
		parts = append(parts, fmt.Sprintf("by %s at %s (%s)", s.By, s.At, s.Reason))
	}
	if len(parts) == 0 {
		return "no"
	}
	return strings.Join(parts, "; ")
}
