package binarytest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
)

// asClient is the request as the given client sends it.
func asClient(e events.APIGatewayProxyRequest, clientID string) events.APIGatewayProxyRequest {
	claims := e.RequestContext.Authorizer["claims"].(map[string]any)
	copied := map[string]any{}
	for k, v := range claims {
		copied[k] = v
	}
	copied["client_id"] = clientID
	e.RequestContext.Authorizer = map[string]any{"claims": copied}
	return e
}

// The built binary, with both suspension variables set: a client suspended
// in configuration and one suspended in the table (written before its first
// request, so no cached answer hides it) are refused on every route with a
// 403 naming the client; another client is served on every route.
func TestBinaryRefusesSuspendedClientsOnEveryRoute(t *testing.T) {
	table := "suspended-clients"
	require.NoError(t, dynalite.CreateTable(context.Background(), table, contract.SuspensionKey))
	_, err := dynalite.Client().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		contract.SuspensionKey: &types.AttributeValueMemberS{Value: "leaked-partner"},
		"clientName":           &types.AttributeValueMemberS{Value: "partner"},
		"by":                   &types.AttributeValueMemberS{Value: "arn:aws:iam::123456789012:user/oncall"},
	}})
	require.NoError(t, err)
	f := start(t, contract.EnvSuspendedClients+"=config-suspended,other", contract.EnvSuspendedClientsTable+"="+table)

	routes := []events.APIGatewayProxyRequest{
		request("GET", "/", "/", "weather-api/get", "", ""),
		request("POST", "/", "/", "weather-api/post", "k-susp", event),
		request("GET", "/{id}", "/no-such-event", "weather-api/get", "", ""),
		request("DELETE", "/{id}", "/no-such-event", "weather-api/delete", "", ""),
	}
	for _, id := range []string{"config-suspended", "leaked-partner"} {
		for _, r := range routes {
			resp, _ := f.invoke(t, asClient(r, id), 5*time.Second)
			assert.Equal(t, http.StatusForbidden, resp.StatusCode, "%s %s as %s: %s", r.HTTPMethod, r.Resource, id, resp.Body)
			var body map[string]string
			require.NoError(t, json.Unmarshal([]byte(resp.Body), &body))
			assert.Equal(t, "access_denied", body["error"])
			assert.Contains(t, body["message"], "client "+id+" is suspended")
			assert.Equal(t, []string{`Bearer error="invalid_token", error_description="the client is suspended"`}, resp.MultiValueHeaders["Www-Authenticate"])
		}
	}
	assert.Zero(t, f.stored(t), "no suspended client's POST was stored")
	for _, r := range routes {
		resp, _ := f.invoke(t, asClient(r, "client-1"), 5*time.Second)
		assert.NotEqual(t, http.StatusForbidden, resp.StatusCode, "%s %s as client-1: %s", r.HTTPMethod, r.Resource, resp.Body)
		assert.Less(t, resp.StatusCode, 500, resp.Body)
	}
	assert.Equal(t, 1, f.stored(t), "the client not suspended was served")
	f.requestLines(t)
}
