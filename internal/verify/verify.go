// Package verify replays the walkthrough against a deployed stack: for every
// client it asks the token endpoint for a token with no scope, with each
// allowed scope, and with a scope it is not allowed, calls every route with
// every token, and compares each outcome with the stack's AccessPolicy output
// (each route's scopes) and its clients output (each client's scopes).
//
// It reads each client's secret twice: its current version (AWSCURRENT) and,
// when there is one, the version a rotation replaced (AWSPREVIOUS). A
// previous client secret the token endpoint still accepts (the overlap of a
// rotation) is checked like the current one, in rows of its own; one it
// refuses as invalid_client is reported as retired, which is what it should
// become. When a secret holds an api_key, every API call made with its
// tokens sends it as x-api-key, as m2mclient does.
//
// It sends secrets and tokens only over https: an ApiUrl output or a secret's
// token_url that is plain http (other than to a loopback host, for tests)
// stops the run before any request.
//
// It does not change data: it sends POST with an empty JSON object (refused
// by the API's body validation once authorized) and DELETE for an id that
// cannot exist. It never prints a secret or a token.
package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/m2mclient"
	"github.com/scopegate/scopegate/routetable"
)

// CloudFormationAPI is the call the verifier makes to read stack outputs.
type CloudFormationAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// SecretsManagerAPI is the call the verifier makes to read client secrets.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Verifier checks one deployed stack.
type Verifier struct {
	CloudFormation CloudFormationAPI
	SecretsManager SecretsManagerAPI
	// HTTP sends token and API requests. Default: http.DefaultClient's transport.
	HTTP http.RoundTripper
	// AuthPrefix is the AuthServer's construct id. Default: "Auth".
	AuthPrefix string
}

// Token cases.
const (
	NoScope        = "(no scope)"
	expectIssued   = "issued"
	expectRefused  = "refused"
	tokenRetired   = "retired"
	outcomeAllowed = "allowed"
	outcomeDenied  = "denied"
)

// Which version of a client's secret a row's tokens were requested with.
const (
	SecretCurrent  = "current"  // AWSCURRENT
	SecretPrevious = "previous" // AWSPREVIOUS, the value a rotation replaced
)

const stagePrevious = "AWSPREVIOUS"

// Report is the whole matrix.
type Report struct {
	Stack  string   `json:"stack"`
	Routes []string `json:"routes"`
	Rows   []Row    `json:"rows"`
	// Mismatches counts cells whose outcome differs from the policy.
	Mismatches int `json:"mismatches"`
}

// Row is one client with one token request.
type Row struct {
	Client string `json:"client"`
	// Secret is SecretCurrent, or SecretPrevious for the rows of a previous
	// client secret.
	Secret string `json:"secret"`
	// APIKey tells whether the calls sent an x-api-key (the secret has an
	// api_key); the key itself is never reported.
	APIKey bool `json:"apiKey"`
	// Requested is the scope asked for, or NoScope.
	Requested string `json:"requested"`
	// Token is "issued" or "refused", Expected what the policy says. A
	// previous secret the token endpoint refuses as invalid_client is
	// "retired", which is expected of it: its one row reads "retired" twice.
	Token         string `json:"token"`
	ExpectedToken string `json:"expectedToken"`
	TokenError    string `json:"tokenError,omitempty"`
	// Calls holds one cell per route, in Report.Routes order, when a token
	// was issued.
	Calls []Call `json:"calls,omitempty"`
}

// Call is one route called with one token.
type Call struct {
	Route    string `json:"route"`
	Status   int    `json:"status"`
	Outcome  string `json:"outcome"`
	Expected string `json:"expected"`
	// Challenge is the error of the Bearer challenge (WWW-Authenticate) of
	// a 401 or 403: "bearer" for scopegate's 401 (a challenge without an
	// error code, since API Gateway does not say whether the token was bad
	// or only lacked the scope); empty when there was none, as when API
	// Gateway refuses a call for its API key.
	Challenge string `json:"challenge,omitempty"`
	Error     string `json:"error,omitempty"`
}

