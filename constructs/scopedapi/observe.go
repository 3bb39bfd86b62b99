package scopedapi

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/contract"
)

// The view of an API's partners: a dashboard, and Contributor Insights rules
// over the access log that rank clients by requests and by refusals.
//
// Sources: the API Gateway metrics Count, 4XXError, 5XXError, Latency and
// IntegrationLatency with the ApiName dimension ("Amazon API Gateway
// dimensions and metrics", API Gateway developer guide); Lambda's Errors and
// Throttles ("Types of metrics for Lambda functions", Lambda developer
// guide); the rule body ("Contributor Insights rule syntax in CloudWatch",
// CloudWatch user guide: Schema CloudWatchLogRule version 1, LogFormat
// JSON, Contribution Keys and Filters with In and StartsWith, AggregateOn
// Count). The access log's status is written as a string ("$context.status"
// inside quotes, accessLogFormat), so the filters compare strings.

// contributorRules are the rules of every API: the top clients by requests,
// 4xx, 429 and 5xx.
var contributorRules = []struct {
	id, what string
	filter   map[string]any
}{
	{"TopClientsByRequests", "requests", nil},
	{"TopClientsBy4xx", "4xx answers", map[string]any{"Match": "$.status", "StartsWith": []string{"4"}}},
	{"TopClientsBy429", "429 answers (throttled or over quota)", map[string]any{"Match": "$.status", "In": []string{"429"}}},
	{"TopClientsBy5xx", "5xx answers", map[string]any{"Match": "$.status", "StartsWith": []string{"5"}}},
}

// observe adds the dashboard and the contributor rules of an API this
// construct created (an adopted API's logs are its owner's).
func (a *ScopedAPI) observe(handler awslambda.IFunction, auth Authority) {
	stack := awscdk.Stack_Of(a.Construct)
	logGroup := a.AccessLogs.LogGroupName()
	a.ContributorRules = map[string]awscloudwatch.CfnInsightRule{}
	// Rule names are unique per account and region: the construct's path
	// makes them so.
	base := *awscdk.Names_UniqueResourceName(a.Construct, &awscdk.UniqueResourceNameOptions{MaxLength: jsii.Number(100), Separator: jsii.String("-")})
	for _, r := range contributorRules {
		contribution := map[string]any{"Keys": []string{"$.clientId"}}
		if r.filter != nil {
			contribution["Filters"] = []any{r.filter}
		}
		body := map[string]any{
			"Schema":        map[string]any{"Name": "CloudWatchLogRule", "Version": 1},
			"LogGroupNames": []*string{logGroup},
			"LogFormat":     "JSON",
			"Contribution":  contribution,
			"AggregateOn":   "Count",
		}
		rule := awscloudwatch.NewCfnInsightRule(a.Construct, jsii.String(r.id), &awscloudwatch.CfnInsightRuleProps{
			RuleName:  jsii.String(base + "-" + r.id),
			RuleState: jsii.String("ENABLED"),
			RuleBody:  stack.ToJsonString(body, nil),
		})
		a.ContributorRules[r.id] = rule
	}

	api := a.RestAPI
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8)})
	}
	stat := func(s string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Statistic: jsii.String(s)}
	}
	rows := [][]awscloudwatch.IWidget{{
		graph("Requests", api.MetricCount(stat("Sum"))),
		graph("4xx and 5xx answers", api.MetricClientError(stat("Sum")), api.MetricServerError(stat("Sum"))),
		graph("Latency p50 and p99 (ms)", api.MetricLatency(stat("p50")), api.MetricLatency(stat("p99")), api.MetricIntegrationLatency(stat("p99"))),
	}, {
		awscloudwatch.NewLogQueryWidget(&awscloudwatch.LogQueryWidgetProps{
			Title:         jsii.String("401, 403 and 429 answers by status"),
			LogGroupNames: &[]*string{logGroup},
			QueryLines:    jsii.Strings(`filter status in ["401", "403", "429"]`, "stats count(*) by status, bin(5m)"),
			View:          awscloudwatch.LogQueryVisualizationType_LINE,
			Width:         jsii.Number(8),
		}),
	}}
	if handler != nil {
		rows[1] = append(rows[1], graph("Function errors and throttles", handler.MetricErrors(stat("Sum")), handler.MetricThrottles(stat("Sum"))))
	}
	if server, ok := auth.(*m2mauth.AuthServer); ok {
		limit := m2mauth.ClientCredentialsRequestsPerSecond * m2mauth.TokenRequestsPeriod.Seconds()
		rows[1] = append(rows[1], awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title:           jsii.String(fmt.Sprintf("Token requests per %g minutes (account and region; Cognito's limit is %d per second)", m2mauth.TokenRequestsPeriod.Minutes(), m2mauth.ClientCredentialsRequestsPerSecond)),
			Left:            &[]awscloudwatch.IMetric{m2mauth.TokenRequests()},
			LeftAnnotations: &[]*awscloudwatch.HorizontalAnnotation{{Value: jsii.Number(limit), Label: jsii.String("limit")}},
			Width:           jsii.Number(8),
		}))
		if rotation := server.RotationFunction(); rotation != nil {
			rows = append(rows, []awscloudwatch.IWidget{graph("Secret rotation failures", rotation.Function.MetricErrors(stat("Sum")))})
		}
	}
	// CloudFormation's dashboard widgets cannot show a Contributor Insights
	// rule through the CDK's widgets, so the dashboard names them; each
	// rule's report is in the CloudWatch console under Contributor Insights.
	lines := []*string{jsii.String("**Top clients** (CloudWatch, Contributor Insights):")}
	for _, r := range contributorRules {
		lines = append(lines, jsii.String(fmt.Sprintf("\n* by %s: ", r.what)), a.ContributorRules[r.id].AttrRuleName())
	}
	top := []awscloudwatch.IWidget{awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
		Markdown: awscdk.Fn_Join(jsii.String(""), &lines), Width: jsii.Number(24), Height: jsii.Number(4),
	})}
	rows = append(rows, top)
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	a.Dashboard = awscloudwatch.NewDashboard(a.Construct, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{Widgets: &widgets})
}

