package verify

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/servicequotas"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/scopegate/scopegate/internal/suspensions"
)

// The AWS calls -preflight makes, all read-only (and DynamoDB Scan of the
// suspended-clients tables: suspensions.ReadAPI).
type (
	// PreflightAPIGateway: GetAccount, GetUsagePlans, GetApiKeys.
	PreflightAPIGateway interface {
		GetAccount(context.Context, *apigateway.GetAccountInput, ...func(*apigateway.Options)) (*apigateway.GetAccountOutput, error)
		apigateway.GetUsagePlansAPIClient
		apigateway.GetApiKeysAPIClient
	}
	// PreflightLambda: GetAccountSettings, GetFunctionConcurrency.
	PreflightLambda interface {
		GetAccountSettings(context.Context, *lambda.GetAccountSettingsInput, ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error)
		GetFunctionConcurrency(context.Context, *lambda.GetFunctionConcurrencyInput, ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error)
	}
	// PreflightCloudFormation: DescribeStacks (CDKToolkit),
	// ListStackResources (the assembly's stacks, when already deployed).
	PreflightCloudFormation interface {
		CloudFormationAPI
		cloudformation.ListStackResourcesAPIClient
	}
	// PreflightSSM: GetParameter (the bootstrap version parameter).
	PreflightSSM interface {
		GetParameter(context.Context, *ssm.GetParameterInput, ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	}
)

// Preflight checks, before cdk deploy, what in the target account would make
// the assembly's deploy fail.
type Preflight struct {
	APIGateway     PreflightAPIGateway
	Lambda         PreflightLambda
	CloudFormation PreflightCloudFormation
	ServiceQuotas  servicequotas.ListServiceQuotasAPIClient
	SSM            PreflightSSM
	// DynamoDB scans the deployed suspended-clients tables (nil: that
	// check cannot tell).
	DynamoDB suspensions.ReadAPI
}

// Defaults, used when Service Quotas does not answer.
const (
	// Cognito developer guide, "Quotas in Amazon Cognito", "Quotas on
	// resource number and size": app clients per user pool 1,000, resource
	// servers per user pool 25 (both adjustable).
	defaultAppClientsPerPool      = 1000
	defaultResourceServersPerPool = 25
	// API Gateway developer guide, "Amazon API Gateway quotas": usage plans
	// per account per Region 300 (adjustable), API keys per account per
	// Region 10,000 (not adjustable).
	defaultUsagePlans = 300
	defaultAPIKeys    = 10000
	// Lambda developer guide, "Configuring reserved concurrency for a
	// function" and the PutFunctionConcurrency API reference: Lambda keeps
	// at least 100 units of concurrency unreserved; a reservation that would
	// leave less fails.
	minUnreserved = 100
	// CDK developer guide, "Bootstrapping": the default bootstrap stack.
	toolkitStack = "CDKToolkit"
)

// deployedStack is what ListStackResources says of an assembly stack already
// deployed: physical ids by logical id (top-level template only).
type deployedStack map[string]string

// Run reads nothing but the assembly and the account; every check gets one
// line.
func (p *Preflight) Run(ctx context.Context, a *Assembly) *Checks {
	names := make([]string, len(a.Stacks))
	for i, s := range a.Stacks {
		names[i] = s.StackName
	}
	out := &Checks{Mode: "preflight", Target: strings.Join(names, ", ")}
	deployed, deployedNote := p.deployedStacks(ctx, a)
	out.add(p.checkBootstrap(ctx, a))
	out.add(p.checkAPIGatewayLogging(ctx, a))
	out.add(p.checkConcurrency(ctx, a, deployed, deployedNote))
	out.Checks = append(out.Checks, p.checkCognito(ctx, a)...)
	out.Checks = append(out.Checks, p.checkUsagePlans(ctx, a, deployed, deployedNote)...)
	out.Checks = append(out.Checks, p.checkSuspensions(ctx, a)...)
	return out
}

// deployedStacks lists the resources of the assembly's stacks that are
// already deployed. A stack that does not exist is left out; one that cannot
// be read is left out too, and the note says so (the checks then count it
// as new, which errs towards a problem).
func (p *Preflight) deployedStacks(ctx context.Context, a *Assembly) (map[string]deployedStack, string) {
	out := map[string]deployedStack{}
	var unread []string
	for _, s := range a.Stacks {
		res := deployedStack{}
		pages := cloudformation.NewListStackResourcesPaginator(p.CloudFormation, &cloudformation.ListStackResourcesInput{StackName: aws.String(s.StackName)})
		var err error
		for pages.HasMorePages() {
			var page *cloudformation.ListStackResourcesOutput
			if page, err = pages.NextPage(ctx); err != nil {
				break
			}
			for _, r := range page.StackResourceSummaries {
				res[aws.ToString(r.LogicalResourceId)] = aws.ToString(r.PhysicalResourceId)
			}
		}
		switch {
		case err == nil:
			out[s.StackName] = res
		case !stackMissing(err):
			unread = append(unread, s.StackName)
		}
	}
	if len(unread) > 0 {
		return out, fmt.Sprintf("could not read deployed stack(s) %s, counted as new", strings.Join(unread, ", "))
	}
	return out, ""
}

// stackMissing: CloudFormation API reference, DescribeStacks /
// ListStackResources: a stack that does not exist is a ValidationError
// "Stack with id NAME does not exist".
func stackMissing(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationError" && strings.Contains(apiErr.ErrorMessage(), "does not exist")
}

// why is an AWS error in a line: its code and message, or the error.
func why(call string, err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return fmt.Sprintf("%s: %s: %s", call, apiErr.ErrorCode(), apiErr.ErrorMessage())
	}
	return fmt.Sprintf("%s: %v", call, err)
}

