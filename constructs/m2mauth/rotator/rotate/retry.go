package rotate

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// Cognito throttling. AddUserPoolClientSecret and DeleteUserPoolClientSecret
// count in Cognito's UserPoolClientUpdate category: 5 requests per second per
// user pool, 15 per account, not adjustable (Amazon Cognito Developer Guide,
// "Quotas in Amazon Cognito"). Rotations of many clients at once (a deploy
// of many secrets rotates each at once) are throttled: Cognito answers
// TooManyRequestsException.
//
// The SDK's standard retryer (aws-sdk-go-v2 aws/retry, DefaultRetryables)
// already retries TooManyRequestsException: it is one of
// retry.DefaultThrottleErrorCodes. So the Cognito client is not wrapped in a
// second retry loop: its standard retryer is configured for the quota
// instead (NewCognitoRetryer), with more attempts and a longer, jittered
// backoff for throttling errors, bounded by the invocation's deadline, and
// without the client-wide retry quota (its token bucket would fail calls
// with "retry quota exceeded" after about 100 throttled retries, across the
// invocations of one warm function).

// Defaults of CognitoRetryOptions.
const (
	DefaultCognitoMaxAttempts = 10
	DefaultCognitoBaseDelay   = 200 * time.Millisecond
	DefaultCognitoMaxDelay    = 2 * time.Second
	DefaultCognitoReserve     = 2 * time.Second
)

// CognitoRetryOptions configure NewCognitoRetryer. Zero values are the
// defaults.
type CognitoRetryOptions struct {
	// MaxAttempts bounds the attempts of a throttled call (the first
	// included). Default DefaultCognitoMaxAttempts.
	MaxAttempts int
	// The delay before retry n (1 for the first) of a throttled call is
	// uniform in [0, min(MaxDelay, BaseDelay << (n-1))): full jitter, so that
	// the rotations throttled together do not retry together. Defaults
	// DefaultCognitoBaseDelay and DefaultCognitoMaxDelay.
	BaseDelay, MaxDelay time.Duration
	// Reserve is kept from the call's context deadline: a throttled call is
	// not retried when less than Reserve + MaxDelay is left, so that no delay
	// reaches into the last Reserve (the attempt after it may, by its own
	// duration), and fails with a ThrottledError. Default
	// DefaultCognitoReserve.
	Reserve time.Duration
	// OtherMaxAttempts and OtherBackoff are the attempts and backoff of the
	// other retryable errors (connection errors, 5xx), as for every other
	// client. Defaults 3 and the standard retryer's backoff.
	OtherMaxAttempts int
	OtherBackoff     retry.BackoffDelayer
	// Rand returns a uniform int64 in [0, n); default math/rand/v2.Int64N.
	Rand func(n int64) int64
	// Now is the clock of the deadline check; default time.Now.
	Now func() time.Time
}

// ThrottledError is the error of a call Cognito throttled until too little
// of the invocation's time was left to retry it.
type ThrottledError struct {
	// Left is the time that was left before the context's deadline.
	Left time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled by Cognito (TooManyRequestsException) until %s before the invocation's deadline: not retried again", e.Left.Round(time.Millisecond))
}

// NewCognitoRetryer is the Cognito client's retryer: the SDK's standard
// retryer, configured for Cognito's throttling (see CognitoRetryOptions).
// It does not retry Cognito's LimitExceededException, which the standard
// retryer counts as throttling but which, for AddUserPoolClientSecret, means
// the client already has its two secrets: no retry changes that.
func NewCognitoRetryer(o CognitoRetryOptions) aws.RetryerV2 {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultCognitoMaxAttempts
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = DefaultCognitoBaseDelay
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = DefaultCognitoMaxDelay
	}
	if o.Reserve <= 0 {
		o.Reserve = DefaultCognitoReserve
	}
	if o.OtherMaxAttempts <= 0 {
		o.OtherMaxAttempts = retry.DefaultMaxAttempts
	}
	if o.OtherBackoff == nil {
		o.OtherBackoff = retry.NewExponentialJitterBackoff(retry.DefaultMaxBackoff)
	}
	if o.Rand == nil {
		o.Rand = rand.Int64N
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &cognitoRetryer{o: o}
	c.Standard = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = o.MaxAttempts
		so.MaxBackoff = o.MaxDelay
		so.RateLimiter = ratelimit.None
		so.Backoff = retry.BackoffDelayerFunc(c.backoff)
		so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if hasCode(err, "LimitExceededException") {
				return aws.FalseTernary
			}
			return aws.UnknownTernary
		})}, so.Retryables...)
	})
	return c
}

type cognitoRetryer struct {
	*retry.Standard
	o CognitoRetryOptions
}

// isThrottle says whether err is one of the SDK's throttling errors, except
// LimitExceededException (see NewCognitoRetryer).
func isThrottle(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() == "LimitExceededException" {
		return false
	}
	_, ok := retry.DefaultThrottleErrorCodes[apiErr.ErrorCode()]
	return ok
}

// backoff is the delay before retry attempt (1 for the first).
func (c *cognitoRetryer) backoff(attempt int, err error) (time.Duration, error) {
	if !isThrottle(err) {
		if attempt >= c.o.OtherMaxAttempts {
			return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
		}
		return c.o.OtherBackoff.BackoffDelay(attempt, err)
	}
	ceiling := c.o.MaxDelay
	if shift := max(attempt-1, 0); shift < 32 {
		ceiling = min(ceiling, c.o.BaseDelay<<shift)
	}
	return time.Duration(c.o.Rand(int64(ceiling))), nil
}

// GetRetryToken refuses to retry a throttled call when less than Reserve +
// MaxDelay is left before the context's deadline. The SDK's retry middleware
// calls it before each retry, with the call's context, and returns its error
// joined to the throttling error.
func (c *cognitoRetryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	if isThrottle(opErr) {
		if deadline, ok := ctx.Deadline(); ok {
			if left := deadline.Sub(c.o.Now()); left < c.o.Reserve+c.o.MaxDelay {
				return nil, &ThrottledError{Left: left}
			}
		}
	}
	return c.Standard.GetRetryToken(ctx, opErr)
}

// cognitoErr names Cognito's throttling in err, a Cognito call's error, which
// the Cognito client's retryer retried for as long as it could.
func cognitoErr(err error) error {
	var t *ThrottledError
	if isThrottle(err) && !errors.As(err, &t) {
		return fmt.Errorf("throttled by Cognito, retries exhausted: %w", err)
	}
	return err
}
