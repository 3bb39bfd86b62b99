package clients_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/clients"
	"github.com/scopegate/scopegate/internal/suspensions"
	"github.com/scopegate/scopegate/internal/testkit/awsfake"
	"github.com/scopegate/scopegate/internal/testkit/dynalitetest"
)

var dynalite *dynalitetest.Server

func TestMain(m *testing.M) { dynalitetest.Main(m, func(s *dynalitetest.Server) { dynalite = s }) }

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	pool      = "eu-west-1_Pool1"
	logGroup  = "WeatherEvents-ApiAccessLogs"
	callerARN = "arn:aws:iam::123456789012:user/oncall"
)

// accessLine is one line of the access log, as scopedapi's accessLogFormat
// writes it, with the time Logs Insights gives it (@timestamp).
type accessLine struct {
	at       time.Time
	clientID string
	status   int
}

// account is a deployed stack WeatherEvents with four clients:
//   - active: tiered (gold, API key k-active), 10 requests (2 answered 403,
//     1 answered 502), rotated 10 days ago;
//   - quiet: created 200 days ago, rotated, no request in 90 days: unused;
//   - stale: in use, rotation off and never rotated: never-rotated;
//   - newcomer: created 5 days ago, no request yet, first rotation to come:
//     not flagged.
type account struct {
	*awsfake.Server
	tool    *clients.Tool
	table   string
	cognito *awsfake.UserPoolClients
	keys    *awsfake.APIKeys
	queries []map[string]any
	mu      sync.Mutex
}

func day(n int) time.Time { return now.Add(time.Duration(n) * 24 * time.Hour) }

func newAccount(t *testing.T) *account {
	t.Helper()
	f := awsfake.New()
	t.Cleanup(f.Close)
	a := &account{Server: f, table: "suspended-" + strings.ReplaceAll(t.Name(), "/", "-")}
	require.NoError(t, dynalite.CreateTable(context.Background(), a.table, contract.SuspensionKey))

	records := []contract.ClientRecord{
		{Name: "active", ClientID: "id-active", SecretArn: "arn:secret:active", Scopes: []string{"weather-api/get", "weather-api/post"}, Tier: "gold", APIKeyID: "k-active"},
		{Name: "quiet", ClientID: "id-quiet", SecretArn: "arn:secret:quiet", Scopes: []string{"weather-api/get"}},
		{Name: "stale", ClientID: "id-stale", SecretArn: "arn:secret:stale", Scopes: []string{"weather-api/get"}},
		{Name: "newcomer", ClientID: "id-newcomer", SecretArn: "arn:secret:newcomer", Scopes: []string{"weather-api/get"}},
	}
	list, err := json.Marshal(records)
	require.NoError(t, err)
	f.Stack("WeatherEvents", map[string]string{
		contract.Clients("Auth"):               string(list),
		contract.AccessLogGroup:                logGroup,
		contract.SuspendedClientsTable("Auth"): a.table,
		contract.UserPoolID("Auth"):            pool,
		contract.APIURL:                        "https://api.example.com/weather",
	})

	secrets := map[string]map[string]any{
		"arn:secret:active":   {"CreatedDate": day(-300), "LastRotatedDate": day(-10), "NextRotationDate": day(80), "RotationEnabled": true},
		"arn:secret:quiet":    {"CreatedDate": day(-200), "LastRotatedDate": day(-20), "NextRotationDate": day(70), "RotationEnabled": true},
		"arn:secret:stale":    {"CreatedDate": day(-400), "RotationEnabled": false},
		"arn:secret:newcomer": {"CreatedDate": day(-5), "NextRotationDate": day(40), "RotationEnabled": true},
	}
	f.Handle("secretsmanager", "DescribeSecret", func(r awsfake.Request) (any, error) {
		s, ok := secrets[r.String("SecretId")]
		if !ok {
			return nil, &awsfake.Error{Code: "ResourceNotFoundException", Message: "Secrets Manager can't find the specified secret."}
		}
		out := map[string]any{"ARN": r.String("SecretId")}
		for k, v := range s {
			out[k] = v
		}
		return out, nil
	})
	a.keys = f.APIKeys(map[string]any{"id": "k-active", "name": "active", "enabled": true})
	a.cognito = f.UserPoolClients(pool,
		appClient("id-active", "active"), appClient("id-quiet", "quiet"), appClient("id-stale", "stale"), appClient("id-newcomer", "newcomer"))
	// STS API reference, GetCallerIdentity: Arn, UserId, Account.
	f.Reply("sts", "GetCallerIdentity", `<Arn>`+callerARN+`</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account>`)

	var lines []accessLine
	for i := 0; i < 10; i++ {
		status := 200
		switch i {
		case 3, 4:
			status = 403
		case 5:
			status = 502
		}
		lines = append(lines, accessLine{at: day(-i).Add(-time.Hour), clientID: "id-active", status: status})
	}
	lines = append(lines,
		accessLine{at: day(-100), clientID: "id-quiet", status: 200}, // outside the 90-day window
		accessLine{at: day(-2), clientID: "id-stale", status: 200},
		accessLine{at: day(-1), clientID: "-", status: 401}, // refused before the authorizer: no client
	)
	a.serveLogsInsights(lines)

	ddb := dynalite.Client()
	a.tool = &clients.Tool{
		CloudFormation: cloudformation.NewFromConfig(f.Config()),
		Logs:           cloudwatchlogs.NewFromConfig(f.Config()),
		SecretsManager: secretsmanager.NewFromConfig(f.Config()),
		APIGateway:     apigateway.NewFromConfig(f.Config()),
		Cognito:        cognitoidentityprovider.NewFromConfig(f.Config()),
		STS:            sts.NewFromConfig(f.Config()),
		DynamoDB:       ddb,
		Now:            func() time.Time { return now },
		PollInterval:   time.Millisecond,
	}
	return a
}