// checkBootstrap: the CDKToolkit stack's BootstrapVersion output (CDK
// developer guide, "Bootstrapping": the bootstrap template outputs
// BootstrapVersion and writes it to the SSM parameter
// /cdk-bootstrap/<qualifier>/version, which the templates' BootstrapVersion
// parameter and CheckBootstrapVersion rule read) must be at least what every
// stack requires (manifest: requiresBootstrapStackVersion).
func (p *Preflight) checkBootstrap(ctx context.Context, a *Assembly) Check {
	ch := Check{Name: "cdk-bootstrap"}
	required, param := 0, ""
	for _, s := range a.Stacks {
		if s.RequiresBootstrap > required {
			required, param = s.RequiresBootstrap, s.BootstrapParameter
		}
	}
	if required == 0 {
		ch.Status, ch.Detail = StatusOK, "the assembly's stacks require no bootstrap version"
		return ch
	}
	ch.Expected = fmt.Sprintf("stack %s with BootstrapVersion >= %d", toolkitStack, required)
	out, err := p.CloudFormation.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(toolkitStack)})
	switch {
	case stackMissing(err) || (err == nil && len(out.Stacks) == 0):
		ch.Status, ch.Seen = StatusProblem, "no "+toolkitStack+" stack"
		ch.Detail = "run `npx cdk bootstrap` once in this account and region"
		return ch
	case err != nil:
		ch.Status, ch.Detail = StatusUnknown, why("cloudformation DescribeStacks "+toolkitStack, err)
		return ch
	}
	version, source := "", "output BootstrapVersion"
	for _, o := range out.Stacks[0].Outputs {
		if aws.ToString(o.OutputKey) == "BootstrapVersion" {
			version = aws.ToString(o.OutputValue)
		}
	}
	if version == "" {
		source = "SSM parameter " + param
		got, err := p.SSM.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param)})
		if err != nil {
			ch.Status, ch.Detail = StatusUnknown, "the "+toolkitStack+" stack has no BootstrapVersion output; "+why("ssm GetParameter "+param, err)
			return ch
		}
		if got.Parameter != nil {
			version = aws.ToString(got.Parameter.Value)
		}
	}
	n, err := strconv.Atoi(version)
	if err != nil {
		ch.Status, ch.Detail = StatusUnknown, fmt.Sprintf("%s is %q, not a number", source, version)
		return ch
	}
	ch.Seen = fmt.Sprintf("version %d (%s)", n, source)
	if n < required {
		ch.Status, ch.Detail = StatusProblem, "run `npx cdk bootstrap` with the project's CDK CLI to upgrade the bootstrap stack"
		return ch
	}
	ch.Status = StatusOK
	return ch
}

// loggingStages lists the stages of the assembly that write access logs or
// execution logs: AWS::ApiGateway::Stage with AccessLogSetting or a
// MethodSettings LoggingLevel other than OFF, or an AWS::ApiGateway::Deployment
// whose StageDescription has either.
func loggingStages(a *Assembly) (stages []string, hasAccount bool) {
	for _, s := range a.Stacks {
		for _, t := range s.Templates {
			for _, id := range t.IDs() {
				r := t.Resources[id]
				props := r.Properties
				switch r.Type {
				case "AWS::ApiGateway::Account":
					hasAccount = true
					continue
				case "AWS::ApiGateway::Deployment":
					props, _ = props["StageDescription"].(map[string]any)
				case "AWS::ApiGateway::Stage":
				default:
					continue
				}
				logs := props["AccessLogSetting"] != nil
				if level, _ := props["LoggingLevel"].(string); level != "" && level != "OFF" {
					logs = true
				}
				settings, _ := props["MethodSettings"].([]any)
				for _, m := range settings {
					ms, _ := m.(map[string]any)
					if level, _ := ms["LoggingLevel"].(string); level != "" && level != "OFF" {
						logs = true
					}
				}
				if logs {
					stages = append(stages, s.StackName+"/"+id)
				}
			}
		}
	}
	return stages, hasAccount
}

