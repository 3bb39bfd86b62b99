// Command weatherevents is the weather-events Lambda function. It only wires
// dependencies and starts the runtime; the service is in package api.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scopegate/scopegate/lambda/awsenv"
	"github.com/scopegate/scopegate/lambda/suspension"
	"github.com/scopegate/scopegate/lambda/weatherevents/api"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
	"github.com/scopegate/scopegate/routetable"

	"github.com/scopegate/scopegate/contract"
)

// The function's configuration, set by the stack.
const (
	// TableEnvVar names the DynamoDB table the function stores events in.
	TableEnvVar = contract.EnvEventsTable
	// KeysTableEnvVar names the table of idempotency keys (TTL on
	// weather.TTLAttribute).
	KeysTableEnvVar = contract.EnvIdempotencyTable
	// StorageTimeoutEnvVar bounds each storage call, in milliseconds.
	// Default: api.DefaultStorageTimeout.
	StorageTimeoutEnvVar = contract.EnvStorageTimeoutMS
)

func main() {
	logger := awsenv.Logger()
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
	routes, err := routetable.Load()
	if err != nil {
		return nil, err
	}
	table := os.Getenv(TableEnvVar)
	if table == "" {
		return nil, fmt.Errorf("%s is not set", TableEnvVar)
	}
	storageTimeout := api.DefaultStorageTimeout
	if v := os.Getenv(StorageTimeoutEnvVar); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 1 {
			return nil, fmt.Errorf("%s %q must be a positive number of milliseconds", StorageTimeoutEnvVar, v)
		}
		storageTimeout = time.Duration(ms) * time.Millisecond
	}
	// Region, credentials, endpoints (AWS_ENDPOINT_URL_DYNAMODB, so the same
	// binary runs against a local DynamoDB) and the bounded retries: see
	// package awsenv.
	cfg, err := awsenv.Config()
	if err != nil {
		return nil, err
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint := awsenv.Endpoint("DYNAMODB"); endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	server := &api.Server{
		Store:          &weather.DynamoStore{Client: client, Table: table},
		Routes:         routes,
		Logger:         logger,
		Now:            time.Now,
		StorageTimeout: storageTimeout,
	}
	// The suspended clients: none unless the stack sets
	// SCOPEGATE_SUSPENDED_CLIENTS or SCOPEGATE_SUSPENDED_TABLE.
	suspensions, err := suspension.FromEnv(logger)
	if err != nil {
		return nil, err
	}
	if suspensions != nil {
		server.Suspensions = suspensions
	}
	if keys := os.Getenv(KeysTableEnvVar); keys != "" {
		server.Keys = &weather.DynamoKeys{Client: client, Table: keys}
	}
	return server, nil
}