// suspend gives the function behind the API what its route check needs to
// refuse suspended clients: the ids suspended in configuration and the table
// of those suspended without a deploy, with read access to it. It warns at
// synth, naming the routes, when a suspended client without an API key can
// still call routes the function does not serve until its tokens expire.
func (a *ScopedAPI) suspend(fn awslambda.Function, auth Authority, routes []Route) {
	server, ok := auth.(*m2mauth.AuthServer)
	if !ok {
		return
	}
	if fn != nil {
		fn.AddEnvironment(jsii.String(contract.EnvSuspendedClientsTable), server.SuspendedClients.TableName(), nil)
		// The one call lambda/suspension makes ("Actions, resources, and
		// condition keys for Amazon DynamoDB", Service Authorization
		// Reference: GetItem on the table's ARN).
		server.SuspendedClients.Grant(fn, jsii.String("dynamodb:GetItem"))
	}
	// A suspended client with an API key is refused on every route by its
	// disabled key. Naming it here too would make the function depend on
	// the client's stack, which depends on the usage plan, which depends on
	// this API's stage: a cycle.
	var keyless []*m2mauth.Client
	var ids []*string
	for _, c := range server.Suspended() {
		if c.APIKey() == nil {
			keyless = append(keyless, c)
			ids = append(ids, c.ClientID())
		}
	}
	if fn != nil && len(ids) > 0 {
		fn.AddEnvironment(jsii.String(contract.EnvSuspendedClients), awscdk.Fn_Join(jsii.String(","), &ids), nil)
	}
	var open []string
	for _, r := range routes {
		if r.Integration != nil || fn == nil {
			open = append(open, r.Method+" "+r.Path)
		}
	}
	if len(keyless) == 0 || len(open) == 0 {
		return
	}
	names := make([]string, len(keyless))
	for i, c := range keyless {
		names[i] = c.Name
	}
	sort.Strings(open)
	awscdk.Annotations_Of(a.Construct).AddWarningV2(jsii.String("scopegate:suspendedClientReachesRoutes"), jsii.String(fmt.Sprintf(
		"suspended clients %s have no API key, and routes %s are not served by a function that checks suspensions: tokens they already hold keep opening those routes for up to %v, until they expire",
		strings.Join(names, ", "), strings.Join(open, ", "), m2mauth.LongestTokenLifetime(keyless))))
}
