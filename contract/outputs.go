// Package contract is what crosses the deploy boundary: the names and shapes
// that the stacks scopegate synthesizes write and the code that runs against
// them (the functions, m2mclient, the verifier, budget) reads. Each is written
// once, here: the stack outputs and their records, the client secret's JSON,
// the functions' environment variables, and the AWS quotas both the
// constructs and the synth-time checks enforce. It imports nothing but the
// standard library, so every side can import it.
package contract

import "strings"

// Outputs of a stack built from scopedapi and m2mauth.
const (
	APIURL       = "ApiUrl"
	AccessPolicy = "AccessPolicy"
	// AccessLogGroup is the name of the API's access log group: one JSON
	// line per request, with the caller's clientId (the client report and
	// the dashboard's contributor rules read it).
	AccessLogGroup = "AccessLogGroup"
)

// DefaultAuthPrefix is the AuthServer construct id the stacks use, which
// prefixes its outputs.
const DefaultAuthPrefix = "Auth"

// TokenURL is the output holding the token endpoint of the AuthServer whose
// construct id is prefix.
func TokenURL(prefix string) string { return Key(prefix) + "TokenUrl" }

// Clients is the output holding the JSON list of the AuthServer's clients,
// one ClientRecord each. One output serves any number of clients, where one
// per client would pass CloudFormation's 200 outputs per template.
func Clients(prefix string) string { return Key(prefix) + "Clients" }

// SuspendedClientsTable is the output holding the name of the AuthServer's
// table of clients suspended without a deploy (see Suspension).
func SuspendedClientsTable(prefix string) string { return Key(prefix) + "SuspendedClientsTable" }

// UserPoolID is the output holding the id of the AuthServer's user pool,
// which bin/clients needs to turn a client's token issuance off and on
// (Cognito's DescribeUserPoolClient and UpdateUserPoolClient take it).
func UserPoolID(prefix string) string { return Key(prefix) + "UserPoolId" }

// ClientRecord is one entry of the Clients output: what a consumer needs to
// find a client's credentials, and the scopes it may request.
type ClientRecord struct {
	Name      string   `json:"name"`
	ClientID  string   `json:"clientId"`
	SecretArn string   `json:"secretArn"`
	Scopes    []string `json:"scopes"`
	// Tier is the client's rate-limit tier; absent without tiers.
	Tier string `json:"tier,omitempty"`
	// APIKeyID is the client's API Gateway API key; absent without tiers.
	APIKeyID string `json:"apiKeyId,omitempty"`
	// Suspended is true for a client suspended in configuration.
	Suspended bool `json:"suspended,omitempty"`
}

// Key turns a name into PascalCase letters and digits, as output names and
// construct ids need ("weather-service" -> "WeatherService").
func Key(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			if upper {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			upper = false
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
			upper = false
		default:
			upper = true
		}
	}
	return b.String()
}
