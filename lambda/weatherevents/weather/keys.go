package weather

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// An idempotency key (the Idempotency-Key header of a POST) names one
// creation: the first request with it decides the event's id and time, and
// every retry with the same key and body converges on that one event. Keys
// are scoped to the client that sent them and expire (DynamoDB TTL deletes
// the record once expiresAt has passed).
const (
	KeyLifetime = 24 * time.Hour
	// TTLAttribute is the keys table's TTL attribute (epoch seconds).
	TTLAttribute = "expiresAt"
)

// KeyActions are the IAM actions DynamoKeys needs on its table.
var KeyActions = []string{"dynamodb:PutItem", "dynamodb:GetItem"}

// KeyRecord is what the first request with a key decided.
type KeyRecord struct {
	// Key is the client-scoped key (see ScopedKey).
	Key string
	// BodyHash is the SHA-256 of the request body, hex.
	BodyHash  string
	EventID   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Keys keeps idempotency keys.
type Keys interface {
	// Claim records rec unless its key is taken, and returns the record that
	// holds (rec, or the first one) and whether it is rec.
	Claim(ctx context.Context, rec KeyRecord) (KeyRecord, bool, error)
}

// ScopedKey is the stored form of a client's key: one client cannot replay,
// or block, another's keys.
func ScopedKey(clientID, key string) string {
	sum := sha256.Sum256([]byte(clientID + "\x00" + key))
	return hex.EncodeToString(sum[:])
}

// BodyHash is the hash a key's record keeps of the request body.
func BodyHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// DynamoKeys keeps keys in a DynamoDB table whose partition key is the
// string attribute "key", with TTL on TTLAttribute.
type DynamoKeys struct {
	Client DynamoAPI
	Table  string
}

// Claim puts the record if the key is free (or its record has expired but
// not yet been deleted by TTL), and otherwise reads the record that holds.
func (k *DynamoKeys) Claim(ctx context.Context, rec KeyRecord) (KeyRecord, bool, error) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	_, err := k.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(k.Table),
		Item: map[string]types.AttributeValue{
			"key":        s(rec.Key),
			"bodyHash":   s(rec.BodyHash),
			"eventId":    s(rec.EventID),
			"createdAt":  s(rec.CreatedAt.UTC().Format(time.RFC3339Nano)),
			TTLAttribute: &types.AttributeValueMemberN{Value: strconv.FormatInt(rec.ExpiresAt.Unix(), 10)},
		},
		ConditionExpression:       aws.String("attribute_not_exists(#k) OR #ttl < :now"),
		ExpressionAttributeNames:  map[string]string{"#k": "key", "#ttl": TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(rec.CreatedAt.Unix(), 10)}},
	})
	var conditional *types.ConditionalCheckFailedException
	if err == nil {
		return rec, true, nil
	}
	if !errors.As(err, &conditional) {
		return KeyRecord{}, false, err
	}
	out, err := k.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(k.Table),
		Key:            map[string]types.AttributeValue{"key": s(rec.Key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return KeyRecord{}, false, err
	}
	held, err := keyFromItem(out.Item)
	return held, false, err
}

func keyFromItem(item map[string]types.AttributeValue) (KeyRecord, error) {
	str := func(name string) string {
		v, _ := item[name].(*types.AttributeValueMemberS)
		if v == nil {
			return ""
		}
		return v.Value
	}
	rec := KeyRecord{Key: str("key"), BodyHash: str("bodyHash"), EventID: str("eventId")}
	created, err := time.Parse(time.RFC3339Nano, str("createdAt"))
	if err != nil || rec.Key == "" || rec.EventID == "" {
		return KeyRecord{}, errors.New("idempotency key record is incomplete")
	}
	rec.CreatedAt = created
	if n, ok := item[TTLAttribute].(*types.AttributeValueMemberN); ok {
		if secs, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			rec.ExpiresAt = time.Unix(secs, 0)
		}
	}
	return rec, nil
}