// OK reports whether the row matches the policy everywhere.
func (r Row) OK() bool {
	if r.Token != r.ExpectedToken {
		return false
	}
	for _, c := range r.Calls {
		if c.Outcome != c.Expected {
			return false
		}
	}
	return true
}

// secretVersion is one version of a client's secret to check.
type secretVersion struct {
	label string // SecretCurrent or SecretPrevious
	creds m2mclient.Credentials
}

// Run verifies the stack and returns the matrix. An error means the
// verification could not be carried out (missing outputs, unreadable
// secrets); a mismatch is not an error, it is counted in the report.
func (v *Verifier) Run(ctx context.Context, stack string) (*Report, error) {
	d, err := v.deployed(ctx, stack)
	if err != nil {
		return nil, err
	}
	policy, apiURL, clients := d.policy, d.apiURL, d.clients

	report := &Report{Stack: stack}
	for route := range policy.Routes {
		report.Routes = append(report.Routes, route)
	}
	sort.Strings(report.Routes)
	// Every secret is read and checked before the first token request.
	versions := make([][]secretVersion, len(clients))
	for i, client := range clients {
		if client.SecretArn == "" {
			return nil, fmt.Errorf("verify: stack %s: client %q has no secretArn in %s", stack, client.Name, contract.Clients(d.prefix))
		}
		if versions[i], err = v.secretVersions(ctx, client); err != nil {
			return nil, err
		}
	}
	for i, client := range clients {
		for _, version := range versions[i] {
			for _, c := range tokenCases(policy, client) {
				row := v.check(ctx, client.Name, version, c, policy, apiURL, report.Routes)
				if !row.OK() {
					report.Mismatches++
				}
				report.Rows = append(report.Rows, row)
				if row.Token == tokenRetired {
					break // one row says it
				}
			}
		}
	}
	return report, nil
}

// stackOutputs is what the verifier reads of a stack's outputs.
type stackOutputs struct {
	prefix  string // the AuthServer's construct id, prefixing its outputs
	policy  routetable.AccessPolicy
	apiURL  string                  // without a trailing slash; https (or loopback http)
	clients []contract.ClientRecord // sorted by name
}

// deployed reads and checks the stack's AccessPolicy, ApiUrl and clients
// outputs.
func (v *Verifier) deployed(ctx context.Context, stack string) (*stackOutputs, error) {
	outputs, err := ReadOutputs(ctx, v.CloudFormation, stack)
	if err != nil {
		return nil, err
	}
	d := &stackOutputs{}
	if err := json.Unmarshal([]byte(outputs[contract.AccessPolicy]), &d.policy); err != nil || len(d.policy.Routes) == 0 {
		return nil, fmt.Errorf("verify: stack %s has no readable %s output", stack, contract.AccessPolicy)
	}
	d.apiURL = strings.TrimSuffix(outputs[contract.APIURL], "/")
	if d.apiURL == "" {
		return nil, fmt.Errorf("verify: stack %s has no %s output", stack, contract.APIURL)
	}
	if err := m2mclient.CheckAPIURL(d.apiURL); err != nil {
		return nil, fmt.Errorf("verify: stack %s: %s output %w", stack, contract.APIURL, err)
	}
	prefix := v.AuthPrefix
	if prefix == "" {
		prefix = contract.DefaultAuthPrefix
	}
	d.prefix = prefix
	if d.clients, err = ClientRecords(stack, outputs, prefix); err != nil {
		return nil, err
	}
	return d, nil
}

