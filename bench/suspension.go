package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/clients"
	"github.com/scopegate/scopegate/internal/testkit/awsfake"
	"github.com/scopegate/scopegate/local/lambdart"
)

// suspendPoll is how often the suspension row sends the suspended client's
// request while it waits for the first refusal: the figure is exact to
// about this much.
const suspendPoll = 250 * time.Millisecond

// suspensionRow measures an emergency suspension end to end: the time from
// `bin/clients suspend` (internal/clients against local fakes of
// CloudFormation, STS, API Gateway and Cognito, and the suspended-clients
// table in dynalite) to the first request of that client refused by the
// built function, whose copy had read the client as not suspended just
// before, so its cache (contract.SuspensionCacheTTL) is the worst case: the
// production code path, with the production TTL.
func (e *fnEnv) suspensionRow(ctx context.Context) (row, error) {
	table := "bench-suspended"
	if err := e.dynalite.CreateTable(ctx, table, contract.SuspensionKey); err != nil {
		return row{}, fmt.Errorf("creating %s: %w", table, err)
	}
	e.tables++
	f := &fnFunction{events: fmt.Sprintf("bench-events-%d", e.tables), keys: fmt.Sprintf("bench-keys-%d", e.tables)}
	if err := e.dynalite.CreateTable(ctx, f.events, "id"); err != nil {
		return row{}, err
	}
	if err := e.dynalite.CreateTable(ctx, f.keys, "key"); err != nil {
		return row{}, err
	}
	var err error
	f.Function, err = lambdart.Start(ctx, e.binary, append(e.fnVars(f), contract.EnvSuspendedClientsTable+"="+table))
	if err != nil {
		return row{}, err
	}
	defer f.Stop()

	// The stack, as bin/clients reads it.
	fake := awsfake.New()
	defer fake.Close()
	records, err := json.Marshal([]contract.ClientRecord{{Name: "bench", ClientID: "bench-client", SecretArn: "arn:secret:bench", Scopes: []string{"weather-api/get"}, Tier: "gold", APIKeyID: "k-bench"}})
	if err != nil {
		return row{}, err
	}
	fake.Stack("Bench", map[string]string{contract.Clients("Auth"): string(records), contract.SuspendedClientsTable("Auth"): table, contract.UserPoolID("Auth"): "pool"})
	fake.APIKeys(map[string]any{"id": "k-bench", "enabled": true})
	fake.UserPoolClients("pool", map[string]any{"ClientId": "bench-client", "ClientName": "bench", "AllowedOAuthFlows": []any{"client_credentials"}, "AllowedOAuthFlowsUserPoolClient": true, "AllowedOAuthScopes": []any{"weather-api/get"}})
	fake.Reply("sts", "GetCallerIdentity", `<Arn>arn:aws:iam::123456789012:user/bench</Arn><UserId>AIDABENCH</UserId><Account>123456789012</Account>`)
	cfg := fake.Config()
	tool := &clients.Tool{
		CloudFormation: cloudformation.NewFromConfig(cfg), APIGateway: apigateway.NewFromConfig(cfg),
		Cognito: cognitoidentityprovider.NewFromConfig(cfg), STS: sts.NewFromConfig(cfg), DynamoDB: e.dynalite.Client(),
	}

	// Served, and the answer cached.
	if s, err := f.invoke(ctx, fnGet(), 5*time.Second); err != nil || s.err != nil || s.resp.StatusCode != http.StatusOK {
		return row{}, fmt.Errorf("before the suspension: %v %v status %d", err, s.err, s.resp.StatusCode)
	}
	begin := time.Now()
	if err := tool.Suspend(ctx, "Bench", "bench", "bench", io.Discard); err != nil {
		return row{}, err
	}
	command := time.Since(begin)
	requests := 0
	for {
		s, err := f.invoke(ctx, fnGet(), 5*time.Second)
		if err != nil {
			return row{}, err
		}
		requests++
		if s.err == nil && s.resp.StatusCode == http.StatusForbidden {
			break
		}
		if time.Since(begin) > 2*contract.SuspensionCacheTTL+command {
			return row{}, fmt.Errorf("the suspended client was still served %v after the command", time.Since(begin))
		}
		time.Sleep(suspendPoll)
	}
	total := time.Since(begin)
	return row{
		what:  "emergency suspension: `bin/clients suspend` to the first refused request (function cache included)",
		value: fmt.Sprintf("%.1f s (command %s, %d requests served meanwhile; cache TTL %s; goal < 60 s)", total.Seconds(), ms(command), requests-1, contract.SuspensionCacheTTL),
		how: fmt.Sprintf("after one GET / served (the function caches the client as not suspended), internal/clients Tool.Suspend against awsfake (CloudFormation, STS, API Gateway, Cognito) and dynalite, then GET / every %v through the host build of ./lambda/weatherevents (lambdart) with %s set, until a 403; time.Since from the command's start",
			suspendPoll, contract.EnvSuspendedClientsTable),
	}, nil
}
