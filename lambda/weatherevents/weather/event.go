// Package weather is the weather-events service's domain: what an event is,
// what makes one valid, and where events are stored.
package weather

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Event is a stored weather event.
type Event struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	DateStart string    `json:"dateStart"`
	DateEnd   string    `json:"dateEnd"`
	CreatedBy string    `json:"createdBy"`
	CreatedAt time.Time `json:"createdAt"`
}

// NewEvent is what a caller sends to create an event.
type NewEvent struct {
	Name      string `json:"name"`
	DateStart string `json:"dateStart"`
	DateEnd   string `json:"dateEnd"`
}

// Limits on what a caller may send.
const (
	MaxNameLength = 200
	dateLayout    = "2006-01-02"
)

// FieldError names the field that was wrong and why.
type FieldError struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// ValidationError lists every problem with a NewEvent.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Problem
	}
	return "invalid event: " + strings.Join(parts, "; ")
}

// Validate checks a NewEvent: a name of 1-200 characters without control
// characters, and dates as YYYY-MM-DD with start on or before end.
func (n NewEvent) Validate() error {
	var fields []FieldError
	bad := func(field, format string, args ...any) {
		fields = append(fields, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	switch length := utf8.RuneCountInString(n.Name); {
	case !utf8.ValidString(n.Name):
		bad("name", "must be valid UTF-8")
	case strings.TrimSpace(n.Name) == "":
		bad("name", "is required")
	case length > MaxNameLength:
		bad("name", "must be at most %d characters (got %d)", MaxNameLength, length)
	case strings.IndexFunc(n.Name, unicode.IsControl) >= 0:
		bad("name", "must not contain control characters")
	}
	start, startErr := parseDate(n.DateStart)
	if startErr != nil {
		bad("dateStart", "%v", startErr)
	}
	end, endErr := parseDate(n.DateEnd)
	if endErr != nil {
		bad("dateEnd", "%v", endErr)
	}
	if startErr == nil && endErr == nil && end.Before(start) {
		bad("dateEnd", "must not be before dateStart (%s)", n.DateStart)
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
}

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("is required (YYYY-MM-DD)")
	}
	t, err := time.Parse(dateLayout, s)
	// time.Parse accepts nothing but the layout's digits, so a round trip
	// also rules out impossible dates such as 2022-02-30.
	if err != nil || t.Format(dateLayout) != s {
		return time.Time{}, fmt.Errorf("%q is not a date as YYYY-MM-DD", s)
	}
	return t, nil
}

var idPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// NewID returns a random event id: 128 bits, as 32 lowercase hex digits.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id could have come from NewID.
func ValidID(id string) bool { return idPattern.MatchString(id) }
