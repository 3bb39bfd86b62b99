package m2mclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/scopegate/scopegate/contract"
)

// APIKeyHeader is the header API Gateway reads an API key from. The
// Transport sets it on every API request when the credentials carry an
// APIKey.
const APIKeyHeader = "x-api-key"

// Credentials are what a machine client needs to get tokens and call the API.
type Credentials struct {
	ClientID, ClientSecret string
	// TokenURL must be https (plain http only to a loopback host).
	TokenURL string
	// APIKey, when set, is sent as x-api-key with every API request (an API
	// Gateway API key of a usage plan). It is never sent to the token
	// endpoint.
	APIKey string
}

// String hides the client secret and the API key, so that printing
// Credentials by mistake prints neither.
func (c Credentials) String() string {
	return fmt.Sprintf("{ClientID:%s TokenURL:%s ClientSecret:%s APIKey:%s}", c.ClientID, c.TokenURL, redacted(c.ClientSecret), redacted(c.APIKey))
}

// GoString is String, for %#v.
func (c Credentials) GoString() string { return "m2mclient.Credentials" + c.String() }

func redacted(s string) string {
	if s == "" {
		return `""`
	}
	return "<redacted>"
}

// sameClient reports whether c and o would make the same token request.
func (c Credentials) sameClient(o Credentials) bool {
	return c.ClientID == o.ClientID && c.ClientSecret == o.ClientSecret && c.TokenURL == o.TokenURL
}

// check refuses credentials a token request cannot, or must not, be made with.
func (c Credentials) check() error {
	var missing []string
	for _, f := range []struct{ name, value string }{{"ClientID", c.ClientID}, {"ClientSecret", c.ClientSecret}, {"TokenURL", c.TokenURL}} {
		if f.value == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("m2mclient: the credentials lack %s", joinAnd(missing))
	}
	if err := CheckTokenURL(c.TokenURL); err != nil {
		return fmt.Errorf("m2mclient: TokenURL of the credentials %w", err)
	}
	return nil
}

// CredentialsProvider supplies a client's credentials: the Transport asks
// for them once (fresh false), before its first token request, and again
// (fresh true) only when the token endpoint refuses them as invalid_client,
// which is what a client whose secret was rotated, and the old one retired,
// gets.
type CredentialsProvider interface {
	// Credentials returns the client's credentials. fresh asks for them
	// from their source, bypassing any cache the provider keeps.
	Credentials(ctx context.Context, fresh bool) (Credentials, error)
}

// staticCredentials are Config's ClientID, ClientSecret, TokenURL and APIKey.
type staticCredentials Credentials

func (s staticCredentials) Credentials(context.Context, bool) (Credentials, error) {
	return Credentials(s), nil
}

// SecretsManagerAPI is the call SecretsManagerCredentials makes; a
// *secretsmanager.Client has it.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SecretsManagerCredentials reads a client's credentials from the current
// version (AWSCURRENT) of its Secrets Manager secret, the JSON object
// {"client_id","client_secret","token_url"} that scopegate's AuthServer
// writes, with "api_key" when the client must send one. Other keys (such as
// "client_secret_id") are ignored. It keeps no cache: each call reads the
// secret, and the Transport calls it only when it needs to.
type SecretsManagerCredentials struct {
	// Client is usually secretsmanager.NewFromConfig(awsConfig).
	Client SecretsManagerAPI
	// SecretID is the secret's ARN (the AuthClients output's secretArn) or name.
	SecretID string
}

// Credentials reads the secret's current version.
func (s SecretsManagerCredentials) Credentials(ctx context.Context, _ bool) (Credentials, error) {
	if err := s.validate(); err != nil {
		return Credentials{}, &secretError{msg: err.Error()}
	}
	return ReadSecret(ctx, s.Client, s.SecretID, "")
}

func (s SecretsManagerCredentials) validate() error {
	if s.Client == nil || s.SecretID == "" {
		return errors.New("m2mclient: SecretsManagerCredentials needs a Client and a SecretID")
	}
	return nil
}

// StageCurrent is the version stage of a secret's current value.
const StageCurrent = "AWSCURRENT"

// ReadSecret reads one version of a client's secret, by version stage
// (StageCurrent when empty; "AWSPREVIOUS" is the value a rotation replaced).
// It refuses a value that is not a JSON object or lacks client_id,
// client_secret or token_url, and names what is missing; its errors never
// contain the secret's content. An error from Secrets Manager is wrapped, so
// errors.As finds, say, a *types.ResourceNotFoundException for a stage the
// secret does not have.
//
// The token URL is not checked here: the Transport checks it (CheckTokenURL)
// before any token request, and so must any other caller.
func ReadSecret(ctx context.Context, client SecretsManagerAPI, secretID, stage string) (Credentials, error) {
	if stage == "" {
		stage = StageCurrent
	}
	name := secretID
	if stage != StageCurrent {
		name += " (" + stage + ")"
	}
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionStage: aws.String(stage)})
	if err != nil {
		return Credentials{}, &secretError{msg: "m2mclient: reading secret " + name, err: err}
	}
	if out.SecretString == nil {
		return Credentials{}, &secretError{msg: "m2mclient: secret " + name + " has no string value"}
	}
	var v contract.ClientSecret
	// The decoder's error may quote the value: it is not passed on.
	if err := json.Unmarshal([]byte(*out.SecretString), &v); err != nil {
		return Credentials{}, &secretError{msg: "m2mclient: secret " + name + " is not client credentials JSON"}
	}
	var missing []string
	for _, f := range []struct{ key, value string }{{contract.SecretClientID, v.ClientID}, {contract.SecretClientSecret, v.ClientSecret}, {contract.SecretTokenURL, v.TokenURL}} {
		if f.value == "" {
			missing = append(missing, f.key)
		}
	}
	if len(missing) > 0 {
		return Credentials{}, &secretError{msg: "m2mclient: secret " + name + " lacks " + joinAnd(missing)}
	}
	return Credentials{ClientID: v.ClientID, ClientSecret: v.ClientSecret, TokenURL: v.TokenURL, APIKey: v.APIKey}, nil
}

// secretError is an error of ReadSecret: its message, and the error from
// Secrets Manager if there was one, never the secret's content.
type secretError struct {
	msg string
	err error
}

func (e *secretError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *secretError) Unwrap() error { return e.err }

// joinAnd is "a", "a and b", "a, b and c".
func joinAnd(words []string) string {
	if len(words) == 1 {
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
