package api_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/scopegate/scopegate/lambda/weatherevents/api"
)

// FuzzDecodeNewEvent: run with `go test ./lambda/weatherevents/api -fuzz FuzzDecodeNewEvent`.
// Whatever the input, decoding must not panic, and anything it accepts must be
// valid UTF-8 JSON holding exactly the fields it returned.
func FuzzDecodeNewEvent(f *testing.F) {
	for _, seed := range []string{
		validBody, "", "null", "{}", `{"name":"a","name":"b"}`, `{"Name":"a"}`, validBody + "{}",
		`{"name":` + "\"\xff\"}", `{"name":1e999999}`, `[` + validBody + `]`, `{"name":{"a":[1,2,{"b":null}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := api.DecodeNewEvent(body)
		if err != nil {
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		var generic map[string]any
		if err := json.Unmarshal(body, &generic); err != nil {
			t.Fatalf("accepted a body encoding/json rejects: %q: %v", body, err)
		}
		for key, v := range generic {
			s, ok := v.(string)
			if !ok {
				t.Fatalf("accepted a non-string %q: %q", key, body)
			}
			want := map[string]string{"name": e.Name, "dateStart": e.DateStart, "dateEnd": e.DateEnd}[key]
			if s != want {
				t.Fatalf("field %q decoded as %q, JSON says %q", key, want, s)
			}
		}
	})
}
