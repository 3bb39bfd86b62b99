package suspension_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/testkit/dynalitetest"
	"github.com/scopegate/scopegate/lambda/routeauth"
	"github.com/scopegate/scopegate/lambda/suspension"
)

var dynalite *dynalitetest.Server

func TestMain(m *testing.M) { dynalitetest.Main(m, func(s *dynalitetest.Server) { dynalite = s }) }

// clock is a test clock the checker reads.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingClient counts the reads that reach DynamoDB.
type countingClient struct {
	*dynamodb.Client
	mu    sync.Mutex
	reads int
}

func (c *countingClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.Client.GetItem(ctx, in, opts...)
}

func newTable(t *testing.T) string {
	t.Helper()
	name := "suspended-" + t.Name()
	require.NoError(t, dynalite.CreateTable(context.Background(), name, contract.SuspensionKey))
	return name
}

func suspend(t *testing.T, table, id string) {
	t.Helper()
	_, err := dynalite.Client().PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
		contract.SuspensionKey: &types.AttributeValueMemberS{Value: id},
		"by":                   &types.AttributeValueMemberS{Value: "arn:aws:iam::123456789012:user/oncall"},
	}})
	require.NoError(t, err)
}

func TestNoVariablesNoChecker(t *testing.T) {
	t.Setenv(contract.EnvSuspendedClients, "")
	t.Setenv(contract.EnvSuspendedClientsTable, "")
	c, err := suspension.FromEnv(nil)
	require.NoError(t, err)
	assert.Nil(t, c)
	assert.NoError(t, c.Check(context.Background(), "anyone"), "a nil checker suspends nobody")
}

func TestConfiguredClientsAreRefusedWithoutARead(t *testing.T) {
	client := &countingClient{Client: dynalite.Client()}
	c, err := suspension.New(" a1 ,b2,", newTable(t), client, nil)
	require.NoError(t, err)
	for _, id := range []string{"a1", "b2"} {
		err := c.Check(context.Background(), id)
		require.ErrorIs(t, err, routeauth.ErrClientSuspended)
		assert.Equal(t, "client is suspended: client "+id+" is suspended (in configuration)", err.Error())
	}
	assert.Zero(t, client.reads)
	assert.NoError(t, c.Check(context.Background(), "c3"))
}

// Both answers are cached for the TTL: a suspension written after a client
// was read as not suspended takes effect when the TTL has passed, and not
// one read sooner; a resume likewise.
func TestAnswersAreCachedForTheTTL(t *testing.T) {
	table := newTable(t)
	client := &countingClient{Client: dynalite.Client()}
	c, err := suspension.New("", table, client, nil)
	require.NoError(t, err)
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.Now = clk.Now
	ctx := context.Background()

	require.NoError(t, c.Check(ctx, "p1"))
	suspend(t, table, "p1")
	clk.add(contract.SuspensionCacheTTL - time.Second)
	assert.NoError(t, c.Check(ctx, "p1"), "the negative answer is trusted for the TTL")
	assert.Equal(t, 1, client.reads)

	clk.add(time.Second)
	assert.ErrorIs(t, c.Check(ctx, "p1"), routeauth.ErrClientSuspended)
	assert.Equal(t, 2, client.reads)

	_, err = dynalite.Client().DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table), Key: map[string]types.AttributeValue{
		contract.SuspensionKey: &types.AttributeValueMemberS{Value: "p1"}}})
	require.NoError(t, err)
	clk.add(contract.SuspensionCacheTTL - time.Second)
	assert.ErrorIs(t, c.Check(ctx, "p1"), routeauth.ErrClientSuspended, "the positive answer is trusted for the TTL")
	clk.add(time.Second)
	assert.NoError(t, c.Check(ctx, "p1"), "resumed once the TTL passed")
	assert.Equal(t, 3, client.reads)
}

// A table that cannot be read fails open for a client never read, keeps the
// last answer for one read before, and logs the error each time.
func TestUnreadableTableFailsOpenButKeepsKnownSuspensions(t *testing.T) {
	table := newTable(t)
	suspend(t, table, "known")
	var logs bytes.Buffer
	swap := &swappingClient{GetItemAPI: dynalite.Client()}
	c, err := suspension.New("", table, swap, slog.New(slog.NewJSONHandler(&logs, nil)))
	require.NoError(t, err)
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.Now = clk.Now
	ctx := context.Background()
	require.ErrorIs(t, c.Check(ctx, "known"), routeauth.ErrClientSuspended)

	swap.fail = errors.New("AccessDeniedException: not authorized to perform dynamodb:GetItem")
	clk.add(time.Hour)
	assert.ErrorIs(t, c.Check(ctx, "known"), routeauth.ErrClientSuspended, "a client seen suspended stays refused")
	assert.NoError(t, c.Check(ctx, "stranger"), "fails open for a client never read")
	assert.Equal(t, 2, bytes.Count(logs.Bytes(), []byte(`"msg":"suspended-clients table unreadable; failing open"`)), logs.String())
	assert.Contains(t, logs.String(), `"client_id":"stranger"`)
}

// A table that does not answer is given up on after LookupTimeout.
func TestHangingTableIsBoundedByTheLookupTimeout(t *testing.T) {
	c, err := suspension.New("", "t", hangingClient{}, nil)
	require.NoError(t, err)
	c.LookupTimeout = 50 * time.Millisecond
	start := time.Now()
	assert.NoError(t, c.Check(context.Background(), "x"))
	assert.Less(t, time.Since(start), 5*time.Second)
}

type swappingClient struct {
	suspension.GetItemAPI
	fail error
}

func (s *swappingClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if s.fail != nil {
		return nil, s.fail
	}
	return s.GetItemAPI.GetItem(ctx, in, opts...)
}

type hangingClient struct{}

func (hangingClient) GetItem(ctx context.Context, _ *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
