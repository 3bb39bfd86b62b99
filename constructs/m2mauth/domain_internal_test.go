package m2mauth

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSanitizePrefixBase(t *testing.T) {
	for name, want := range map[string]string{
		"WeatherEvents":                   "weatherevents",
		"AwsWeatherStack":                 "weatherstack",
		"My_Stack--Name":                  "my-stack-name",
		"CognitoAmazonAWS":                "m2m",
		"prod-" + strings.Repeat("x", 60): "prod-" + strings.Repeat("x", 35),
		"stack-amazon-1":                  "stack-1",
	} {
		got := sanitizePrefixBase(name)
		assert.Equal(t, want, got, name)
		// With "-" and 12 hex digits appended it must still be a valid prefix.
		assert.NoError(t, validatePrefix(got+"-0123456789ab"), name)
	}
}

func TestConstructID(t *testing.T) {
	for in, want := range map[string]string{
		"weather-service":             "WeatherService",
		"https://reports.example.com": "HttpsReportsExampleCom",
		"ThirdPartyAppClient":         "ThirdPartyAppClient",
		"a.b_c":                       "ABC",
	} {
		assert.Equal(t, want, constructID(in), in)
	}
}