// secretVersions reads a client's secret: its current version and, when the
// secret has one that holds another client secret, its previous version.
func (v *Verifier) secretVersions(ctx context.Context, client contract.ClientRecord) ([]secretVersion, error) {
	current, err := m2mclient.ReadSecret(ctx, v.SecretsManager, client.SecretArn, m2mclient.StageCurrent)
	if err != nil {
		return nil, fmt.Errorf("verify: client %q: %s", client.Name, strings.TrimPrefix(err.Error(), "m2mclient: "))
	}
	// Refused before the first token request, as "cannot verify": a
	// refusal per row would read as a token the endpoint refused.
	if err := m2mclient.CheckTokenURL(current.TokenURL); err != nil {
		return nil, fmt.Errorf("verify: client %q: token_url of secret %s %w", client.Name, client.SecretArn, err)
	}
	versions := []secretVersion{{SecretCurrent, current}}
	previous, err := m2mclient.ReadSecret(ctx, v.SecretsManager, client.SecretArn, stagePrevious)
	var none *smtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &none): // never rotated
		return versions, nil
	case err != nil:
		return nil, fmt.Errorf("verify: client %q: %s", client.Name, strings.TrimPrefix(err.Error(), "m2mclient: "))
	case previous.ClientID == current.ClientID && previous.ClientSecret == current.ClientSecret:
		return versions, nil // the same client secret: nothing more to check
	}
	if err := m2mclient.CheckTokenURL(previous.TokenURL); err != nil {
		return nil, fmt.Errorf("verify: client %q: token_url of secret %s (%s) %w", client.Name, client.SecretArn, stagePrevious, err)
	}
	return append(versions, secretVersion{SecretPrevious, previous}), nil
}

type tokenCase struct {
	requested string   // scope asked for, or NoScope
	granted   []string // scopes the token carries when issued
	allowed   bool     // whether the endpoint should issue it
}

// tokenCases: no scope (all of the client's), each allowed scope alone, and
// the first route scope the client may not have, if there is one; a
// suspended client is refused every one.
func tokenCases(policy routetable.AccessPolicy, client contract.ClientRecord) []tokenCase {
	scopes := client.Scopes
	// A suspended client may hold scopes, but Cognito issues it no token.
	allowed := !client.Suspended
	cases := []tokenCase{{requested: NoScope, granted: scopes, allowed: allowed}}
	held := map[string]bool{}
	for _, s := range scopes {
		held[s] = true
		cases = append(cases, tokenCase{requested: s, granted: []string{s}, allowed: allowed})
	}
	var foreign []string
	for _, routeScopes := range policy.Routes {
		for _, s := range routeScopes {
			if !held[s] {
				foreign = append(foreign, s)
			}
		}
	}
	sort.Strings(foreign)
	if len(foreign) > 0 {
		cases = append(cases, tokenCase{requested: foreign[0], allowed: false})
	}
	return cases
}

func (v *Verifier) check(ctx context.Context, client string, version secretVersion, c tokenCase, policy routetable.AccessPolicy, apiURL string, routes []string) Row {
	creds := version.creds
	row := Row{Client: client, Secret: version.label, APIKey: creds.APIKey != "", Requested: c.requested, ExpectedToken: expectRefused}
	if c.allowed {
		row.ExpectedToken = expectIssued
	}
	cfg := m2mclient.Config{TokenURL: creds.TokenURL, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, Base: v.transport()}
	if c.requested != NoScope {
		cfg.Scopes = []string{c.requested}
	}
	transport, err := m2mclient.NewTransport(cfg)
	if err != nil {
		row.Token, row.TokenError = expectRefused, err.Error()
		return row
	}
	token, err := transport.TokenContext(ctx)
	if err != nil && version.label == SecretPrevious && errors.Is(err, m2mclient.ErrInvalidClient) {
		row.Token, row.ExpectedToken, row.TokenError = tokenRetired, tokenRetired, err.Error()
		return row
	}
	if err != nil {
		row.Token, row.TokenError = expectRefused, err.Error()
		return row
	}
	row.Token = expectIssued
	for _, key := range routes {
		route := routetable.Route{Method: strings.SplitN(key, " ", 2)[0], Path: strings.SplitN(key, " ", 2)[1], Scopes: policy.Routes[key]}
		call := Call{Route: key, Expected: outcomeDenied}
		if route.Opens(c.granted) {
			call.Expected = outcomeAllowed
		}
		call.Status, call.Challenge, err = v.call(ctx, apiURL, route, token.AccessToken, creds.APIKey)
		switch {
		case err != nil:
			call.Outcome, call.Error = "error", err.Error()
		case call.Status == http.StatusUnauthorized || call.Status == http.StatusForbidden:
			call.Outcome = outcomeDenied
		default:
			call.Outcome = outcomeAllowed
		}
		row.Calls = append(row.Calls, call)
	}
	return row
}

