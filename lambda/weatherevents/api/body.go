package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
)

// MaxBodyBytes caps a request body. An event is three short strings; API
// Gateway's own limit (10 MB) is far above anything legitimate.
const MaxBodyBytes = 16 << 10

// decodeNewEvent reads a NewEvent strictly. encoding/json alone accepts
// unknown keys, duplicate keys (last wins), keys in any letter case, invalid
// UTF-8 (replaced silently) and trailing data; each of those is refused here.
// It returns the HTTP status to answer with when it fails.
func decodeNewEvent(w http.ResponseWriter, r *http.Request) (weather.NewEvent, int, error) {
	body, status, err := readBody(w, r)
	if err != nil {
		return weather.NewEvent{}, status, err
	}
	e, err := DecodeNewEvent(body)
	if err != nil {
		return weather.NewEvent{}, http.StatusBadRequest, err
	}
	return e, 0, nil
}

// readBody reads a JSON body of at most MaxBodyBytes, and returns the
// HTTP status to answer with when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, http.StatusUnsupportedMediaType, errors.New("Content-Type must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body is larger than %d bytes", MaxBodyBytes)
	}
	if err != nil {
		return nil, http.StatusBadRequest, errors.New("body could not be read")
	}
	return body, 0, nil
}

// DecodeNewEvent parses exactly one JSON object whose keys are exactly
// "name", "dateStart" and "dateEnd" (each at most once) with string values.
func DecodeNewEvent(body []byte) (weather.NewEvent, error) {
	var e weather.NewEvent
	if len(bytes.TrimSpace(body)) == 0 {
		return e, errors.New("body is empty: send a JSON object")
	}
	if !utf8.Valid(body) {
		return e, errors.New("body is not valid UTF-8")
	}
	fields := map[string]*string{"name": &e.Name, "dateStart": &e.DateStart, "dateEnd": &e.DateEnd}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return e, errors.New("body must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return e, errors.New("body is not valid JSON")
		}
		key := tok.(string) // inside an object the decoder only yields string keys
		target, known := fields[key]
		if !known {
			return e, fmt.Errorf("unknown field %q (allowed: name, dateStart, dateEnd)", key)
		}
		if seen[key] {
			return e, fmt.Errorf("field %q appears more than once", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return e, errors.New("body is not valid JSON")
		}
		if len(raw) == 0 || raw[0] != '"' {
			return e, fmt.Errorf("field %q must be a string", key)
		}
		if loneSurrogate(raw) {
			// encoding/json would store U+FFFD in its place: the text would
			// not be what the caller sent.
			return e, fmt.Errorf("field %q holds a lone UTF-16 surrogate escape, which is not valid Unicode", key)
		}
		if err := json.Unmarshal(raw, target); err != nil {
			return e, fmt.Errorf("field %q must be a string", key)
		}
	}
	if _, err := dec.Token(); err != nil {
		return e, errors.New("body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return e, errors.New("body holds data after the JSON object")
	}
	return e, nil
}

// loneSurrogate reports whether a JSON string literal holds a \uD800-\uDFFF
// escape that is not half of a surrogate pair.
func loneSurrogate(literal []byte) bool {
	for i := 0; i < len(literal); i++ {
		if literal[i] != '\\' {
			continue
		}
		i++
		if i >= len(literal) || literal[i] != 'u' {
			continue // an escape like \\ or \n: skipped whole
		}
		u, ok := hex4(literal, i+1)
		if !ok {
			continue
		}
		i += 4
		switch {
		case u >= 0xD800 && u <= 0xDBFF:
			if i+6 < len(literal) && literal[i+1] == '\\' && literal[i+2] == 'u' {
				if low, ok := hex4(literal, i+3); ok && low >= 0xDC00 && low <= 0xDFFF {
					i += 6
					continue
				}
			}
			return true
		case u >= 0xDC00 && u <= 0xDFFF:
			return true
		}
	}
	return false
}

func hex4(b []byte, at int) (uint16, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var v uint16
	for _, c := range b[at : at+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint16(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint16(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v |= uint16(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}
