package api

import (
	"encoding/json"
	"net/http"
	"runtime/debug"

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

// logRequests writes one JSON line per request: ids, client, route, status and
// latency. It never logs headers (the Authorization header is a bearer
// credential) or bodies.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		attrs := []any{
			"method", r.Method,
			"status", rec.status,
			"latency_ms", float64(s.Now().Sub(start).Microseconds()) / 1000,
		}
		if rc, ok := apiGatewayContext(r); ok {
			attrs = append(attrs, "request_id", rc.RequestID, "route", rc.HTTPMethod+" "+rc.ResourcePath)
			if claims, err := routeauth.ClaimsFromAuthorizer(rc.Authorizer); err == nil {
				attrs = append(attrs, "client_id", claims.ClientID)
			}
		}
		if lc, ok := lambdacontext.FromContext(r.Context()); ok && lc != nil {
			attrs = append(attrs, "lambda_request_id", lc.AwsRequestID)
		}
		s.Logger.InfoContext(r.Context(), "request", attrs...)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
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
