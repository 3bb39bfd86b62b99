package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/gatewayresponse"
	"github.com/scopegate/scopegate/m2mclient"
	"github.com/scopegate/scopegate/routetable"
)

// StatusNA is a conformance check that does not apply to the stack (no
// rate-limit tiers, so no API keys to probe).
const StatusNA Status = "not applicable"

// The AWS calls -conformance makes, all read-only.
type (
	// ConformanceCloudFormation: DescribeStacks (outputs) and
	// ListStackResources (the user pool's id, the rotation log group).
	ConformanceCloudFormation interface {
		CloudFormationAPI
		cloudformation.ListStackResourcesAPIClient
	}
	// ConformanceCognito: ListUserPoolClientSecrets.
	ConformanceCognito interface {
		ListUserPoolClientSecrets(context.Context, *cognitoidentityprovider.ListUserPoolClientSecretsInput, ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.ListUserPoolClientSecretsOutput, error)
	}
	// ConformanceLogs: FilterLogEvents.
	ConformanceLogs interface {
		cloudwatchlogs.FilterLogEventsAPIClient
	}
)

// Conformance checks, on a real deployment, the AWS behaviours scopegate
// depends on that the AWS documents leave open.
type Conformance struct {
	CloudFormation ConformanceCloudFormation
	SecretsManager SecretsManagerAPI
	Cognito        ConformanceCognito
	CloudWatch     cloudwatch.ListMetricsAPIClient
	Logs           ConformanceLogs
	// HTTP sends token and API requests. Default: http.DefaultTransport.
	HTTP http.RoundTripper
	// AuthPrefix is the AuthServer's construct id. Default: "Auth".
	AuthPrefix string
}

// badAPIKey is sent as x-api-key to see API Gateway refuse an unknown key.
const badAPIKey = "scopegate-conformance-not-an-api-key"

// conformanceClient is a client of the stack with its current secret.
type conformanceClient struct {
	contract.ClientRecord
	creds          m2mclient.Credentials
	clientSecretID string // the secret's client_secret_id, "" before the first rotation
}

// Run reads the stack's outputs and every client's current secret (an error
// if it cannot: exit 2), then runs each check.
func (c *Conformance) Run(ctx context.Context, stack string) (*Checks, error) {
	v := &Verifier{CloudFormation: c.CloudFormation, SecretsManager: c.SecretsManager, HTTP: c.HTTP, AuthPrefix: c.AuthPrefix}
	d, err := v.deployed(ctx, stack)
	if err != nil {
		return nil, err
	}
	policy, apiURL, records := d.policy, d.apiURL, d.clients
	var clients []conformanceClient
	for _, r := range records {
		creds, err := m2mclient.ReadSecret(ctx, c.SecretsManager, r.SecretArn, m2mclient.StageCurrent)
		if err != nil {
			return nil, fmt.Errorf("verify: client %q: %s", r.Name, strings.TrimPrefix(err.Error(), "m2mclient: "))
		}
		if err := m2mclient.CheckTokenURL(creds.TokenURL); err != nil {
			return nil, fmt.Errorf("verify: client %q: token_url of secret %s %w", r.Name, r.SecretArn, err)
		}
		cc := conformanceClient{ClientRecord: r, creds: creds}
		// Only client_secret_id is taken from the raw value; nothing of it
		// is printed but that id.
		if raw, err := c.SecretsManager.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(r.SecretArn), VersionStage: aws.String(m2mclient.StageCurrent)}); err == nil {
			var fields contract.ClientSecret
			_ = json.Unmarshal([]byte(aws.ToString(raw.SecretString)), &fields)
			cc.clientSecretID = fields.ClientSecretID
		}
		clients = append(clients, cc)
	}
	routes := make([]routetable.Route, 0, len(policy.Routes))
	for key, scopes := range policy.Routes {
		method, path, _ := strings.Cut(key, " ")
		routes = append(routes, routetable.Route{Method: method, Path: path, Scopes: scopes})
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].Key() < routes[j].Key() })

	// A client suspended in configuration gets no token: the checks that
	// need one use the others, and checkSuspended asks for it on purpose.
	var active, suspended []conformanceClient
	for _, cl := range clients {
		if cl.Suspended {
			suspended = append(suspended, cl)
		} else {
			active = append(active, cl)
		}
	}
	if len(active) == 0 {
		return nil, fmt.Errorf("verify: stack %s: every client is suspended (%s): no client can get a token to check with", stack, contract.Clients(d.prefix))
	}
	resources, resErr := c.stackResources(ctx, stack)
	out := &Checks{Mode: "conformance", Target: stack}
	out.add(c.checkGetAttSecret(ctx, v, active[0]))
	out.add(c.checkScopeMiss(ctx, v, apiURL, active, routes))
	out.Checks = append(out.Checks, c.checkAPIKeys(ctx, v, apiURL, active, routes)...)
	out.add(c.checkClientSecrets(ctx, active[0], resources, resErr))
	out.add(c.checkSuspended(ctx, v, suspended))
	out.add(c.checkUsageMetric(ctx))
	out.add(c.checkTestSecret(ctx, d.prefix, resources, resErr))
	return out, nil
}