// probeID fills path parameters: no event can have it, so DELETE finds nothing.
const probeID = "scopegate-verify-probe"

// call calls one route and returns the status and, for a 401 or 403, the
// error of its Bearer challenge.
func (v *Verifier) call(ctx context.Context, apiURL string, route routetable.Route, token, apiKey string) (int, string, error) {
	a, err := v.probe(ctx, apiURL, route, token, apiKey)
	if err != nil {
		return 0, "", err
	}
	var challenge string
	if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
		challenge = bearerError(a.challenges)
	}
	return a.status, challenge, nil
}

// probe calls a route without changing data: POST, PUT and PATCH send {},
// which the API's body validation refuses once the caller is authorized,
// and path parameters are filled with an id no event has. It sends the
// token and, unless apiKey is "", an x-api-key, and keeps the first 64 KiB
// of the answer.
func (v *Verifier) probe(ctx context.Context, apiURL string, route routetable.Route, token, apiKey string) (answer, error) {
	method := route.Method
	if method == routetable.AnyMethod {
		method = http.MethodGet
	}
	var segments []string
	for _, seg := range strings.Split(strings.TrimPrefix(route.Path, "/"), "/") {
		if strings.HasPrefix(seg, "{") {
			seg = probeID
		}
		segments = append(segments, seg)
	}
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		body = strings.NewReader("{}")
	}
	req, err := http.NewRequestWithContext(ctx, method, apiURL+"/"+strings.Join(segments, "/"), body)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set(m2mclient.APIKeyHeader, apiKey)
	}
	resp, err := v.transport().RoundTrip(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return answer{status: resp.StatusCode, challenge: resp.Header.Get("WWW-Authenticate"), challenges: resp.Header.Values("WWW-Authenticate"), body: b}, nil
}

// bearerError is the error attribute of a Bearer challenge (RFC 6750
// section 3), e.g. invalid_token; "bearer" for a challenge without
// one, "" when there is no Bearer challenge. Only the characters RFC 6750
// allows in an error code are kept.
func bearerError(challenges []string) string {
	for _, c := range challenges {
		scheme, params, _ := strings.Cut(strings.TrimSpace(c), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			continue
		}
		_, rest, found := strings.Cut(params, `error="`)
		if !found {
			return "bearer"
		}
		code, _, _ := strings.Cut(rest, `"`)
		if code == "" || strings.ContainsFunc(code, func(r rune) bool { return r < 0x20 || r > 0x7e || r == '\\' }) || len(code) > 64 {
			return "bearer"
		}
		return code
	}
	return ""
}

func (v *Verifier) transport() http.RoundTripper {
	if v.HTTP != nil {
		return v.HTTP
	}
	return http.DefaultTransport
}

// ReadOutputs reads a deployed stack's outputs by key (CloudFormation
// DescribeStacks). The verifier and bin/clients read a stack through it.
func ReadOutputs(ctx context.Context, cf CloudFormationAPI, stack string) (map[string]string, error) {
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return nil, fmt.Errorf("verify: reading stack %s: %w", stack, err)
	}
	if len(out.Stacks) != 1 {
		return nil, fmt.Errorf("verify: stack %s not found", stack)
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return outputs, nil
}

// ClientRecords reads the clients output of the AuthServer whose construct
// id is prefix from a stack's outputs: at least one client, sorted by name.
func ClientRecords(stack string, outputs map[string]string, prefix string) ([]contract.ClientRecord, error) {
	key := contract.Clients(prefix)
	var clients []contract.ClientRecord
	if err := json.Unmarshal([]byte(outputs[key]), &clients); err != nil || len(clients) == 0 {
		return nil, fmt.Errorf("verify: stack %s has no readable %s output", stack, key)
	}
	sort.Slice(clients, func(i, j int) bool { return clients[i].Name < clients[j].Name })
	return clients, nil
}
