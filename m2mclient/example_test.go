package m2mclient_test

import (
	"fmt"
	"io"

	"github.com/scopegate/scopegate/internal/testkit/oauthtest"
	"github.com/scopegate/scopegate/m2mclient"
	"github.com/scopegate/scopegate/routetable"
)

// A third party calling a scopegate API: the token URL and client id come
// from the stack's outputs, the secret from its Secrets Manager secret.
func Example() {
	// Stand-ins for the deployed token endpoint and API.
	tokens := oauthtest.NewTokenServer(map[string]oauthtest.Client{
		"client-id": {Secret: "client-secret", Scopes: []string{"weather-api/get", "weather-api/post"}},
	})
	defer tokens.Close()
	api := oauthtest.NewAPI(routetable.Table{{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}}}, tokens)
	defer api.Close()

	client, err := m2mclient.New(m2mclient.Config{
		TokenURL:     tokens.TokenURL(), // the AuthTokenUrl output
		ClientID:     "client-id",
		ClientSecret: "client-secret",
		Scopes:       []string{"weather-api/get"}, // or none for every allowed scope
	})
	if err != nil {
		panic(err)
	}
	for range 3 {
		resp, err := client.Get(api.URL + "/")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println("token requests:", tokens.Requests())
	// Output:
	// 200 {"ok":true}
	// 200 {"ok":true}
	// 200 {"ok":true}
	// token requests: 1
}

// A caller that reads its credentials from the client's Secrets Manager
// secret, and follows its rotation.
func ExampleSecretsManagerCredentials() {
	tokens := oauthtest.NewTokenServer(map[string]oauthtest.Client{
		"weather-service": {Secret: "first-secret", Scopes: []string{"weather-api/get"}},
	})
	defer tokens.Close()
	api := oauthtest.NewAPI(routetable.Table{{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}}}, tokens)
	defer api.Close()
	// In a real program: secretsmanager.NewFromConfig(awsConfig), and the
	// secretArn of the stack's AuthClients output.
	secrets := newSecret(`{"client_id":"weather-service","client_secret":"first-secret","token_url":"` + tokens.TokenURL() + `"}`)

	client, err := m2mclient.New(m2mclient.Config{
		Credentials: m2mclient.SecretsManagerCredentials{Client: secrets, SecretID: secretARN},
	})
	if err != nil {
		panic(err)
	}
	call := func() {
		resp, err := client.Get(api.URL + "/")
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode, "secret reads:", secrets.Reads(), "token requests:", tokens.Requests())
	}
	call()

	// A rotation: a second secret, the secret switched to it, the first
	// retired; then the token in hand is revoked, so a new one is needed.
	_ = tokens.AddSecret("weather-service", "second-secret")
	secrets.Set(`{"client_id":"weather-service","client_secret":"second-secret","token_url":"` + tokens.TokenURL() + `"}`)
	_ = tokens.RetireSecret("weather-service", "first-secret")
	tok, _ := client.Transport.(*m2mclient.Transport).Token()
	tokens.Revoke(tok.AccessToken)
	call()
	// Output:
	// 200 secret reads: 1 token requests: 1
	// 200 secret reads: 2 token requests: 3
}
