// Package api is the weather-events service's HTTP interface: a plain
// net/http handler (tested with httptest) and the conversion that serves it
// to API Gateway proxy events in Lambda.
//
// Routes: GET / lists events, POST / creates one (idempotently with an
// Idempotency-Key), GET /{id} reads one, DELETE /{id} removes one. Every
// request is re-authorized against the route table API Gateway was
// configured from (see package routeauth) before it reaches a route, and
// every storage call has a deadline that leaves time to answer before the
// invocation's own.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scopegate/scopegate/lambda/routeauth"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
	"github.com/scopegate/scopegate/routetable"
)

// Listing limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Storage deadlines.
const (
	// DefaultStorageTimeout bounds one storage call, retries included.
	DefaultStorageTimeout = 2 * time.Second
	// DefaultAnswerReserve is kept from the invocation's deadline to write
	// the answer after a storage call gave up.
	DefaultAnswerReserve = 300 * time.Millisecond
	// RetryAfterSeconds is what a 503 tells the caller to wait.
	RetryAfterSeconds = 1
)

// Server serves the weather-events API.
type Server struct {
	Store weather.Store
	// Keys records idempotency keys; without it, POST refuses an
	// Idempotency-Key rather than pretend to honour it.
	Keys   weather.Keys
	Routes routetable.Table
	// Suspensions refuses suspended clients after the route check; nil
	// refuses nobody (see package lambda/suspension).
	Suspensions routeauth.Suspensions
	Logger      *slog.Logger
	// Now is the clock; tests fix it.
	Now func() time.Time
	// StorageTimeout bounds each storage call. Default: DefaultStorageTimeout.
	StorageTimeout time.Duration
	// AnswerReserve is kept from the invocation's deadline to answer.
	// Default: DefaultAnswerReserve.
	AnswerReserve time.Duration
}

type claimsKey struct{}

// Handler returns the whole chain: request logging, panic recovery,
// re-authorization, then the routes. Logging comes first so that a panic's
// 500 is logged too.
func (s *Server) Handler() http.Handler {
	return s.logRequests(s.recoverPanics(s.authorize(http.HandlerFunc(s.route))))
}

// HandleEvent serves one API Gateway proxy event. It never returns an error:
// Lambda would turn one into a 502 with no body, so every failure becomes a
// JSON response instead.
func (s *Server) HandleEvent(ctx context.Context, event events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	// Latency counts from here, the conversion included.
	start := s.Now()
	ctx = context.WithValue(ctx, invocationStartKey{}, start)
	req, err := Request(ctx, event)
	if err != nil {
		// Refused before the handler: the same line logRequests writes.
		method := event.HTTPMethod
		if method == "" {
			method = event.RequestContext.HTTPMethod
		}
		s.logRequest(ctx, start, method, http.StatusBadRequest, event.RequestContext, "refused", err.Error())
		body, _ := marshalError("invalid_request", err.Error(), nil)
		return events.APIGatewayProxyResponse{
			StatusCode:        http.StatusBadRequest,
			MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}},
			Body:              string(body),
		}, nil
	}
	w := newResponseWriter()
	s.Handler().ServeHTTP(w, req)
	return w.event(), nil
}

// authorize re-checks the caller's claims against the route API Gateway
// matched, and that the caller's client is not suspended, and refuses with
// RFC 6750 errors.
func (s *Server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, ok := apiGatewayContext(r)
		if !ok {
			refusal := routeauth.Refuse(routeauth.ErrNoClaims)
			w.Header().Set("WWW-Authenticate", refusal.Challenge)
			writeError(w, refusal.Status, refusal.Code, "no API Gateway request context", nil)
			return
		}
		claims, err := routeauth.Authorize(s.Routes, rc)
		if err == nil && s.Suspensions != nil {
			err = s.Suspensions.Check(r.Context(), claims.ClientID)
		}
		if err != nil {
			refusal := routeauth.Refuse(err)
			w.Header().Set("WWW-Authenticate", refusal.Challenge)
			writeError(w, refusal.Status, refusal.Code, err.Error(), nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), claimsKey{}, claims)))
	})
}

func clientID(r *http.Request) string {
	c, _ := r.Context().Value(claimsKey{}).(routeauth.Claims)
	return c.ClientID
}