// checkAPIGatewayLogging: API Gateway developer guide, "Set up CloudWatch
// logging for REST APIs in API Gateway": execution and access logging need
// the account's CloudWatch Logs role, set in the API Gateway account settings
// (GetAccount's cloudwatchRoleArn; API Gateway REST API reference,
// "GetAccount"), once per account and region; without it, creating a stage
// with logging fails ("CloudWatch Logs role ARN must be set in account
// settings to enable logging"). AWS::ApiGateway::Account in the assembly
// sets it (CloudFormation user guide, "AWS::ApiGateway::Account").
func (p *Preflight) checkAPIGatewayLogging(ctx context.Context, a *Assembly) Check {
	ch := Check{Name: "apigateway-cloudwatch-role"}
	stages, hasAccount := loggingStages(a)
	switch {
	case len(stages) == 0:
		ch.Status, ch.Detail = StatusOK, "no stage in the assembly writes logs"
		return ch
	case hasAccount:
		ch.Status, ch.Detail = StatusOK, "the assembly sets the account's role itself (AWS::ApiGateway::Account)"
		return ch
	}
	ch.Expected = "a cloudwatchRoleArn in API Gateway's account settings (stages with logs: " + strings.Join(stages, ", ") + ")"
	out, err := p.APIGateway.GetAccount(ctx, &apigateway.GetAccountInput{})
	if err != nil {
		ch.Status, ch.Detail = StatusUnknown, why("apigateway GetAccount", err)
		return ch
	}
	if aws.ToString(out.CloudwatchRoleArn) == "" {
		ch.Status, ch.Seen = StatusProblem, "none"
		ch.Detail = `name exactly one stack in cdk.json "scopegate": {"apiGatewayCloudWatchRoleStack": "WeatherEvents"}, or set a role in the API Gateway console's settings`
		return ch
	}
	ch.Status, ch.Seen = StatusOK, aws.ToString(out.CloudwatchRoleArn)
	return ch
}

// checkConcurrency: Lambda's GetAccountSettings (Lambda API reference:
// AccountLimit.ConcurrentExecutions, UnreservedConcurrentExecutions) against
// the ReservedConcurrentExecutions of the assembly's functions. A function of
// a deployed stack's top-level template already holds its reservation
// (GetFunctionConcurrency), so only the increase counts; functions of nested
// stacks are counted in full (their stacks are not listed), which errs high.
func (p *Preflight) checkConcurrency(ctx context.Context, a *Assembly, deployed map[string]deployedStack, deployedNote string) Check {
	ch := Check{Name: "lambda-reserved-concurrency"}
	total, need := 0, 0
	var notes []string
	for _, s := range a.Stacks {
		for ti, t := range s.Templates {
			for _, id := range t.IDs() {
				r := t.Resources[id]
				if r.Type != "AWS::Lambda::Function" {
					continue
				}
				n := intProperty(r.Properties["ReservedConcurrentExecutions"])
				if n == 0 {
					continue
				}
				total += n
				physical := ""
				if ti == 0 {
					physical = deployed[s.StackName][id]
				}
				if physical == "" {
					need += n
					continue
				}
				cur, err := p.Lambda.GetFunctionConcurrency(ctx, &lambda.GetFunctionConcurrencyInput{FunctionName: aws.String(physical)})
				if err != nil {
					notes = append(notes, why("lambda GetFunctionConcurrency "+physical, err)+", counted in full")
					need += n
					continue
				}
				need += max(0, n-int(aws.ToInt32(cur.ReservedConcurrentExecutions)))
			}
		}
	}
	if total == 0 {
		ch.Status, ch.Detail = StatusOK, "no function in the assembly reserves concurrency"
		return ch
	}
	if deployedNote != "" {
		notes = append(notes, deployedNote)
	}
	ch.Expected = fmt.Sprintf("unreserved concurrency - %d newly reserved >= %d (the assembly reserves %d)", need, minUnreserved, total)
	out, err := p.Lambda.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	if err != nil {
		ch.Status, ch.Detail = StatusUnknown, why("lambda GetAccountSettings", err)
		return ch
	}
	var limit, unreserved int
	if out.AccountLimit != nil {
		limit = int(out.AccountLimit.ConcurrentExecutions)
		unreserved = int(aws.ToInt32(out.AccountLimit.UnreservedConcurrentExecutions))
	}
	ch.Seen = fmt.Sprintf("account limit %d, unreserved %d", limit, unreserved)
	if unreserved-need < minUnreserved {
		ch.Status = StatusProblem
		notes = append([]string{fmt.Sprintf("would leave %d unreserved; lower \"reservedConcurrency\" in cdk.json, or ask for a higher Lambda concurrent executions quota (Service Quotas)", unreserved-need)}, notes...)
	} else {
		ch.Status = StatusOK
	}
	ch.Detail = strings.Join(notes, "; ")
	return ch
}

