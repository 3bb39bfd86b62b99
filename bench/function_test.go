package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func TestPercentile(t *testing.T) {
	var xs []time.Duration
	for i := 300; i >= 1; i-- { // unsorted on purpose
		xs = append(xs, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{
		{50, 150 * time.Millisecond},  // rank ceil(150) = 150
		{99, 297 * time.Millisecond},  // rank ceil(297) = 297
		{100, 300 * time.Millisecond}, // the max
		{0, 1 * time.Millisecond},     // rank 0 counts as the min
	} {
		if got := percentile(xs, tc.p); got != tc.want {
			t.Errorf("percentile(1..300 ms, %v) = %v, want %v", tc.p, got, tc.want)
		}
	}
	if xs[0] != 300*time.Millisecond {
		t.Error("percentile sorted its argument")
	}
	if got := percentile([]time.Duration{3, 1, 2}, 50); got != 2 {
		t.Errorf("median of 3 = %v, want 2", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of nothing = %v", got)
	}
}

func TestFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 7733374: "7,733,374", 12345678901: "12,345,678,901"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		1510 * time.Microsecond:  "1.51 ms",
		10200 * time.Microsecond: "10.2 ms",
		1002 * time.Millisecond:  "1.002 s",
		-2 * time.Millisecond:    "-2.00 ms",
	} {
		if got := ms(d); got != want {
			t.Errorf("ms(%v) = %q, want %q", d, got, want)
		}
	}
}

// The events have the shape API Gateway's Lambda proxy integration sends
// with a Cognito authorizer.
func TestFnRequest(t *testing.T) {
	var e events.APIGatewayProxyRequest
	if err := json.Unmarshal(fnRequest("POST", "/{id}", "/abc", "weather-api/post", "k1", fnEventBody), &e); err != nil {
		t.Fatal(err)
	}
	claims, _ := e.RequestContext.Authorizer["claims"].(map[string]any)
	if e.PathParameters["id"] != "abc" || e.RequestContext.Path != "/weather/abc" || claims["scope"] != "weather-api/post" ||
		e.MultiValueHeaders["Idempotency-Key"][0] != `"k1"` || e.MultiValueHeaders["Content-Type"][0] != "application/json" || e.Body != fnEventBody {
		t.Errorf("event: %+v", e)
	}
}