// stackResource is one ListStackResources summary.
type stackResource struct{ logicalID, physicalID, typ string }

func (c *Conformance) stackResources(ctx context.Context, stack string) ([]stackResource, error) {
	var out []stackResource
	pages := cloudformation.NewListStackResourcesPaginator(c.CloudFormation, &cloudformation.ListStackResourcesInput{StackName: aws.String(stack)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, errors.New(why("cloudformation ListStackResources "+stack, err))
		}
		for _, r := range page.StackResourceSummaries {
			out = append(out, stackResource{aws.ToString(r.LogicalResourceId), aws.ToString(r.PhysicalResourceId), aws.ToString(r.ResourceType)})
		}
	}
	return out, nil
}

// token asks the token endpoint for a token of creds; scope "" asks for all
// of the client's scopes.
func (c *Conformance) token(ctx context.Context, v *Verifier, creds m2mclient.Credentials, scope string) (string, error) {
	cfg := m2mclient.Config{TokenURL: creds.TokenURL, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret, Base: v.transport()}
	if scope != "" {
		cfg.Scopes = []string{scope}
	}
	t, err := m2mclient.NewTransport(cfg)
	if err != nil {
		return "", err
	}
	tok, err := t.TokenContext(ctx)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// answer is what a probe call got back.
type answer struct {
	status     int
	challenge  string   // the first WWW-Authenticate, as sent
	challenges []string // every WWW-Authenticate
	body       []byte
}

func (a answer) String() string {
	s := fmt.Sprintf("%d", a.status)
	if a.challenge != "" {
		s += fmt.Sprintf(", WWW-Authenticate %s", a.challenge)
	} else {
		s += ", no WWW-Authenticate"
	}
	if b, ok := gatewayresponse.Parse(a.body); ok {
		return s + fmt.Sprintf(`, body error %q`, b.Error)
	}
	body := strings.TrimSpace(string(a.body))
	if len(body) > 120 {
		body = body[:120] + "..."
	}
	return s + ", body " + body
}

// checkGetAttSecret: the client's secret is filled from the app client's
// ClientSecret attribute (CloudFormation user guide,
// "AWS::Cognito::UserPoolClient", return values: Fn::GetAtt ClientSecret);
// its AWSCURRENT client_secret must be non-empty and get a token.
func (c *Conformance) checkGetAttSecret(ctx context.Context, v *Verifier, cl conformanceClient) Check {
	ch := Check{Name: "getatt-client-secret", Expected: "client " + cl.Name + ": AWSCURRENT client_secret non-empty and gets a token"}
	if cl.creds.ClientSecret == "" {
		ch.Status, ch.Seen = StatusProblem, "empty client_secret"
		return ch
	}
	_, err := c.token(ctx, v, cl.creds, "")
	var te *m2mclient.TokenError
	switch {
	case errors.As(err, &te):
		ch.Status, ch.Seen = StatusProblem, "the token endpoint refused it: "+err.Error()
	case err != nil:
		ch.Status, ch.Detail = StatusUnknown, "token request: "+err.Error()
	default:
		ch.Status, ch.Seen = StatusOK, "non-empty, token issued"
	}
	return ch
}

// checkSuspended: a client suspended in configuration has
// AllowedOAuthFlowsUserPoolClient false and no OAuth flow or scope. The
// CreateUserPoolClient and UpdateUserPoolClient API references (Amazon
// Cognito API reference) say the OAuth 2.0 features need that flag true,
// so the token endpoint must refuse the client; which error it answers
// ("The token issuer endpoint", Cognito developer guide, lists
// unauthorized_client and invalid_client among others) is not documented,
// so this check records it. make local answers unauthorized_client.
func (c *Conformance) checkSuspended(ctx context.Context, v *Verifier, suspended []conformanceClient) Check {
	ch := Check{Name: "suspended-client-no-token", Expected: "a client suspended in configuration is refused a token (the error is recorded: AWS does not document it)"}
	if len(suspended) == 0 {
		ch.Status, ch.Detail = StatusNA, "no client is suspended in configuration"
		return ch
	}
	var seen []string
	ch.Status = StatusOK
	for _, cl := range suspended {
		_, err := c.token(ctx, v, cl.creds, "")
		var te *m2mclient.TokenError
		switch {
		case errors.As(err, &te):
			seen = append(seen, fmt.Sprintf("%s: %d %s", cl.Name, te.StatusCode, te.Code))
		case err != nil:
			seen = append(seen, cl.Name+": "+err.Error())
			if ch.Status == StatusOK {
				ch.Status = StatusUnknown
			}
		default:
			seen = append(seen, cl.Name+": a token was issued")
			ch.Status = StatusProblem
			ch.Detail = "the suspension did not stop token issuance: check the app client's AllowedOAuthFlowsUserPoolClient in the Cognito console"
		}
	}
	ch.Seen = strings.Join(seen, "; ")
	return ch
}

// checkScopeMiss: API Gateway developer guide, "Integrate a REST API with an
// Amazon Cognito user pool": a token that carries none of a method's
// authorization scopes fails with 401 Unauthorized; the answer is the
// UNAUTHORIZED gateway response ("Gateway response types"), which a
// ScopedAPI defines as gatewayresponse.Unauthorized.
func (c *Conformance) checkScopeMiss(ctx context.Context, v *Verifier, apiURL string, clients []conformanceClient, routes []routetable.Route) Check {
	want := gatewayresponse.Unauthorized
	ch := Check{Name: "scope-miss-401", Expected: fmt.Sprintf("%d, WWW-Authenticate %s, body error %q", want.Status, want.Challenge, want.Code)}
	// A client and a route none of its scopes opens (token with all of its
	// scopes); failing that, a token with one scope and a route that scope
	// does not open.
	var cl *conformanceClient
	var route routetable.Route
	scope := ""
	for i := range clients {
		for _, r := range routes {
			if !r.Opens(clients[i].Scopes) {
				cl, route = &clients[i], r
				break
			}
		}
		if cl != nil {
			break
		}
	}
	for i := 0; cl == nil && i < len(clients); i++ {
		for _, s := range clients[i].Scopes {
			for _, r := range routes {
				if !r.Opens([]string{s}) {
					cl, route, scope = &clients[i], r, s
					break
				}
			}
			if cl != nil {
				break
			}
		}
	}
	if cl == nil {
		ch.Status, ch.Detail = StatusUnknown, "every client's every scope opens every route: no scope miss to provoke"
		return ch
	}
	tokenCase := "all its scopes"
	if scope != "" {
		tokenCase = scope
	}
	ch.Detail = fmt.Sprintf("client %s (token with %s) calling %s", cl.Name, tokenCase, route.Key())
	tok, err := c.token(ctx, v, cl.creds, scope)
	if err != nil {
		ch.Status, ch.Detail = StatusUnknown, ch.Detail+": token request: "+err.Error()
		return ch
	}
	got, err := v.probe(ctx, apiURL, route, tok, cl.creds.APIKey)
	if err != nil {
		ch.Status, ch.Detail = StatusUnknown, ch.Detail+": "+err.Error()
		return ch
	}
	ch.Seen = got.String()
	body, ok := gatewayresponse.Parse(got.body)
	if got.status == want.Status && ok && body.Error == want.Code && got.challenge == want.Challenge {
		ch.Status = StatusOK
	} else {
		ch.Status = StatusProblem
	}
	return ch
}

// checkAPIKeys: API Gateway developer guide, "Choose an API key source" and
// "Gateway response types": a method that requires an API key answers a
// request without one, or with one it does not know, 403. Without a key the
// documents do not say whether the answer is INVALID_API_KEY's or the
// default 4XX's ({"message":"Forbidden"}); scopegate accepts either, so it
// is reported, not judged. A bad key is INVALID_API_KEY's.
func (c *Conformance) checkAPIKeys(ctx context.Context, v *Verifier, apiURL string, clients []conformanceClient, routes []routetable.Route) []Check {
	missing := Check{Name: "api-key-missing-403", Expected: fmt.Sprintf("403, body error %q or %s (either passes)", gatewayresponse.InvalidAPIKey.Code, gatewayresponse.ForbiddenMessage)}
	bad := Check{Name: "api-key-bad-403", Expected: fmt.Sprintf("403, body error %q", gatewayresponse.InvalidAPIKey.Code)}
	var cl *conformanceClient
	var route routetable.Route
	for i := range clients {
		if clients[i].creds.APIKey == "" {
			continue
		}
		for _, r := range routes {
			if r.Opens(clients[i].Scopes) && (cl == nil || r.Method == http.MethodGet) {
				if cl == nil || route.Method != http.MethodGet {
					cl, route = &clients[i], r
				}
			}
		}
		if cl != nil {
			break
		}
	}
	if cl == nil {
		missing.Status, missing.Detail = StatusNA, "no client's secret has an api_key (no rate-limit tiers)"
		bad.Status, bad.Detail = StatusNA, missing.Detail
		return []Check{missing, bad}
	}
	detail := fmt.Sprintf("client %s calling %s, which its scopes open", cl.Name, route.Key())
	tok, err := c.token(ctx, v, cl.creds, "")
	if err != nil {
		missing.Status, missing.Detail = StatusUnknown, detail+": token request: "+err.Error()
		bad.Status, bad.Detail = StatusUnknown, missing.Detail
		return []Check{missing, bad}
	}
	for _, probe := range []struct {
		ch  *Check
		key string
	}{{&missing, ""}, {&bad, badAPIKey}} {
		probe.ch.Detail = detail
		got, err := v.probe(ctx, apiURL, route, tok, probe.key)
		if err != nil {
			probe.ch.Status, probe.ch.Detail = StatusUnknown, detail+": "+err.Error()
			continue
		}
		probe.ch.Seen = got.String()
		body, ours := gatewayresponse.Parse(got.body)
		switch {
		case got.status != http.StatusForbidden:
			probe.ch.Status = StatusProblem
		case probe.key == "" && ours && body.Error == gatewayresponse.InvalidAPIKey.Code:
			probe.ch.Status, probe.ch.Detail = StatusOK, detail+": API Gateway answers a missing key with INVALID_API_KEY"
		case probe.key == "" && compactJSON(got.body) == gatewayresponse.ForbiddenMessage:
			probe.ch.Status, probe.ch.Detail = StatusOK, detail+": API Gateway answers a missing key with the default 403 {\"message\":\"Forbidden\"}, not INVALID_API_KEY"
		case probe.key != "" && ours && body.Error == gatewayresponse.InvalidAPIKey.Code:
			probe.ch.Status = StatusOK
		default:
			probe.ch.Status = StatusProblem
		}
	}
	return []Check{missing, bad}
}

func compactJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return strings.TrimSpace(string(b))
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// checkClientSecrets: Cognito API reference, "ListUserPoolClientSecrets":
// the client's secrets, each with ClientSecretId and ClientSecretCreateDate;
// the secret Cognito generated when the client was created must be among
// them, since the rotation function (constructs/m2mauth/rotator/rotate) counts and
// deletes secrets by this list.
func (c *Conformance) checkClientSecrets(ctx context.Context, cl conformanceClient, resources []stackResource, resErr error) Check {
	ch := Check{Name: "cognito-list-client-secrets", Expected: "client " + cl.Name + ": at least one secret, each with a create date; AWSCURRENT's client_secret_id among them"}
	if resErr != nil {
		ch.Status, ch.Detail = StatusUnknown, "the user pool's id: "+resErr.Error()
		return ch
	}
	pool := ""
	for _, r := range resources {
		if r.typ == "AWS::Cognito::UserPool" && (pool == "" || strings.HasPrefix(r.logicalID, c.prefix())) {
			pool = r.physicalID
		}
	}
	if pool == "" {
		ch.Status, ch.Detail = StatusUnknown, "the stack has no AWS::Cognito::UserPool resource"
		return ch
	}
	out, err := c.Cognito.ListUserPoolClientSecrets(ctx, &cognitoidentityprovider.ListUserPoolClientSecretsInput{UserPoolId: aws.String(pool), ClientId: aws.String(cl.creds.ClientID)})
	if err != nil {
		ch.Status, ch.Detail = StatusUnknown, why("cognito-idp ListUserPoolClientSecrets", err)
		return ch
	}
	dated, listed := 0, false
	for _, s := range out.ClientSecrets {
		if s.ClientSecretCreateDate != nil && !s.ClientSecretCreateDate.IsZero() {
			dated++
		}
		if cl.clientSecretID != "" && aws.ToString(s.ClientSecretId) == cl.clientSecretID {
			listed = true
		}
	}
	n := len(out.ClientSecrets)
	ch.Seen = fmt.Sprintf("%d secret(s), %d with a create date", n, dated)
	switch {
	case cl.clientSecretID == "":
		ch.Seen += "; the secret has no client_secret_id yet (not rotated)"
	case listed:
		ch.Seen += "; AWSCURRENT's client_secret_id listed"
	default:
		ch.Seen += "; AWSCURRENT's client_secret_id NOT listed"
	}
	if n == 0 || dated < n || (cl.clientSecretID != "" && !listed) {
		ch.Status = StatusProblem
	} else {
		ch.Status = StatusOK
	}
	return ch
}

func (c *Conformance) prefix() string {
	if c.AuthPrefix == "" {
		return contract.DefaultAuthPrefix
	}
	return c.AuthPrefix
}

// checkUsageMetric: Cognito developer guide, "Metrics for Amazon Cognito
// user pools" and "Dimensions for Amazon Cognito user pools": the usage
// metric CallCount in namespace AWS/Usage with dimensions Service, Type,
// Resource (the category, ClientAuthentication for client-credentials token
// requests) and Class. scopegate's token budget alarm matches Resource alone
// (Metrics Insights), so any Service or Class passes; a series appears only
// minutes after the first token request, so none is not a failure yet.
// CloudWatch API reference, "ListMetrics".
func (c *Conformance) checkUsageMetric(ctx context.Context) Check {
	ch := Check{Name: "usage-metric-client-authentication", Expected: "a AWS/Usage CallCount series with Resource=ClientAuthentication"}
	pages := cloudwatch.NewListMetricsPaginator(c.CloudWatch, &cloudwatch.ListMetricsInput{
		Namespace:  aws.String("AWS/Usage"),
		MetricName: aws.String("CallCount"),
		Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Resource"), Value: aws.String("ClientAuthentication")}},
	})
	var sets []string
	found := false
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			ch.Status, ch.Detail = StatusUnknown, why("cloudwatch ListMetrics", err)
			return ch
		}
		for _, m := range page.Metrics {
			var dims []string
			for _, d := range m.Dimensions {
				dims = append(dims, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
				if aws.ToString(d.Name) == "Resource" && aws.ToString(d.Value) == "ClientAuthentication" {
					found = true
				}
			}
			sort.Strings(dims)
			sets = append(sets, "{"+strings.Join(dims, ", ")+"}")
		}
	}
	if len(sets) == 0 {
		ch.Status, ch.Seen = StatusNote, "none listed yet"
		ch.Detail = "cannot tell yet: usage metrics appear minutes after the first token request; run again later"
		return ch
	}
	ch.Seen = strings.Join(sets, " ")
	if found {
		ch.Status = StatusOK
	} else {
		ch.Status = StatusProblem
	}
	return ch
}

