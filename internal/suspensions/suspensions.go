// Package suspensions reads and writes the suspended-clients table (one
// contract.Suspension per client suspended without a deploy) for the
// operator tools: bin/clients writes and deletes items, and its report and
// bin/verify -preflight list them. The functions only read the key, through
// package lambda/suspension.
package suspensions

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scopegate/scopegate/contract"
)

// ReadAPI is what List needs.
type ReadAPI interface {
	dynamodb.ScanAPIClient
}

// WriteAPI is what Put, Get and Delete need.
type WriteAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

func item(s contract.Suspension) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{contract.SuspensionKey: &types.AttributeValueMemberS{Value: s.ClientID}}
	for k, v := range map[string]string{contract.SuspensionClientName: s.ClientName, contract.SuspensionBy: s.By, contract.SuspensionAt: s.At, contract.SuspensionReason: s.Reason} {
		if v != "" { // DynamoDB refuses empty strings only in keys, but an absent attribute says "not recorded" better
			m[k] = &types.AttributeValueMemberS{Value: v}
		}
	}
	return m
}

func fromItem(m map[string]types.AttributeValue) contract.Suspension {
	str := func(k string) string {
		if v, ok := m[k].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	return contract.Suspension{ClientID: str(contract.SuspensionKey), ClientName: str(contract.SuspensionClientName), By: str(contract.SuspensionBy), At: str(contract.SuspensionAt), Reason: str(contract.SuspensionReason)}
}

func key(clientID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{contract.SuspensionKey: &types.AttributeValueMemberS{Value: clientID}}
}

// List reads every item of the table (a paginated, strongly consistent
// Scan: the table holds one small item per suspended client), sorted by
// client name then id.
func List(ctx context.Context, db ReadAPI, table string) ([]contract.Suspension, error) {
	var out []contract.Suspension
	pages := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the suspended-clients table %s: %w", table, err)
		}
		for _, it := range page.Items {
			out = append(out, fromItem(it))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ClientName != out[j].ClientName {
			return out[i].ClientName < out[j].ClientName
		}
		return out[i].ClientID < out[j].ClientID
	})
	return out, nil
}

// Get reads one client's item; ok is false when there is none.
func Get(ctx context.Context, db WriteAPI, table, clientID string) (s contract.Suspension, ok bool, err error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key(clientID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return contract.Suspension{}, false, fmt.Errorf("reading the suspended-clients table %s: %w", table, err)
	}
	if len(out.Item) == 0 {
		return contract.Suspension{}, false, nil
	}
	return fromItem(out.Item), true, nil
}

// Put writes s unless the client already has an item, in which case it
// returns that item and created false: a second suspend keeps who
// suspended the client first, and when.
func Put(ctx context.Context, db WriteAPI, table string, s contract.Suspension) (existing contract.Suspension, created bool, err error) {
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table), Item: item(s),
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": contract.SuspensionKey},
	})
	// DynamoDB API reference, PutItem: a false ConditionExpression fails
	// with ConditionalCheckFailedException.
	var exists *types.ConditionalCheckFailedException
	if errors.As(err, &exists) {
		existing, _, err := Get(ctx, db, table, s.ClientID)
		return existing, false, err
	}
	if err != nil {
		return contract.Suspension{}, false, fmt.Errorf("writing the suspended-clients table %s: %w", table, err)
	}
	return s, true, nil
}

// Delete removes the client's item and returns it; ok is false when there
// was none.
func Delete(ctx context.Context, db WriteAPI, table, clientID string) (old contract.Suspension, ok bool, err error) {
	out, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: key(clientID), ReturnValues: types.ReturnValueAllOld})
	if err != nil {
		return contract.Suspension{}, false, fmt.Errorf("writing the suspended-clients table %s: %w", table, err)
	}
	if len(out.Attributes) == 0 {
		return contract.Suspension{}, false, nil
	}
	return fromItem(out.Attributes), true, nil
}
