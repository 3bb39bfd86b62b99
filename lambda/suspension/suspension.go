// Package suspension answers, inside a function behind a ScopedAPI, whether
// the caller's client is suspended: in configuration (the client ids in
// SCOPEGATE_SUSPENDED_CLIENTS, fixed at deploy) or without a deploy (an item
// in the suspended-clients table named by SCOPEGATE_SUSPENDED_TABLE, which
// bin/clients suspend writes). A Checker implements routeauth.Suspensions;
// with neither variable set there is no Checker and nothing changes.
//
// Client-credentials access tokens cannot be revoked at Cognito (see
// docs/operations.md), so this check, run on every request, is what stops
// tokens already issued to a suspended client on the routes whose function
// re-checks.
package suspension

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/lambda/awsenv"
	"github.com/scopegate/scopegate/lambda/routeauth"
)

// DefaultLookupTimeout bounds one read of the table, retries included: the
// check runs before every request, so a slow table must not make every
// request slow (on a timeout the check fails open, see Check).
const DefaultLookupTimeout = 500 * time.Millisecond

// GetItemAPI is the one DynamoDB call the check makes.
type GetItemAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// Checker refuses suspended clients. Its zero value is not usable; build it
// with New or FromEnv. It is safe for concurrent use.
type Checker struct {
	configured map[string]bool
	table      string
	client     GetItemAPI
	logger     *slog.Logger

	// TTL is how long an answer read from the table is trusted, suspended
	// or not: contract.SuspensionCacheTTL unless a test shortens it.
	TTL time.Duration
	// LookupTimeout bounds each read. Default: DefaultLookupTimeout.
	LookupTimeout time.Duration
	// Now is the clock; tests move it.
	Now func() time.Time

	mu    sync.Mutex
	cache map[string]answer
}

// answer is one client's last read from the table.
type answer struct {
	suspended bool
	readAt    time.Time
}

// New builds a Checker from the configured ids (the value of
// SCOPEGATE_SUSPENDED_CLIENTS, comma-separated) and, when table is not
// empty, the suspended-clients table read through client.
func New(configuredIDs, table string, client GetItemAPI, logger *slog.Logger) (*Checker, error) {
	if table != "" && client == nil {
		return nil, errors.New("suspension: a table without a DynamoDB client")
	}
	configured := map[string]bool{}
	for _, id := range strings.Split(configuredIDs, ",") {
		if id = strings.TrimSpace(id); id != "" {
			configured[id] = true
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Checker{
		configured: configured, table: table, client: client, logger: logger,
		TTL: contract.SuspensionCacheTTL, LookupTimeout: DefaultLookupTimeout, Now: time.Now,
		cache: map[string]answer{},
	}, nil
}

// FromEnv builds the Checker a function's main needs from
// contract.EnvSuspendedClients and contract.EnvSuspendedClientsTable, with
// a DynamoDB client configured as package awsenv configures every
// function's (AWS_ENDPOINT_URL_DYNAMODB honoured). With neither variable
// set it returns nil, nil: a nil *Checker refuses nobody.
func FromEnv(logger *slog.Logger) (*Checker, error) {
	ids, table := os.Getenv(contract.EnvSuspendedClients), os.Getenv(contract.EnvSuspendedClientsTable)
	if strings.TrimSpace(ids) == "" && table == "" {
		return nil, nil
	}
	var client GetItemAPI
	if table != "" {
		cfg, err := awsenv.Config()
		if err != nil {
			return nil, err
		}
		client = dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
			if endpoint := awsenv.Endpoint("DYNAMODB"); endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
		})
	}
	return New(ids, table, client, logger)
}

// Check returns an error wrapping routeauth.ErrClientSuspended when the
// client is suspended, and nil otherwise. A nil Checker suspends nobody.
//
// A client suspended in configuration is refused without a read. Otherwise
// the table is read (a strongly consistent GetItem by client id) at most
// once per TTL per client id, and both answers are cached: a client not
// suspended costs one read per TTL, not one per request.
//
// When the table cannot be read (an error or LookupTimeout), the check
// fails open: it answers with the last answer it read for that client if it
// has one, however old, and otherwise lets the request through, and logs
// the error either way. Failing closed would turn a DynamoDB outage or a
// missing grant into an outage of the whole API for every client, to guard
// against the rare client suspended without a deploy; that client is still
// cut off by its disabled API key (tiered clients) and can get no new token,
// and a client suspended in configuration is refused whatever the table
// does. A client this function has already seen suspended stays refused.
func (c *Checker) Check(ctx context.Context, clientID string) error {
	if c == nil {
		return nil
	}
	if c.configured[clientID] {
		return suspended(clientID, "in configuration")
	}
	if c.table == "" || clientID == "" {
		return nil
	}
	now := c.Now()
	c.mu.Lock()
	last, seen := c.cache[clientID]
	c.mu.Unlock()
	if seen && now.Sub(last.readAt) < c.TTL {
		return last.verdict(clientID)
	}
	found, err := c.read(ctx, clientID)
	if err != nil {
		c.logger.ErrorContext(ctx, "suspended-clients table unreadable; failing open", "client_id", clientID, "table", c.table, "error", err.Error(), "last_answer_known", seen, "last_answer_suspended", last.suspended)
		if seen {
			return last.verdict(clientID)
		}
		return nil
	}
	c.mu.Lock()
	c.cache[clientID] = answer{suspended: found, readAt: now}
	c.mu.Unlock()
	return answer{suspended: found}.verdict(clientID)
}

func (a answer) verdict(clientID string) error {
	if a.suspended {
		return suspended(clientID, "without a deploy")
	}
	return nil
}

func suspended(clientID, how string) error {
	return fmt.Errorf("%w: client %s is suspended (%s)", routeauth.ErrClientSuspended, clientID, how)
}

// read reports whether the table holds an item for the client.
func (c *Checker) read(ctx context.Context, clientID string) (bool, error) {
	timeout := c.LookupTimeout
	if timeout <= 0 {
		timeout = DefaultLookupTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := c.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(c.table),
		Key:       map[string]types.AttributeValue{contract.SuspensionKey: &types.AttributeValueMemberS{Value: clientID}},
		// DynamoDB developer guide, "DynamoDB read consistency": an
		// eventually consistent read may miss a write made just before;
		// a strongly consistent one does not, and the cache keeps its
		// doubled read cost to one read per client per TTL.
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#k"),
		ExpressionAttributeNames: map[string]string{"#k": contract.SuspensionKey},
	})
	if err != nil {
		return false, err
	}
	return len(out.Item) > 0, nil
}