// testSecretOutcome is what the rotation function logs (constructs/m2mauth/
// rotator/rotate, testSecret) when Secrets Manager tests a rotation configuration by
// calling testSecret on an AWSPENDING version without a value, which
// Secrets Manager does when a rotation schedule is set without an immediate
// rotation (Secrets Manager user guide, "Rotate secrets": "Secrets Manager
// tests the rotation configuration by running the testSecret step of the
// Lambda function").
const testSecretOutcome = "tested the current credentials because the pending version has no value"

// checkTestSecret looks for that line in the rotation function's log group
// (CloudWatch Logs API reference, "FilterLogEvents"; a quoted filter
// pattern matches the phrase). Its absence proves nothing (log retention,
// a stack deployed with immediate rotation), so it is never a failure.
func (c *Conformance) checkTestSecret(ctx context.Context, prefix string, resources []stackResource, resErr error) Check {
	ch := Check{Name: "secretsmanager-configuration-test", Expected: "Secrets Manager called testSecret with a value-less AWSPENDING when the schedule was created"}
	if resErr != nil {
		ch.Status, ch.Detail = StatusNote, "not checked: the rotation log group: "+resErr.Error()
		return ch
	}
	group := ""
	for _, r := range resources {
		if r.typ == "AWS::Logs::LogGroup" && strings.HasPrefix(r.logicalID, prefix+"RotationLogs") {
			group = r.physicalID
		}
	}
	if group == "" {
		ch.Status, ch.Detail = StatusNote, "not checked: the stack has no rotation log group (rotation off?)"
		return ch
	}
	pages := cloudwatchlogs.NewFilterLogEventsPaginator(c.Logs, &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName:  aws.String(group),
		FilterPattern: aws.String(`"` + testSecretOutcome + `"`),
		Limit:         aws.Int32(1),
	})
	for i := 0; pages.HasMorePages() && i < 20; i++ { // a page may be empty while the search goes on
		page, err := pages.NextPage(ctx)
		if err != nil {
			ch.Status, ch.Detail = StatusNote, "cannot tell from outside: "+why("logs FilterLogEvents "+group, err)
			return ch
		}
		if len(page.Events) > 0 {
			ch.Status, ch.Seen = StatusOK, "the rotation function logged "+`"`+testSecretOutcome+`"`+" in "+group
			return ch
		}
	}
	ch.Status, ch.Seen = StatusNote, "no such line in "+group
	ch.Detail = "cannot tell from outside (the log may have expired, or the schedule was created with an immediate rotation)"
	return ch
}
