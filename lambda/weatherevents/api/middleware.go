package api

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/scopegate/scopegate/lambda/routeauth"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
)

// recoverPanics answers a handler panic with a JSON 500. aws-lambda-go would
// recover it too, but report it as an invocation error, which API Gateway
// turns into a 502 without a body.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				s.Logger.ErrorContext(r.Context(), "handler panicked", "panic", p, "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, "internal_error", "the server failed", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// logRequests writes one JSON line per request (see logRequest), with the
// status the request was answered with, a panic's 500 included: it wraps
// recoverPanics.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, ok := r.Context().Value(invocationStartKey{}).(time.Time)
		if !ok {
			start = s.Now()
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		rc, _ := apiGatewayContext(r)
		s.logRequest(r.Context(), start, r.Method, rec.status, rc)
	})
}

// invocationStartKey holds when HandleEvent started, so that latency counts
// the event's conversion too.
type invocationStartKey struct{}

// logRequest writes the one JSON line every request gets, served or refused,
// whether the handler ran or the event was refused while it was converted:
// the API Gateway request id, the client id, the route API Gateway matched,
// the status, the latency since start, and the Lambda request id when the
// context has one. It never logs headers (the Authorization header is a
// bearer credential) or bodies. extra adds attributes (why an event was
// refused).
func (s *Server) logRequest(ctx context.Context, start time.Time, method string, status int, rc events.APIGatewayProxyRequestContext, extra ...any) {
	attrs := []any{
		"method", method,
		"status", status,
		"latency_ms", float64(s.Now().Sub(start).Microseconds()) / 1000,
		"request_id", rc.RequestID,
		"route", strings.TrimSpace(rc.HTTPMethod + " " + rc.ResourcePath),
		"client_id", logClientID(rc.Authorizer),
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc != nil {
		attrs = append(attrs, "lambda_request_id", lc.AwsRequestID)
	}
	s.Logger.InfoContext(ctx, "request", append(attrs, extra...)...)
}

// logClientID is the client_id claim for the log: read on its own, so that
// a request refused for another malformed claim (a scope that is not a
// string, say) still names its client. Empty when there are no claims or no
// string client_id; it is never used to authorize anything.
func logClientID(authorizer map[string]any) string {
	if c, err := routeauth.ClaimsFromAuthorizer(authorizer); err == nil {
		return c.ClientID
	}
	claims, _ := authorizer["claims"].(map[string]any)
	id, _ := claims["client_id"].(string)
	return id
}

// statusRecorder keeps the status the response was sent with: the first
// one written, as net/http and the Lambda response writer do.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

type errorBody struct {
	Error   string               `json:"error"`
	Message string               `json:"message"`
	Fields  []weather.FieldError `json:"fields,omitempty"`
}

func marshalError(code, message string, fields []weather.FieldError) ([]byte, error) {
	return json.Marshal(errorBody{Error: code, Message: message, Fields: fields})
}

func writeError(w http.ResponseWriter, status int, code, message string, fields []weather.FieldError) {
	writeJSON(w, status, errorBody{Error: code, Message: message, Fields: fields})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal_error","message":"the response could not be encoded"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