// appClient is a client-credentials app client as m2mauth creates it, with
// attributes an update that forgot them would reset.
func appClient(id, name string) map[string]any {
	return map[string]any{
		"ClientId": id, "ClientName": name, "ClientSecret": "secret-" + id, "CreationDate": float64(day(-300).Unix()),
		"AllowedOAuthFlows": []any{"client_credentials"}, "AllowedOAuthFlowsUserPoolClient": true,
		"AllowedOAuthScopes": []any{"weather-api/get"}, "SupportedIdentityProviders": []any{"COGNITO"},
		"AccessTokenValidity": 60.0, "TokenValidityUnits": map[string]any{"AccessToken": "minutes"},
		"RefreshTokenValidity": 1.0, "EnableTokenRevocation": true, "PreventUserExistenceErrors": "ENABLED",
		"ExplicitAuthFlows": []any{"ALLOW_REFRESH_TOKEN_AUTH"}, "AuthSessionValidity": 3.0,
	}
}

// serveLogsInsights answers StartQuery and GetQueryResults over lines as
// the CloudWatch Logs API reference pages describe them: StartQuery returns
// a queryId; GetQueryResults answers Running first, then Complete with one
// row per group, each a list of {field, value}. The fake evaluates only the
// report's query (the filter on clientId, then count(*) and
// max(@timestamp) by clientId and status over [startTime, endTime]), and
// fails any other query string, so a changed query fails the test until
// the fake follows it.
func (a *account) serveLogsInsights(lines []accessLine) {
	polls := 0
	a.Handle("logs", "StartQuery", func(r awsfake.Request) (any, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.queries = append(a.queries, r.Input)
		if r.String("logGroupName") != logGroup {
			return nil, &awsfake.Error{Code: "ResourceNotFoundException", Message: "Log group does not exist"}
		}
		return map[string]any{"queryId": "q-1"}, nil
	})
	a.Handle("logs", "GetQueryResults", func(r awsfake.Request) (any, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		polls++
		if polls == 1 {
			return map[string]any{"status": "Running", "results": []any{}}, nil
		}
		q := a.queries[len(a.queries)-1]
		want := "filter ispresent(clientId) and clientId != \"\" and clientId != \"-\"\n| stats count(*) as requests, max(@timestamp) as lastSeen by clientId, status"
		if q["queryString"] != want {
			return map[string]any{"status": "Failed"}, nil
		}
		from, to := time.Unix(int64(q["startTime"].(float64)), 0), time.Unix(int64(q["endTime"].(float64)), 0)
		type group struct {
			id     string
			status int
		}
		counts, last := map[group]int{}, map[group]time.Time{}
		for _, l := range lines {
			if l.clientID == "" || l.clientID == "-" || l.at.Before(from) || l.at.After(to) {
				continue
			}
			g := group{l.clientID, l.status}
			counts[g]++
			if l.at.After(last[g]) {
				last[g] = l.at
			}
		}
		var rows []any
		for g, n := range counts {
			rows = append(rows, []any{
				map[string]any{"field": "clientId", "value": g.id},
				map[string]any{"field": "status", "value": strconv.Itoa(g.status)},
				map[string]any{"field": "requests", "value": strconv.Itoa(n)},
				map[string]any{"field": "lastSeen", "value": last[g].UTC().Format("2006-01-02 15:04:05.000")},
			})
		}
		return map[string]any{"status": "Complete", "results": rows}, nil
	})
}

