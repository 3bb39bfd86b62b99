package weather_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
)

func TestNewEventValidate(t *testing.T) {
	valid := weather.NewEvent{Name: "Storms Malik and Corrie", DateStart: "2022-01-29", DateEnd: "2022-01-31"}
	require.NoError(t, valid.Validate())
	oneDay := weather.NewEvent{Name: "x", DateStart: "2024-02-29", DateEnd: "2024-02-29"}
	require.NoError(t, oneDay.Validate())
	longest := weather.NewEvent{Name: strings.Repeat("é", 200), DateStart: "2022-01-29", DateEnd: "2022-01-31"}
	require.NoError(t, longest.Validate(), "200 characters, 400 bytes")

	for _, tc := range []struct {
		name  string
		event weather.NewEvent
		field string
		want  string
	}{
		{"empty name", weather.NewEvent{DateStart: "2022-01-01", DateEnd: "2022-01-02"}, "name", "is required"},
		{"blank name", weather.NewEvent{Name: "   ", DateStart: "2022-01-01", DateEnd: "2022-01-02"}, "name", "is required"},
		{"name too long", weather.NewEvent{Name: strings.Repeat("a", 201), DateStart: "2022-01-01", DateEnd: "2022-01-02"}, "name", "at most 200 characters (got 201)"},
		{"control character", weather.NewEvent{Name: "a\x00b", DateStart: "2022-01-01", DateEnd: "2022-01-02"}, "name", "control characters"},
		{"invalid UTF-8", weather.NewEvent{Name: "a\xffb", DateStart: "2022-01-01", DateEnd: "2022-01-02"}, "name", "valid UTF-8"},
		{"missing start", weather.NewEvent{Name: "a", DateEnd: "2022-01-02"}, "dateStart", "is required"},
		{"short month", weather.NewEvent{Name: "a", DateStart: "2022-1-01", DateEnd: "2022-01-02"}, "dateStart", `"2022-1-01" is not a date as YYYY-MM-DD`},
		{"impossible date", weather.NewEvent{Name: "a", DateStart: "2022-02-30", DateEnd: "2022-03-02"}, "dateStart", "is not a date"},
		{"timestamp", weather.NewEvent{Name: "a", DateStart: "2022-01-01", DateEnd: "2022-01-02T00:00:00Z"}, "dateEnd", "is not a date"},
		{"end before start", weather.NewEvent{Name: "a", DateStart: "2022-01-02", DateEnd: "2022-01-01"}, "dateEnd", "must not be before dateStart (2022-01-02)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.event.Validate()
			var verr *weather.ValidationError
			require.ErrorAs(t, err, &verr)
			require.NotEmpty(t, verr.Fields)
			assert.Equal(t, tc.field, verr.Fields[0].Field)
			assert.Contains(t, verr.Fields[0].Problem, tc.want)
		})
	}
}

func TestIDs(t *testing.T) {
	a, b := weather.NewID(), weather.NewID()
	assert.NotEqual(t, a, b)
	assert.True(t, weather.ValidID(a))
	for _, bad := range []string{"", "ABCDEF0123456789abcdef0123456789", "../x", a + "0", "%2F"} {
		assert.False(t, weather.ValidID(bad), bad)
	}
}
