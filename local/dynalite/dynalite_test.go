package dynalite

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// eventsTable is a table keyed by a partition and a sort key, with a
// global secondary index: what an AWS::DynamoDB::Table declares.
func eventsTable() *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String("events"),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("at"), AttributeType: types.ScalarAttributeTypeN},
			{AttributeName: aws.String("owner"), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("at"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{IndexName: aws.String("byOwner"),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String("owner"), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll}}},
	}
}

func start(t *testing.T, dataDir string) *Server {
	t.Helper()
	s, err := Start(Options{DataDir: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func item(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk},
		"at": &types.AttributeValueMemberN{Value: "1"}, "owner": &types.AttributeValueMemberS{Value: "ops"}}
}

func has(t *testing.T, s *Server, pk string) bool {
	t.Helper()
	out, err := s.Client().GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("events"),
		Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "at": &types.AttributeValueMemberN{Value: "1"}}})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Item) > 0
}

// A table is created from its key schema and indexes, and is active when
// CreateTable returns.
func TestCreateTableFromKeySchema(t *testing.T) {
	ctx := context.Background()
	s := start(t, "")
	if err := s.CreateTable(ctx, eventsTable()); err != nil {
		t.Fatal(err)
	}
	desc, err := s.Client().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	tb := desc.Table
	if tb.TableStatus != types.TableStatusActive || len(tb.KeySchema) != 2 || aws.ToString(tb.KeySchema[1].AttributeName) != "at" || tb.KeySchema[1].KeyType != types.KeyTypeRange {
		t.Errorf("table: status %s, key schema %+v; want ACTIVE with pk HASH, at RANGE", tb.TableStatus, tb.KeySchema)
	}
	if len(tb.GlobalSecondaryIndexes) != 1 || aws.ToString(tb.GlobalSecondaryIndexes[0].IndexName) != "byOwner" {
		t.Errorf("indexes: %+v, want byOwner", tb.GlobalSecondaryIndexes)
	}
	if _, err := s.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("events"), Item: item("e1")}); err != nil {
		t.Fatal(err)
	}
	q, err := s.Client().Query(ctx, &dynamodb.QueryInput{TableName: aws.String("events"), IndexName: aws.String("byOwner"),
		KeyConditionExpression: aws.String("#o = :o"), ExpressionAttributeNames: map[string]string{"#o": "owner"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":o": &types.AttributeValueMemberS{Value: "ops"}}})
	if err != nil || q.Count != 1 {
		t.Errorf("query by the index: %v, %v; want the item", q, err)
	}
	// Creating it again (every start does) keeps it and its items.
	if err := s.CreateTable(ctx, eventsTable()); err != nil || !has(t, s, "e1") {
		t.Errorf("a second CreateTable: %v; the item must stay", err)
	}
	if err := s.CreateStringKeyTable(ctx, "suspended", "clientId"); err != nil {
		t.Fatal(err)
	}
	// A key of the wrong type is refused as DynamoDB refuses it.
	_, err = s.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("suspended"),
		Item: map[string]types.AttributeValue{"clientId": &types.AttributeValueMemberN{Value: "1"}}})
	if err == nil {
		t.Error("a number where the key schema says string was accepted")
	}
}

// With a data directory the items outlive the process (make local
// -data); without, they go with it.
func TestDataAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first := start(t, dir)
	if err := first.CreateTable(ctx, eventsTable()); err != nil {
		t.Fatal(err)
	}
	if _, err := first.Client().PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("events"), Item: item("kept")}); err != nil {
		t.Fatal(err)
	}
	pid := first.Pid()
	first.Stop()
	second := start(t, dir)
	if second.Pid() == pid {
		t.Fatal("the second server is the first process")
	}
	if err := second.CreateTable(ctx, eventsTable()); err != nil {
		t.Fatal(err)
	}
	if !has(t, second, "kept") {
		t.Error("the item written before the restart is gone with a data directory")
	}
	second.Stop()

	memory := start(t, "")
	if err := memory.CreateTable(ctx, eventsTable()); err != nil {
		t.Fatal(err)
	}
	if has(t, memory, "kept") {
		t.Error("an in-memory server sees another's items")
	}
}
