package rotate_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognitotypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth/rotator/rotate"
)

// cognitoServer answers Cognito's JSON protocol: the first throttled
// requests with TooManyRequestsException (all when throttled < 0), then
// AddUserPoolClientSecret with a secret, or every request with errCode when
// it is set.
type cognitoServer struct {
	*httptest.Server
	mu        sync.Mutex
	throttled int
	errCode   string
	status    int
	requests  int
}

func newCognitoServer(t *testing.T, throttled int) *cognitoServer {
	s := &cognitoServer{throttled: throttled}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests++
		n, code, status := s.requests, s.errCode, s.status
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if s.throttled < 0 || n <= s.throttled {
			code, status = "TooManyRequestsException", http.StatusBadRequest
		}
		if code != "" {
			w.Header().Set("X-Amzn-ErrorType", code)
			w.WriteHeader(status)
			w.Write([]byte(`{"__type":"` + code + `","message":"injected ` + code + `"}`))
			return
		}
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".AddUserPoolClientSecret") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"ClientSecretDescriptor":{"ClientSecretId":"c--2","ClientSecretValue":"value"}}`))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *cognitoServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// recordingRand returns the largest value below n and records n: the
// ceilings of the jittered delays.
type recordingRand struct {
	mu       sync.Mutex
	ceilings []time.Duration
}

func (r *recordingRand) Int64N(n int64) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ceilings = append(r.ceilings, time.Duration(n))
	return n - 1
}

// fastRetry is NewCognitoRetryer's configuration with delays short enough
// for a test.
func fastRetry(rnd *recordingRand) rotate.CognitoRetryOptions {
	return rotate.CognitoRetryOptions{
		BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond, Reserve: 50 * time.Millisecond, Rand: rnd.Int64N,
		OtherBackoff: retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil }),
	}
}

func cognitoClient(s *cognitoServer, r aws.Retryer) *cognitoidentityprovider.Client {
	return cognitoidentityprovider.New(cognitoidentityprovider.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL), Credentials: aws.AnonymousCredentials{},
		HTTPClient: s.Client(), Retryer: r,
	})
}

func addSecret(ctx context.Context, c *cognitoidentityprovider.Client) error {
	_, err := c.AddUserPoolClientSecret(ctx, &cognitoidentityprovider.AddUserPoolClientSecretInput{UserPoolId: aws.String(pool), ClientId: aws.String(clientID)})
	return err
}

// The SDK's standard retryer already retries TooManyRequestsException; the
// configured one does it with Cognito's backoff: a call throttled twice
// succeeds on the third attempt, after jittered delays of exponential
// ceilings.
func TestCognitoRetryThrottledAddSucceedsOnThirdAttempt(t *testing.T) {
	s := newCognitoServer(t, 2)
	rnd := &recordingRand{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, addSecret(ctx, cognitoClient(s, rotate.NewCognitoRetryer(fastRetry(rnd)))))
	assert.Equal(t, 3, s.count())
	assert.Equal(t, []time.Duration{time.Millisecond, 2 * time.Millisecond}, rnd.ceilings, "full jitter under BaseDelay << (n-1)")
}

// The delays grow to MaxDelay and stay there; the attempts stop at
// MaxAttempts with an error that says the call was throttled.
func TestCognitoRetryBackoffIsBoundedAndJittered(t *testing.T) {
	s := newCognitoServer(t, -1)
	rnd := &recordingRand{}
	o := fastRetry(rnd)
	o.MaxAttempts = 6
	err := addSecret(context.Background(), cognitoClient(s, rotate.NewCognitoRetryer(o)))
	require.Error(t, err)
	assert.Equal(t, 6, s.count())
	assert.Equal(t, []time.Duration{1, 2, 4, 4, 4}, divide(rnd.ceilings, time.Millisecond))
	var tooMany *cognitotypes.TooManyRequestsException
	assert.ErrorAs(t, err, &tooMany)
	assert.ErrorContains(t, err, "exceeded maximum number of attempts, 6")
}

func divide(ds []time.Duration, unit time.Duration) []time.Duration {
	var out []time.Duration
	for _, d := range ds {
		out = append(out, d/unit)
	}
	return out
}

// A call throttled until the deadline stops retrying once less than Reserve
// + MaxDelay is left, and says it was throttled.
func TestCognitoRetryThrottledUntilTheDeadline(t *testing.T) {
	s := newCognitoServer(t, -1)
	rnd := &recordingRand{}
	o := fastRetry(rnd)
	o.MaxAttempts = 1000
	o.Reserve = 100 * time.Millisecond
	deadline := time.Now().Add(400 * time.Millisecond)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	err := addSecret(ctx, cognitoClient(s, rotate.NewCognitoRetryer(o)))
	require.Error(t, err)
	// No delay reaches into the reserve; the attempt after the last one may,
	// by its duration (a local request: well under half the reserve).
	assert.True(t, time.Now().Before(deadline.Add(-o.Reserve/2)), "gave up at the reserve")
	assert.NoError(t, ctx.Err(), "before the deadline")
	assert.Greater(t, s.count(), 3, "retried until then")
	var throttled *rotate.ThrottledError
	require.ErrorAs(t, err, &throttled)
	assert.Less(t, throttled.Left, o.Reserve+o.MaxDelay)
	assert.ErrorContains(t, err, "throttled by Cognito (TooManyRequestsException) until")
	assert.ErrorContains(t, err, "TooManyRequestsException: injected TooManyRequestsException")
}

// The deadline check with a fake clock: retried while Reserve + MaxDelay is
// left, not after; errors other than throttling are not its business.
func TestCognitoRetryDeadlineCheck(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	r := rotate.NewCognitoRetryer(rotate.CognitoRetryOptions{Now: func() time.Time { return now }})
	throttle := &cognitotypes.TooManyRequestsException{Message: aws.String("Rate exceeded")}
	at := func(left time.Duration) context.Context {
		ctx, cancel := context.WithDeadline(context.Background(), now.Add(left))
		t.Cleanup(cancel)
		return ctx
	}
	_, err := r.GetRetryToken(at(rotate.DefaultCognitoReserve+rotate.DefaultCognitoMaxDelay), throttle)
	assert.NoError(t, err)
	_, err = r.GetRetryToken(at(rotate.DefaultCognitoReserve+rotate.DefaultCognitoMaxDelay-time.Millisecond), throttle)
	var throttled *rotate.ThrottledError
	assert.ErrorAs(t, err, &throttled)
	_, err = r.GetRetryToken(context.Background(), throttle)
	assert.NoError(t, err, "no deadline: MaxAttempts bounds the retries")
	assert.Equal(t, rotate.DefaultCognitoMaxAttempts, r.MaxAttempts())
}

// Errors other than throttling: a client error is not retried, nor Cognito's
// LimitExceededException (the client's two secrets, not a rate); a server
// error is retried as by every other client, three attempts.
func TestCognitoRetryOtherErrors(t *testing.T) {
	for _, c := range []struct {
		code     string
		status   int
		attempts int
	}{
		{"InvalidParameterException", http.StatusBadRequest, 1},
		{"NotAuthorizedException", http.StatusBadRequest, 1},
		{"LimitExceededException", http.StatusBadRequest, 1},
		{"InternalErrorException", http.StatusInternalServerError, 3},
	} {
		t.Run(c.code, func(t *testing.T) {
			s := newCognitoServer(t, 0)
			s.errCode, s.status = c.code, c.status
			rnd := &recordingRand{}
			err := addSecret(context.Background(), cognitoClient(s, rotate.NewCognitoRetryer(fastRetry(rnd))))
			require.Error(t, err)
			assert.ErrorContains(t, err, c.code)
			assert.NotContains(t, err.Error(), "throttled")
			assert.Equal(t, c.attempts, s.count())
			assert.Empty(t, rnd.ceilings, "no throttling backoff")
		})
	}
}

// A Cognito call that stays throttled fails the step with an error that
// says so, and changes nothing.
func TestThrottledCognitoFailsTheStepSayingSo(t *testing.T) {
	e := setup(t)
	e.cognito.failNext("AddUserPoolClientSecret", &cognitotypes.TooManyRequestsException{Message: aws.String("Rate exceeded")})
	err := e.rotate("t1")
	assert.ErrorContains(t, err, "createSecret of secret "+secretARN+": AddUserPoolClientSecret for client "+clientID+": throttled by Cognito, retries exhausted")
	e.currentWorks("v0")
	require.NoError(t, e.rotate("t1"))
	e.currentWorks("t1")

	e = setup(t)
	e.cognito.failNext("ListUserPoolClientSecrets", errors.Join(&cognitotypes.TooManyRequestsException{Message: aws.String("Rate exceeded")}, &rotate.ThrottledError{Left: time.Second}))
	err = e.rotate("t1")
	assert.ErrorContains(t, err, "ListUserPoolClientSecrets of client "+clientID+": TooManyRequestsException: Rate exceeded")
	assert.ErrorContains(t, err, "throttled by Cognito (TooManyRequestsException) until 1s before the invocation's deadline")
	assert.NotContains(t, err.Error(), "retries exhausted")
}
