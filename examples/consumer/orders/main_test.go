package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/lambda/suspension"
	"github.com/scopegate/scopegate/routetable"
)

// A client suspended in configuration is refused on both routes with 403
// access_denied; another is served; without a checker nobody is refused.
func TestSuspendedClientIsRefusedOnEveryRoute(t *testing.T) {
	routes := routetable.Table{
		{Method: "GET", Path: "/orders", Scopes: []string{"orders/read"}},
		{Method: "POST", Path: "/orders", Scopes: []string{"orders/write"}},
	}
	checker, err := suspension.New("suspended-id", "", nil, nil)
	require.NoError(t, err)
	call := func(h func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error), method, client string) events.APIGatewayProxyResponse {
		resp, err := h(context.Background(), events.APIGatewayProxyRequest{RequestContext: events.APIGatewayProxyRequestContext{
			HTTPMethod: method, ResourcePath: "/orders",
			Authorizer: map[string]any{"claims": map[string]any{"token_use": "access", "client_id": client, "scope": "orders/read orders/write"}},
		}})
		require.NoError(t, err)
		return resp
	}
	for _, method := range []string{"GET", "POST"} {
		refused := call(handler(routes, checker), method, "suspended-id")
		assert.Equal(t, http.StatusForbidden, refused.StatusCode, method)
		assert.JSONEq(t, `{"error":"access_denied"}`, refused.Body)
		assert.Equal(t, http.StatusOK, call(handler(routes, checker), method, "other-id").StatusCode, method)
		assert.Equal(t, http.StatusOK, call(handler(routes, nil), method, "suspended-id").StatusCode, method)
	}
}
