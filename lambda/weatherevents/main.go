// Command weatherevents is the weather-events Lambda function. It only wires
// dependencies and starts the runtime; the service is in package api.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scopegate/scopegate/lambda/weatherevents/api"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
	"github.com/scopegate/scopegate/routetable"
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

// lambdaAWSConfig reads the region and the execution role's credentials from
// the variables the Lambda runtime sets, which is all config.LoadDefaultConfig
// would find in a Lambda environment. Skipping it leaves out the shared-config,
// SSO, STS and IMDS code: 3 MB, a third of the bootstrap (see BENCHMARKS.md).
func lambdaAWSConfig() (aws.Config, error) {
	region, key, secret := os.Getenv("AWS_REGION"), os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if region == "" || key == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (the Lambda runtime sets them)")
	}
	return aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))),
	}, nil
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
	cfg, err := lambdaAWSConfig()
	if err != nil {
		return nil, err
	}
	return &api.Server{
		Store:  &weather.DynamoStore{Client: dynamodb.NewFromConfig(cfg), Table: table},
		Routes: routes,
		Logger: logger,
		Now:    time.Now,
	}, nil
}