func intProperty(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case string:
		i, _ := strconv.Atoi(n)
		return i
	}
	return 0
}

// appliedQuota reads a quota's applied value from Service Quotas
// (ListServiceQuotas, Service Quotas API reference; paginated), matching
// its QuotaName case-insensitively against match, since this package knows
// no documented quota code for these quotas. It returns the default and a
// note when Service Quotas does not answer or lists no such quota.
func (p *Preflight) appliedQuota(ctx context.Context, service, match string, def int) (int, string) {
	if p.ServiceQuotas == nil {
		return def, fmt.Sprintf("default quota %d (Service Quotas not asked)", def)
	}
	pages := servicequotas.NewListServiceQuotasPaginator(p.ServiceQuotas, &servicequotas.ListServiceQuotasInput{ServiceCode: aws.String(service)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return def, fmt.Sprintf("default quota %d (%s)", def, why("servicequotas ListServiceQuotas "+service, err))
		}
		for _, q := range page.Quotas {
			if strings.Contains(strings.ToLower(aws.ToString(q.QuotaName)), match) && q.Value != nil {
				return int(*q.Value), fmt.Sprintf("quota %d from Service Quotas (%q)", int(*q.Value), aws.ToString(q.QuotaName))
			}
		}
	}
	return def, fmt.Sprintf("default quota %d (Service Quotas lists no %q quota for %s)", def, match, service)
}

// poolKey names a user pool of the assembly.
type poolKey struct{ stack, template, id string }

// checkCognito: the app clients (AWS::Cognito::UserPoolClient) and resource
// servers (AWS::Cognito::UserPoolResourceServer) the assembly puts in each
// user pool, against the quotas per pool (Cognito developer guide, "Quotas
// in Amazon Cognito"). Clients already in a deployed pool that the stack
// does not manage are not counted (that would take a ListUserPoolClients per
// pool); the assembly's own clients are all counted.
func (p *Preflight) checkCognito(ctx context.Context, a *Assembly) []Check {
	clients, servers := map[poolKey]int{}, map[poolKey]int{}
	for _, s := range a.Stacks {
		for _, t := range s.Templates {
			for _, id := range t.IDs() {
				r := t.Resources[id]
				var counts map[poolKey]int
				switch r.Type {
				case "AWS::Cognito::UserPoolClient":
					counts = clients
				case "AWS::Cognito::UserPoolResourceServer":
					counts = servers
				default:
					continue
				}
				key := poolKey{s.StackName, "", "(a pool outside the assembly)"}
				if pt, pid, ok := t.Resolve(r.Properties["UserPoolId"]); ok {
					key = poolKey{s.StackName, pt.File, pid}
				}
				counts[key]++
			}
		}
	}
	var out []Check
	for _, q := range []struct {
		name, match string
		def         int
		counts      map[poolKey]int
	}{
		{"cognito-app-clients-per-pool", "app clients per user pool", defaultAppClientsPerPool, clients},
		{"cognito-resource-servers-per-pool", "resource servers per user pool", defaultResourceServersPerPool, servers},
	} {
		ch := Check{Name: q.name}
		if len(q.counts) == 0 {
			ch.Status, ch.Detail = StatusOK, "none in the assembly"
			out = append(out, ch)
			continue
		}
		quota, note := p.appliedQuota(ctx, "cognito-idp", q.match, q.def)
		keys := make([]poolKey, 0, len(q.counts))
		for k := range q.counts {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].stack+keys[i].id < keys[j].stack+keys[j].id })
		var seen, over []string
		for _, k := range keys {
			seen = append(seen, fmt.Sprintf("%s/%s: %d", k.stack, k.id, q.counts[k]))
			if q.counts[k] > quota {
				over = append(over, k.stack+"/"+k.id)
			}
		}
		ch.Expected = fmt.Sprintf("at most %d per pool", quota)
		ch.Seen = strings.Join(seen, ", ")
		ch.Status, ch.Detail = StatusOK, note
		if len(over) > 0 {
			ch.Status = StatusProblem
			ch.Detail = fmt.Sprintf("%s over the quota: remove some, or raise the quota in Service Quotas (cognito-idp) and then quotas.* in cdk.json; %s", strings.Join(over, ", "), note)
		}
		out = append(out, ch)
	}
	return out
}

