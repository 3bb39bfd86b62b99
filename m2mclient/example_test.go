package m2mclient_test

import (
	"context"
	"fmt"
	"io"

	"github.com/scopegate/scopegate/internal/oauthtest"
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

	client, err := m2mclient.New(context.Background(), m2mclient.Config{
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
