package weather

import (
	"context"
	"errors"
	"net"

	"github.com/aws/smithy-go"
)

// Unavailable reports whether a storage error means the store is slow,
// down or throttling, rather than refusing this request: the caller should
// retry later (503 with Retry-After), not give up.
func Unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
			"InternalServerError", "ServiceUnavailable", "LimitExceededException":
			return true
		}
		return apiErr.ErrorFault() == smithy.FaultServer
	}
	return false
}