func byName(r *clients.Report) map[string]clients.Client {
	out := map[string]clients.Client{}
	for _, c := range r.Clients {
		out[c.Name] = c
	}
	return out
}

func TestReportListsEveryClientAndFlagsUnusedAndNeverRotated(t *testing.T) {
	a := newAccount(t)
	r, err := a.tool.Report(context.Background(), "WeatherEvents", clients.DefaultDays)
	require.NoError(t, err)
	require.Len(t, a.queries, 1, "one Logs Insights query for every client")
	assert.Equal(t, float64(day(-90).Unix()), a.queries[0]["startTime"])
	assert.Equal(t, float64(now.Unix()), a.queries[0]["endTime"])

	c := byName(r)
	require.Len(t, c, 4)
	active := c["active"]
	assert.Equal(t, "id-active", active.ClientID)
	assert.Equal(t, "gold", active.Tier)
	assert.Equal(t, []string{"weather-api/get", "weather-api/post"}, active.Scopes)
	assert.Equal(t, int64(10), active.Requests)
	assert.InDelta(t, 0.2, active.Share4xx, 1e-9)
	assert.InDelta(t, 0.1, active.Share5xx, 1e-9)
	require.NotNil(t, active.LastSeen)
	assert.Equal(t, now.Add(-time.Hour), *active.LastSeen)
	require.NotNil(t, active.LastRotated)
	assert.Equal(t, day(-10), active.LastRotated.UTC())
	assert.Equal(t, day(80), active.NextRotation.UTC())
	require.NotNil(t, active.APIKeyEnabled)
	assert.True(t, *active.APIKeyEnabled)
	assert.Empty(t, active.Flags)

	assert.Equal(t, []string{clients.FlagUnused}, c["quiet"].Flags, "its only request is older than the window")
	assert.Nil(t, c["quiet"].LastSeen)
	assert.Nil(t, c["quiet"].APIKeyEnabled, "no tier, no key")
	assert.Equal(t, []string{clients.FlagNeverRotated}, c["stale"].Flags)
	assert.Empty(t, c["newcomer"].Flags, "new, and its first rotation is still to come")
	assert.Equal(t, 2, r.Flagged)
	assert.Equal(t, 1, r.ExitCode())

	var table bytes.Buffer
	require.NoError(t, r.WriteTable(&table))
	out := table.String()
	assert.Contains(t, out, "CLIENT ")
	assert.Regexp(t, `active\s+id-active\s+gold\s+weather-api/get weather-api/post\s+10\s+20\.0%\s+10\.0%\s+2026-06-01\s+2026-05-22\s+2026-08-20\s+enabled\s+no\s+-`, out)
	assert.Regexp(t, `stale\s+id-stale\s+-\s+weather-api/get\s+1\s+0\.0%\s+0\.0%\s+2026-05-30\s+never\s+off\s+-\s+no\s+! never-rotated`, out)
	assert.Regexp(t, `quiet .*none .*! unused`, out)
	assert.Contains(t, out, "2 of 4 client(s) flagged")

	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	var decoded struct {
		Clients  []clients.Client `json:"clients"`
		ExitCode int              `json:"exitCode"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &decoded))
	assert.Equal(t, 1, decoded.ExitCode)
	assert.Len(t, decoded.Clients, 4)
}

func TestReportRefusesBadInput(t *testing.T) {
	a := newAccount(t)
	_, err := a.tool.Report(context.Background(), "WeatherEvents", 0)
	assert.EqualError(t, err, "clients: -days 0 must be from 1 to 3650")
	_, err = a.tool.Report(context.Background(), "Nope", 90)
	assert.ErrorContains(t, err, "clients: reading stack Nope")
	assert.ErrorContains(t, err, "does not exist")
}

// Suspend writes who, when and why, disables the key and turns token
// issuance off, changing no other attribute of the app client; the report
// shows it; resume undoes all three and the app client is as it was.
func TestSuspendAndResume(t *testing.T) {
	a := newAccount(t)
	ctx := context.Background()
	before := a.cognito.Get("id-active")
	var out bytes.Buffer
	require.NoError(t, a.tool.Suspend(ctx, "WeatherEvents", "active", "credentials leaked in a partner's CI log", &out))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 4, out.String())
	assert.Equal(t, "done    suspended-clients table "+a.table+": active (id-active) suspended by "+callerARN+" at 2026-06-01T12:00:00Z: credentials leaked in a partner's CI log", lines[0])
	assert.Equal(t, "done    API key k-active disabled", lines[1])
	assert.Equal(t, "done    Cognito app client id-active: OAuth flows off, the token endpoint issues it no new token (tokens already issued live up to 1h0m0s)", lines[2])
	assert.Equal(t, "then    the functions refuse its requests within 30s, by 2026-06-01T12:00:30Z, once the answers they cached expire", lines[3])

	item, ok, err := suspensions.Get(ctx, dynalite.Client(), a.table, "id-active")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, contract.Suspension{ClientID: "id-active", ClientName: "active", By: callerARN, At: "2026-06-01T12:00:00Z", Reason: "credentials leaked in a partner's CI log"}, item)
	assert.False(t, a.keys.Enabled("k-active"))
	after := a.cognito.Get("id-active")
	assert.Equal(t, false, after["AllowedOAuthFlowsUserPoolClient"])
	assert.Equal(t, unchanged(before), unchanged(after), "every other attribute of the app client as it was")

	r, err := a.tool.Report(ctx, "WeatherEvents", 90)
	require.NoError(t, err)
	active := byName(r)["active"]
	require.NotNil(t, active.Suspension)
	assert.Equal(t, callerARN, active.Suspension.By)
	assert.False(t, *active.APIKeyEnabled)
	var table bytes.Buffer
	require.NoError(t, r.WriteTable(&table))
	assert.Contains(t, table.String(), "disabled  by "+callerARN+" at 2026-06-01T12:00:00Z (credentials leaked in a partner's CI log)")

	// A second suspend keeps the first record.
	a.tool.Now = func() time.Time { return now.Add(time.Hour) }
	out.Reset()
	require.NoError(t, a.tool.Suspend(ctx, "WeatherEvents", "id-active", "again", &out))
	assert.Contains(t, out.String(), "kept    suspended-clients table "+a.table+": active was already suspended by "+callerARN+" at 2026-06-01T12:00:00Z")
	assert.Contains(t, out.String(), "kept    Cognito app client id-active: token issuance already off")

	out.Reset()
	require.NoError(t, a.tool.Resume(ctx, "WeatherEvents", "active", &out))
	assert.Contains(t, out.String(), "done    Cognito app client id-active: OAuth flows on")
	assert.Contains(t, out.String(), "done    API key k-active enabled")
	assert.Contains(t, out.String(), "removed active's suspension (by "+callerARN+" at 2026-06-01T12:00:00Z: credentials leaked in a partner's CI log)")
	_, ok, err = suspensions.Get(ctx, dynalite.Client(), a.table, "id-active")
	require.NoError(t, err)
	assert.False(t, ok)
	assert.True(t, a.keys.Enabled("k-active"))
	assert.Equal(t, withoutModified(before), withoutModified(a.cognito.Get("id-active")), "the app client is as it was before the suspension")
}

// An untiered client has no key to disable; the command says so, and that
// routes without a re-check accept its issued tokens until they expire.
func TestSuspendUntieredClient(t *testing.T) {
	a := newAccount(t)
	var out bytes.Buffer
	require.NoError(t, a.tool.Suspend(context.Background(), "WeatherEvents", "quiet", "unused", &out))
	assert.Contains(t, out.String(), "skip    API key: quiet has none (no rate-limit tier)")
	assert.Contains(t, out.String(), "note    no API key: a route whose integration does not re-check (not a scopegate function) accepts its tokens already issued until they expire, up to 1h0m0s")
}

// A step that fails does not stop the others; the error names it.
func TestSuspendCarriesOnPastAFailedStep(t *testing.T) {
	a := newAccount(t)
	a.Fail("cognito-idp", "UpdateUserPoolClient", &awsfake.Error{Code: "TooManyRequestsException", Message: "Too many requests"})
	var out bytes.Buffer
	err := a.tool.Suspend(context.Background(), "WeatherEvents", "active", "leak", &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "clients: suspend active: 1 step(s) failed: cognito UpdateUserPoolClient id-active")
	assert.Contains(t, out.String(), "FAILED  Cognito app client id-active")
	assert.False(t, a.keys.Enabled("k-active"), "the key was disabled all the same")
	_, ok, _ := suspensions.Get(context.Background(), dynalite.Client(), a.table, "id-active")
	assert.True(t, ok, "the table item was written all the same")
}

func TestSuspendRefusesBadInput(t *testing.T) {
	a := newAccount(t)
	var out bytes.Buffer
	assert.EqualError(t, a.tool.Suspend(context.Background(), "WeatherEvents", "active", " ", &out),
		"clients: suspend needs -reason TEXT: why the client is cut off, recorded with who and when")
	assert.EqualError(t, a.tool.Suspend(context.Background(), "WeatherEvents", "nobody", "x", &out),
		`clients: stack WeatherEvents has no client named or with id "nobody" (clients: active, newcomer, quiet, stale)`)
	assert.Empty(t, out.String())
}

// A client suspended in configuration keeps its key and token issuance off
// on resume: only the table item goes.
func TestResumeLeavesAConfigSuspensionInPlace(t *testing.T) {
	a := newAccount(t)
	list, _ := json.Marshal([]contract.ClientRecord{{Name: "active", ClientID: "id-active", SecretArn: "arn:secret:active", Tier: "gold", APIKeyID: "k-active", Suspended: true}})
	a.Stack("WeatherEvents", map[string]string{contract.Clients("Auth"): string(list), contract.SuspendedClientsTable("Auth"): a.table, contract.UserPoolID("Auth"): pool})
	var out bytes.Buffer
	require.NoError(t, a.tool.Resume(context.Background(), "WeatherEvents", "active", &out))
	assert.Contains(t, out.String(), "kept    active is suspended in configuration")
	assert.NotContains(t, strings.Join(a.Called(), " "), "UpdateUserPoolClient")
	assert.NotContains(t, strings.Join(a.Called(), " "), "PATCH")
}

func withoutModified(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k != "LastModifiedDate" {
			out[k] = v
		}
	}
	return out
}

func unchanged(m map[string]any) map[string]any {
	out := withoutModified(m)
	delete(out, "AllowedOAuthFlowsUserPoolClient")
	return out
}
