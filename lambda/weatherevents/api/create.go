package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
)

// IdempotencyKeyHeader makes a POST safe to retry (IETF httpapi
// idempotency-key draft): the same key with the same body returns the first
// answer and stores one event; the same key with another body is a 422. Keys
// belong to the client that sent them and expire after weather.KeyLifetime.
const IdempotencyKeyHeader = "Idempotency-Key"

// MaxIdempotencyKeyLength bounds a key; a UUID is 36 characters.
const MaxIdempotencyKeyLength = 255

// idempotencyKey reads the header: a structured-field string ("...") or the
// bare value, 1-255 visible ASCII characters. A header that is absent is no
// key; one that is present but empty (or only whitespace) is a malformed key
// and refused like any other, never taken as "no key": the client meant to
// send one, and its retry would store the event twice. (The merge of
// headers and multiValueHeaders keeps an empty value, so presence is what
// the event said.)
func idempotencyKey(r *http.Request) (string, bool, error) {
	values := r.Header.Values(IdempotencyKeyHeader)
	if len(values) == 0 {
		return "", false, nil
	}
	key := values[0] // mergeHeaders leaves one value, or refuses the request
	if len(key) >= 2 && strings.HasPrefix(key, `"`) && strings.HasSuffix(key, `"`) {
		key = key[1 : len(key)-1]
	}
	if key == "" || len(key) > MaxIdempotencyKeyLength {
		return "", true, errors.New("Idempotency-Key must hold 1 to 255 characters")
	}
	for _, c := range key {
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return "", true, errors.New("Idempotency-Key must be visible ASCII without quotes or backslashes")
		}
	}
	return key, true, nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	key, hasKey, err := idempotencyKey(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_idempotency_key", err.Error(), nil)
		return
	}
	if hasKey && s.Keys == nil {
		writeError(w, http.StatusBadRequest, "invalid_idempotency_key", "this service does not keep idempotency keys", nil)
		return
	}
	// The body is read once and kept: its hash is what a key promises.
	body, status, err := readBody(w, r)
	if err != nil {
		writeError(w, status, "invalid_body", err.Error(), nil)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
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
	unknown := "the event may have been stored; send an Idempotency-Key to retry safely"
	if hasKey {
		rec, ok := s.claim(w, r, key, body, e)
		if !ok {
			return
		}
		e.ID, e.CreatedAt = rec.EventID, rec.CreatedAt
		unknown = "the event may have been stored; retry with the same Idempotency-Key"
	}
	ctx, cancel := s.storage(r.Context())
	defer cancel()
	err = s.Store.Create(ctx, e)
	if errors.Is(err, weather.ErrExists) && hasKey {
		// An earlier attempt with this key stored it: answer as it was
		// answered.
		stored, err := s.Store.Get(ctx, e.ID)
		if err != nil {
			s.storeFailed(w, r, err, unknown)
			return
		}
		e = stored
	} else if err != nil {
		s.storeFailed(w, r, err, unknown)
		return
	}
	w.Header().Set("Location", location(r, e.ID))
	writeJSON(w, http.StatusCreated, e)
}

// claim records the key for this body, or finds what the first request with
// it decided. It answers the request itself when it cannot go on.
func (s *Server) claim(w http.ResponseWriter, r *http.Request, key string, body []byte, e weather.Event) (weather.KeyRecord, bool) {
	ctx, cancel := s.storage(r.Context())
	defer cancel()
	rec := weather.KeyRecord{
		Key: weather.ScopedKey(clientID(r), key), BodyHash: weather.BodyHash(body),
		EventID: e.ID, CreatedAt: e.CreatedAt, ExpiresAt: e.CreatedAt.Add(weather.KeyLifetime),
	}
	held, _, err := s.Keys.Claim(ctx, rec)
	if err != nil {
		s.storeFailed(w, r, err, "nothing was stored; retry with the same Idempotency-Key")
		return weather.KeyRecord{}, false
	}
	if held.BodyHash != rec.BodyHash {
		writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused",
			"this Idempotency-Key was used with another body; use a new key for a new event", nil)
		return weather.KeyRecord{}, false
	}
	return held, true
}
