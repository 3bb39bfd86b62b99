package weather

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Store keeps weather events.
type Store interface {
	Create(ctx context.Context, e Event) error
	Get(ctx context.Context, id string) (Event, error)
	List(ctx context.Context, limit int, cursor string) (Page, error)
	Delete(ctx context.Context, id string) error
}

// Page is one page of a listing. Next is empty on the last page.
type Page struct {
	Events []Event
	Next   string
}

// Errors a Store returns for the caller's mistakes.
var (
	ErrNotFound  = errors.New("event not found")
	ErrExists    = errors.New("event already exists")
	ErrBadCursor = errors.New("cursor is not one this service issued")
)

// DynamoActions are the IAM actions DynamoStore needs, and all the function's
// role is granted on its events table.
var DynamoActions = []string{"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:DeleteItem"}

// DynamoAPI is the part of the DynamoDB client the stores use, matching
// DynamoActions and KeyActions.
type DynamoAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, opts ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// DynamoStore stores events in a DynamoDB table whose partition key is the
// string attribute "id".
type DynamoStore struct {
	Client DynamoAPI
	Table  string
}

// Create stores e, refusing to overwrite an event with the same id.
func (s *DynamoStore) Create(ctx context.Context, e Event) error {
	_, err := s.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.Table),
		Item:                toItem(e),
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	var conditional *types.ConditionalCheckFailedException
	if errors.As(err, &conditional) {
		return ErrExists
	}
	return err
}

// Get returns the event with the given id, or ErrNotFound. It reads
// consistently: a retried create must see the event its first attempt wrote.
func (s *DynamoStore) Get(ctx context.Context, id string) (Event, error) {
	out, err := s.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.Table),
		Key:            map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Event{}, err
	}
	if len(out.Item) == 0 {
		return Event{}, ErrNotFound
	}
	return fromItem(out.Item)
}

// List returns up to limit events after cursor, an opaque token from a
// previous page's Next.
func (s *DynamoStore) List(ctx context.Context, limit int, cursor string) (Page, error) {
	in := &dynamodb.ScanInput{TableName: aws.String(s.Table), Limit: aws.Int32(int32(limit))}
	if cursor != "" {
		id, err := decodeCursor(cursor)
		if err != nil {
			return Page{}, err
		}
		in.ExclusiveStartKey = map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
	}
	out, err := s.Client.Scan(ctx, in)
	if err != nil {
		return Page{}, err
	}
	page := Page{Events: make([]Event, 0, len(out.Items))}
	for _, item := range out.Items {
		e, err := fromItem(item)
		if err != nil {
			return Page{}, err
		}
		page.Events = append(page.Events, e)
	}
	if id, ok := out.LastEvaluatedKey["id"].(*types.AttributeValueMemberS); ok {
		page.Next = encodeCursor(id.Value)
	}
	return page, nil
}

// Delete removes the event with the given id, or returns ErrNotFound.
func (s *DynamoStore) Delete(ctx context.Context, id string) error {
	_, err := s.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(s.Table),
		Key:                 map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		ConditionExpression: aws.String("attribute_exists(id)"),
	})
	var conditional *types.ConditionalCheckFailedException
	if errors.As(err, &conditional) {
		return ErrNotFound
	}
	return err
}

func toItem(e Event) map[string]types.AttributeValue {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	return map[string]types.AttributeValue{
		"id":        s(e.ID),
		"name":      s(e.Name),
		"dateStart": s(e.DateStart),
		"dateEnd":   s(e.DateEnd),
		"createdBy": s(e.CreatedBy),
		"createdAt": s(e.CreatedAt.UTC().Format(time.RFC3339Nano)),
	}
}

func fromItem(item map[string]types.AttributeValue) (Event, error) {
	var missing []string
	s := func(key string) string {
		v, ok := item[key].(*types.AttributeValueMemberS)
		if !ok {
			missing = append(missing, key)
			return ""
		}
		return v.Value
	}
	e := Event{ID: s("id"), Name: s("name"), DateStart: s("dateStart"), DateEnd: s("dateEnd"), CreatedBy: s("createdBy")}
	created := s("createdAt")
	if len(missing) > 0 {
		return Event{}, fmt.Errorf("stored event %q lacks string attributes %v", e.ID, missing)
	}
	t, err := time.Parse(time.RFC3339Nano, created)
	if err != nil {
		return Event{}, fmt.Errorf("stored event %q: createdAt: %w", e.ID, err)
	}
	e.CreatedAt = t
	return e, nil
}

type cursorBody struct {
	ID string `json:"id"`
}

func encodeCursor(id string) string {
	b, _ := json.Marshal(cursorBody{ID: id})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) > 256 {
		return "", ErrBadCursor
	}
	var c cursorBody
	if err := json.Unmarshal(b, &c); err != nil || !ValidID(c.ID) {
		return "", ErrBadCursor
	}
	return c.ID, nil
}
