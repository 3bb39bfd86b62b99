// Package stacks composes scopegate's constructs into the stacks users deploy.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/contract"
)

// WeatherEventsStackProps configures the weather-events stack.
type WeatherEventsStackProps struct {
	awscdk.StackProps
	// Domain hosts the token endpoint.
	// Default: a Cognito prefix domain derived from the stack.
	Domain m2mauth.Domain
	// API declares the resource server; ServiceOptions.Clients take their
	// scopes from it. Default: NewWeatherAPI().
	API *WeatherAPI
	ServiceOptions
}

// WeatherAPI is the "weather-api" resource server with its scopes: a plain
// declaration, so that configuration resolves scope names against it before
// any stack exists.
type WeatherAPI struct {
	Server *m2mauth.ResourceServer
	Scopes WeatherScopes
}

// NewWeatherAPI declares the "weather-api" resource server.
func NewWeatherAPI() *WeatherAPI {
	server := m2mauth.NewResourceServer("weather-api", "Weather events API")
	return &WeatherAPI{Server: server, Scopes: WeatherScopes{
		Get:    server.AddScope("get", "List weather events"),
		Post:   server.AddScope("post", "Create weather events"),
		Delete: server.AddScope("delete", "Delete weather events"),
	}}
}

// OwnClients are the clients the stack declares itself: the walkthrough's
// service client, allowed get and post only.
func (w *WeatherAPI) OwnClients() []m2mauth.ClientProps {
	return []m2mauth.ClientProps{{
		Name:                ServiceClientName,
		Scopes:              []m2mauth.Scope{w.Scopes.Get, w.Scopes.Post},
		AccessTokenValidity: m2mauth.DefaultAccessTokenValidity,
	}}
}

// WeatherScopes are the custom scopes of the "weather-api" resource server.
type WeatherScopes struct {
	Get, Post, Delete m2mauth.Scope
}

// WeatherEventsStack is the weather-events API of the walkthrough: resource
// server "weather-api" with get, post and delete scopes; one service client
// allowed get and post only, so that asking for weather-api/delete is refused
// by the token endpoint; and a REST API (stage "weather") where GET / needs
// weather-api/get, POST / weather-api/post and DELETE /{id} weather-api/delete,
// served by a Go Lambda that stores events in DynamoDB.
type WeatherEventsStack struct {
	awscdk.Stack
	Auth    *m2mauth.AuthServer
	Scopes  WeatherScopes
	API     *scopedapi.ScopedAPI
	Service weatherService
}

// WeatherStageName is the stage of the weather-events API, as in the walkthrough.
const WeatherStageName = "weather"

// ServiceClientName is the name of the weather-events stack's only client.
const ServiceClientName = "weather-service"

// NewWeatherEventsStack builds the weather-events stack.
func NewWeatherEventsStack(scope constructs.Construct, id string, props *WeatherEventsStackProps) *WeatherEventsStack {
	if props == nil {
		props = &WeatherEventsStackProps{}
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &props.StackProps)

	declared := props.API
	if declared == nil {
		declared = NewWeatherAPI()
	}
	scopes := declared.Scopes
	auth := m2mauth.NewAuthServer(stack, contract.DefaultAuthPrefix, authServerProps(stack, []*m2mauth.ResourceServer{declared.Server}, declared.OwnClients(), props.Domain, props.ServiceOptions))
	service, api := serveWeatherEvents(stack, auth, WeatherStageName, props.ServiceOptions, []scopedapi.Route{
		{Method: "GET", Path: "/", Scopes: []m2mauth.Scope{scopes.Get}},
		{Method: "POST", Path: "/", Scopes: []m2mauth.Scope{scopes.Post}, BodySchema: eventSchema()},
		{Method: "GET", Path: "/{id}", Scopes: []m2mauth.Scope{scopes.Get}},
		{Method: "DELETE", Path: "/{id}", Scopes: []m2mauth.Scope{scopes.Delete}},
	})
	return &WeatherEventsStack{Stack: stack, Auth: auth, Scopes: scopes, API: api, Service: service}
}
