// Package api is the weather-events service's HTTP interface: a plain
// net/http handler (tested with httptest) and the adapter that serves it to
// API Gateway proxy events in Lambda.
//
// Routes: GET / lists events, POST / creates one, DELETE /{id} removes one.
// Every request is re-authorized against the route table API Gateway was
// configured from (see package routeauth) before it reaches a route.
package api

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/scopegate/scopegate/lambda/routeauth"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
	"github.com/scopegate/scopegate/routetable"
)

// Listing limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Server serves the weather-events API.
type Server struct {
	Store  weather.Store
	Routes routetable.Table
	Logger *slog.Logger
	// Now is the clock; tests fix it.
	Now func() time.Time
}

type claimsKey struct{}

// Handler returns the whole chain: panic recovery, request logging,
// re-authorization, then the routes.
func (s *Server) Handler() http.Handler {
	return s.recoverPanics(s.logRequests(s.authorize(http.HandlerFunc(s.route))))
}

// HandleEvent serves one API Gateway proxy event. It never returns an error:
// Lambda would turn one into a 502 with no body, so every failure becomes a
// JSON response instead.
func (s *Server) HandleEvent(ctx context.Context, event events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	if event.IsBase64Encoded {
		if _, err := base64.StdEncoding.DecodeString(event.Body); err != nil {
			return errorEvent(http.StatusBadRequest, "invalid_body", "the body is marked base64 but is not valid base64"), nil
		}
	}
	req, err := Request(ctx, event)
	if err != nil {
		return errorEvent(http.StatusBadRequest, "invalid_request", "the request could not be read"), nil
	}
	w := core.NewProxyResponseWriter()
	s.Handler().ServeHTTP(w, req)
	resp, err := w.GetProxyResponse()
	if err != nil {
		return errorEvent(http.StatusInternalServerError, "internal_error", "the response could not be written"), nil
	}
	return resp, nil
}

type pathParametersKey struct{}

// Request converts an API Gateway proxy event into the *http.Request the
// handler serves, keeping the event's path parameters (as API Gateway
// decoded them) beside its request context: the handler routes by those, the
// fields it authorizes on, never by the URL the caller sent.
func Request(ctx context.Context, event events.APIGatewayProxyRequest) (*http.Request, error) {
	ctx = context.WithValue(ctx, pathParametersKey{}, event.PathParameters)
	return new(core.RequestAccessor).EventToRequestWithContext(ctx, event)
}

// operation is the route API Gateway matched, as the request context and the
// path parameters say: the method, and the resource path with each
// parameter filled in ("/{id}" with id "abc" is "/abc"; "/{proxy+}" with
// proxy "a/b" is "/a/b").
func operation(r *http.Request) (method, path string, ok bool) {
	rc, ok := core.GetAPIGatewayContextFromContext(r.Context())
	if !ok {
		return "", "", false
	}
	params, _ := r.Context().Value(pathParametersKey{}).(map[string]string)
	segments := strings.Split(rc.ResourcePath, "/")
	for i, seg := range segments {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			name := strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"), "+")
			segments[i] = params[name]
		}
	}
	return rc.HTTPMethod, strings.Join(segments, "/"), true
}

func errorEvent(status int, code, message string) events.APIGatewayProxyResponse {
	body, _ := marshalError(code, message, nil)
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}

// authorize re-checks the caller's claims against the route API Gateway
// matched, and refuses with RFC 6750 errors.
func (s *Server) authorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, ok := core.GetAPIGatewayContextFromContext(r.Context())
		if !ok {
			refusal := routeauth.Refuse(routeauth.ErrNoClaims)
			w.Header().Set("WWW-Authenticate", refusal.Challenge)
			writeError(w, refusal.Status, refusal.Code, "no API Gateway request context", nil)
			return
		}
		claims, err := routeauth.Authorize(s.Routes, rc)
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

// route dispatches by the method and resource API Gateway matched and
// authorized (see operation), not the URL. It is written out rather than
// left to http.ServeMux so that every refusal, 404 and 405 included, is JSON.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	method, path, ok := operation(r)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no API Gateway request context", nil)
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
		if method != http.MethodDelete {
			methodNotAllowed(w, "DELETE")
			return
		}
		s.delete(w, r, strings.TrimPrefix(path, "/"))
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
	page, err := s.Store.List(r.Context(), limit, q.Get("cursor"))
	if errors.Is(err, weather.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "invalid_query", "cursor is not one this service issued", nil)
		return
	}
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listResponse{Events: page.Events, Next: page.Next})
}

type listResponse struct {
	Events []weather.Event `json:"events"`
	Next   string          `json:"next,omitempty"`
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	in, status, err := decodeNewEvent(w, r)
	if err != nil {
		writeError(w, status, "invalid_body", err.Error(), nil)
		return
	}
	if err := in.Validate(); err != nil {
		var verr *weather.ValidationError
		errors.As(err, &verr)
		writeError(w, http.StatusBadRequest, "invalid_event", "the event is not valid", verr.Fields)
		return
	}
	e := weather.Event{
		ID: weather.NewID(), Name: in.Name, DateStart: in.DateStart, DateEnd: in.DateEnd,
		CreatedBy: clientID(r), CreatedAt: s.Now().UTC(),
	}
	if err := s.Store.Create(r.Context(), e); err != nil {
		s.storeFailed(w, r, err)
		return
	}
	w.Header().Set("Location", "/"+e.ID)
	writeJSON(w, http.StatusCreated, e)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, id string) {
	if !weather.ValidID(id) {
		writeError(w, http.StatusNotFound, "not_found", "no event with that id", nil)
		return
	}
	err := s.Store.Delete(r.Context(), id)
	if errors.Is(err, weather.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no event with that id", nil)
		return
	}
	if err != nil {
		s.storeFailed(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) storeFailed(w http.ResponseWriter, r *http.Request, err error) {
	s.Logger.ErrorContext(r.Context(), "store failed", "error", err.Error())
	writeError(w, http.StatusInternalServerError, "internal_error", "the event store failed", nil)
}