// storage is the context of one storage call: at most StorageTimeout, and
// ending AnswerReserve before the invocation's deadline, so that the
// function always answers (a 503) before Lambda stops it.
func (s *Server) storage(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout, reserve := s.StorageTimeout, s.AnswerReserve
	if timeout == 0 {
		timeout = DefaultStorageTimeout
	}
	if reserve == 0 {
		reserve = DefaultAnswerReserve
	}
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline) - reserve; left < timeout {
			timeout = left
		}
	}
	return context.WithTimeout(ctx, max(timeout, 0))
}

// route dispatches by the method and resource API Gateway matched and
// authorized (see operation), not the URL. It is written out rather than
// left to http.ServeMux so that every refusal, 404 and 405 included, is JSON.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	method, path, err := operation(r)
	if errors.Is(err, errEmptyParameter) {
		// 404 rather than 400: API Gateway matched a resource that names one
		// event ("/{id}"), and the name is empty; no event has an empty id,
		// so there is nothing there, which is what 404 says. It is never
		// served as the resource without the parameter (GET / lists).
		writeError(w, http.StatusNotFound, "not_found", "no event with that id: the path names none", nil)
		return
	}
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", err.Error(), nil)
		return
	}
	switch {
	case path == "/":
		switch method {
		case http.MethodGet:
			s.list(w, r)
		case http.MethodPost:
			s.create(w, r)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case strings.Count(path, "/") == 1:
		id := strings.TrimPrefix(path, "/")
		switch method {
		case http.MethodGet:
			s.get(w, r, id)
		case http.MethodDelete:
			s.delete(w, r, id)
		default:
			methodNotAllowed(w, "GET, DELETE")
		}
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such resource", nil)
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "allowed: "+allow, nil)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := DefaultPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			writeError(w, http.StatusBadRequest, "invalid_query", "limit must be a whole number from 1 to "+strconv.Itoa(MaxPageSize), nil)
			return
		}
		limit = n
	}
	ctx, cancel := s.storage(r.Context())
	defer cancel()
	page, err := s.Store.List(ctx, limit, q.Get("cursor"))
	if errors.Is(err, weather.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "invalid_query", "cursor is not one this service issued", nil)
		return
	}
	if err != nil {
		s.storeFailed(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, listResponse{Events: page.Events, Next: page.Next})
}

type listResponse struct {
	Events []weather.Event `json:"events"`
	Next   string          `json:"next,omitempty"`
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, id string) {
	if !weather.ValidID(id) {
		writeError(w, http.StatusNotFound, "not_found", "no event with that id", nil)
		return
	}
	ctx, cancel := s.storage(r.Context())
	defer cancel()
	e, err := s.Store.Get(ctx, id)
	if errors.Is(err, weather.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no event with that id", nil)
		return
	}
	if err != nil {
		s.storeFailed(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, id string) {
	if !weather.ValidID(id) {
		writeError(w, http.StatusNotFound, "not_found", "no event with that id", nil)
		return
	}
	ctx, cancel := s.storage(r.Context())
	defer cancel()
	err := s.Store.Delete(ctx, id)
	if errors.Is(err, weather.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no event with that id", nil)
		return
	}
	if err != nil {
		s.storeFailed(w, r, err, "")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// location is where a new event can be read: the request's path as API
// Gateway saw it (stage, or a custom domain's base path, included) plus the
// id.
func location(r *http.Request, id string) string {
	rc, _ := apiGatewayContext(r)
	base := rc.Path
	if base == "" && rc.Stage != "" {
		base = "/" + rc.Stage + "/"
	}
	if base == "" {
		base = "/"
	}
	return path.Join(base, id)
}

// storeFailed answers a storage failure: 503 with Retry-After when the store
// is slow, down or throttling, 500 otherwise. note adds what the caller
// needs to know (a write whose outcome is unknown).
func (s *Server) storeFailed(w http.ResponseWriter, r *http.Request, err error, note string) {
	s.Logger.ErrorContext(r.Context(), "store failed", "error", err.Error(), "unavailable", weather.Unavailable(err))
	if weather.Unavailable(err) {
		message := "the event store did not answer in time; retry later"
		if note != "" {
			message += ": " + note
		}
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
		writeError(w, http.StatusServiceUnavailable, "storage_unavailable", message, nil)
		return
	}
	writeError(w, http.StatusInternalServerError, "internal_error", "the event store failed", nil)
}
