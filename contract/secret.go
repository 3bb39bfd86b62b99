package contract

// ClientSecret is the JSON value of a client's Secrets Manager secret. The
// AuthServer writes its first version (client_id, client_secret from the app
// client's ClientSecret attribute, token_url and, with a rate-limit tier,
// api_key_id); the rotation function writes every later one (adding
// client_secret_id and api_key); m2mclient and the verifier read it.
type ClientSecret struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	TokenURL     string `json:"token_url"`
	// ClientSecretID is Cognito's id of the client secret the value holds;
	// absent in the first version, which CloudFormation writes.
	ClientSecretID string `json:"client_secret_id,omitempty"`
	// APIKeyID is the client's API Gateway API key, with a rate-limit tier.
	APIKeyID string `json:"api_key_id,omitempty"`
	// APIKey is that key's value, which the rotation function copies in
	// (CloudFormation has no attribute for it).
	APIKey string `json:"api_key,omitempty"`
}

// The secret's JSON keys, for code that writes the value field by field.
const (
	SecretClientID       = "client_id"
	SecretClientSecret   = "client_secret"
	SecretTokenURL       = "token_url"
	SecretClientSecretID = "client_secret_id"
	SecretAPIKeyID       = "api_key_id"
	SecretAPIKey         = "api_key"
)