// checkUsagePlans: usage plans and API keys in the region (API Gateway
// REST API reference, GetUsagePlans and GetApiKeys, paginated with position
// and limit up to 500) plus those the assembly adds, against the quotas per
// account and region (API Gateway developer guide, "Amazon API Gateway
// quotas": 300 usage plans, adjustable; 10,000 API keys). Plans and keys
// that already belong to a deployed stack of the assembly (its
// ListStackResources physical ids, or for API keys the tag
// scopegate:user-pool naming a pool of such a stack) are not counted twice.
func (p *Preflight) checkUsagePlans(ctx context.Context, a *Assembly, deployed map[string]deployedStack, deployedNote string) []Check {
	adds := map[string]int{}
	owned := map[string]bool{} // physical ids of deployed resources of the assembly
	for _, s := range a.Stacks {
		for _, t := range s.Templates {
			for _, r := range t.Resources {
				adds[r.Type]++
			}
		}
		for _, physical := range deployed[s.StackName] {
			owned[physical] = true
		}
	}
	delete(owned, "")
	var out []Check
	for _, q := range []struct {
		name, typ, match string
		def              int
		list             func() ([]string, error)
	}{
		{"apigateway-usage-plans", "AWS::ApiGateway::UsagePlan", "usage plans", defaultUsagePlans, func() ([]string, error) {
			var ids []string
			pages := apigateway.NewGetUsagePlansPaginator(p.APIGateway, &apigateway.GetUsagePlansInput{Limit: aws.Int32(500)})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("%s", why("apigateway GetUsagePlans", err))
				}
				for _, p := range page.Items {
					ids = append(ids, aws.ToString(p.Id))
				}
			}
			return ids, nil
		}},
		{"apigateway-api-keys", "AWS::ApiGateway::ApiKey", "api keys", defaultAPIKeys, func() ([]string, error) {
			var ids []string
			pages := apigateway.NewGetApiKeysPaginator(p.APIGateway, &apigateway.GetApiKeysInput{Limit: aws.Int32(500)})
			for pages.HasMorePages() {
				page, err := pages.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("%s", why("apigateway GetApiKeys", err))
				}
				for _, k := range page.Items {
					// scopegate tags each client's key with its pool
					// (scopegate:user-pool): a key of a deployed pool of
					// the assembly is the assembly's own.
					if owned[k.Tags["scopegate:user-pool"]] {
						owned[aws.ToString(k.Id)] = true
					}
					ids = append(ids, aws.ToString(k.Id))
				}
			}
			return ids, nil
		}},
	} {
		ch := Check{Name: q.name}
		add := adds[q.typ]
		if add == 0 {
			ch.Status, ch.Detail = StatusOK, "the assembly adds none"
			out = append(out, ch)
			continue
		}
		ids, err := q.list()
		if err != nil {
			ch.Status, ch.Detail = StatusUnknown, err.Error()
			out = append(out, ch)
			continue
		}
		existing, own := 0, 0
		for _, id := range ids {
			if owned[id] {
				own++
			} else {
				existing++
			}
		}
		quota := q.def
		note := fmt.Sprintf("quota %d (API Gateway quotas)", quota)
		if q.typ == "AWS::ApiGateway::UsagePlan" { // the API key quota cannot be raised
			quota, note = p.appliedQuota(ctx, "apigateway", q.match, q.def)
		}
		ch.Expected = fmt.Sprintf("at most %d in the region", quota)
		ch.Seen = fmt.Sprintf("%d there (not the assembly's) + %d from the assembly = %d", existing, add, existing+add)
		notes := []string{note}
		if own > 0 {
			notes = append(notes, fmt.Sprintf("%d already deployed by the assembly's stacks, not counted twice", own))
		}
		if deployedNote != "" {
			notes = append(notes, deployedNote)
		}
		ch.Status = StatusOK
		if existing+add > quota {
			ch.Status = StatusProblem
			notes = append([]string{"delete unused ones in the region, or deploy to another region"}, notes...)
		}
		ch.Detail = strings.Join(notes, "; ")
		out = append(out, ch)
	}
	return out
}
