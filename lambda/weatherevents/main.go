// Command weatherevents is the weather-events Lambda function. It only wires
// dependencies and starts the runtime; the service is in package api.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scopegate/scopegate/lambda/routeauth"
	"github.com/scopegate/scopegate/lambda/weatherevents/api"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
)

// TableEnvVar names the DynamoDB table the function stores events in.
const TableEnvVar = "TABLE_NAME"

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	server, err := newServer(logger)
	if err != nil {
		// Fail the cold start loudly: a function without its route table or
		// table must not serve anything.
		logger.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(server.HandleEvent)
}

func newServer(logger *slog.Logger) (*api.Server, error) {
	routes, err := routeauth.ParseTable(os.Getenv(routeauth.EnvVar))
	if err != nil {
		return nil, err
	}
	table := os.Getenv(TableEnvVar)
	if table == "" {
		return nil, fmt.Errorf("%s is not set", TableEnvVar)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return &api.Server{
		Store:  &weather.DynamoStore{Client: dynamodb.NewFromConfig(cfg), Table: table},
		Routes: routes,
		Logger: logger,
		Now:    time.Now,
	}, nil
}
