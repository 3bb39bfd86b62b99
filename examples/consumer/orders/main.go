// Command orders is the consumer's function: it re-checks each caller's
// scopes against the route table its ScopedAPI handed over, refuses clients
// the stack suspended, then answers.
package main

import (
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/scopegate/scopegate/lambda/routeauth"
	"github.com/scopegate/scopegate/lambda/suspension"
	"github.com/scopegate/scopegate/routetable"
)

func main() {
	routes, err := routetable.Load()
	if err != nil {
		log.Fatal(err) // no table, no service: refuse to start
	}
	// Nil, refusing nobody, unless the stack set the suspension variables.
	suspensions, err := suspension.FromEnv(slog.New(slog.NewJSONHandler(os.Stdout, nil)))
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(handler(routes, suspensions))
}

func handler(routes routetable.Table, suspensions *suspension.Checker) func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		claims, err := routeauth.Authorize(routes, e.RequestContext)
		if err == nil {
			err = suspensions.Check(ctx, claims.ClientID)
		}
		if err != nil {
			r := routeauth.Refuse(err)
			return reply(r.Status, map[string]string{"error": r.Code}, r.Challenge), nil
		}
		return reply(http.StatusOK, map[string]string{"client": claims.ClientID, "route": e.RequestContext.HTTPMethod + " " + e.RequestContext.ResourcePath}, ""), nil
	}
}

func reply(status int, body map[string]string, challenge string) events.APIGatewayProxyResponse {
	data, _ := json.Marshal(body)
	headers := map[string]string{"Content-Type": "application/json"}
	if challenge != "" {
		headers["WWW-Authenticate"] = challenge
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Headers: headers, Body: string(data)}
}
