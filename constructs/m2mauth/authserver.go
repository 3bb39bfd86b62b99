// Package m2mauth builds a machine-to-machine OAuth 2.0 authorization server on
// Amazon Cognito: a user pool that no person signs in to, resource servers with
// custom scopes, client-credentials app clients that may each request a subset
// of those scopes, and a domain whose /oauth2/token endpoint issues access
// tokens. Each client's secret is handed to its consumer through Secrets
// Manager, never through outputs or environment variables.
package m2mauth

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/cloudformationinclude"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/internal/logicalid"
)

// AuthServer is a Cognito user pool set up as an OAuth 2.0 authorization
// server for machines.
type AuthServer struct {
	constructs.Construct

	// UserPool is the pool behind the authorizer and the token endpoint.
	UserPool awscognito.UserPool
	// ResourceServers are the declarations the pool was built from, in order.
	ResourceServers []*ResourceServer
	// Clients are the machine clients, in the order they were declared.
	Clients []*Client
	// Domain serves the OAuth 2.0 endpoints.
	Domain awscognito.UserPoolDomain
	// BaseURL is the domain's URL, "https://<host>", with no trailing slash.
	BaseURL *string
	// TokenURL is BaseURL + "/oauth2/token", where clients exchange their id and
	// secret for an access token.
	TokenURL *string
	// ClientStacks are the nested stacks that hold the clients and their
	// secrets, in the order of their shard number; shards with no client
	// have no stack.
	ClientStacks []awscdk.NestedStack
	// TokenBudgetAlarm fires when client-credentials token requests near
	// Cognito's limit; nil when TokenBudget is disabled.
	TokenBudgetAlarm awscloudwatch.Alarm
	// SuspendedClients is the table of clients suspended without a deploy
	// (contract.Suspension items; see newSuspendedClientsTable).
	SuspendedClients awsdynamodb.Table

	cognitoServers map[*ResourceServer]awscognito.UserPoolResourceServer
	rotation       *rotator
	tiers          []TierPlan
	// userPoolID is UserPool.UserPoolId(), read once: every client and
	// secret refers to it.
	userPoolID *string
}

// RotationFunction is the function that rotates the client secrets, or nil
// when rotation is disabled.
func (a *AuthServer) RotationFunction() *golambda.GoFunction {
	if a.rotation == nil {
		return nil
	}
	return a.rotation.function
}

// Client is one machine client of an AuthServer.
type Client struct {
	// Name is the name the client was declared with.
	Name string
	// Scopes are the scopes the client may request; a token request without a
	// scope gets all of them.
	Scopes []Scope
	// Stack is the nested stack that holds the client and its secret.
	Stack awscdk.NestedStack
	// Tier is the client's rate-limit tier, "" without tiers.
	Tier string
	// AccessTokenValidity is how long its access tokens live.
	AccessTokenValidity time.Duration
	// Suspended is true for a client suspended in configuration: it gets
	// no token, and its API key is disabled.
	Suspended bool

	// logicalIDs of the client's resources in its stack, which the
	// secret, the rotation schedule and the clients output refer to.
	logicalIDs clientLogicalIDs
	// resources is the include that created the client's resources with
	// the rest of its stack's (clientStackTemplate); the methods below look
	// them up the first time they are asked for, each a call into the jsii
	// kernel that most clients never need.
	resources cloudformationinclude.CfnInclude
	appClient awscognito.CfnUserPoolClient
	clientID  *string
	cfnSecret awssecretsmanager.CfnSecret
	secret    awssecretsmanager.ISecret
	cfnAPIKey awsapigateway.CfnApiKey
}

// includedResource looks up one of the client's resources by logical id in
// its stack's include, as the L1 type T; what names it in the panic of a
// resource of another type (which only a changed template could give).
func includedResource[T any](c *Client, logicalID, what string) T {
	r := c.resources.GetResource(jsii.String(logicalID))
	resource, ok := r.(T)
	if !ok {
		panic(fmt.Errorf("m2mauth: %s %s of machine client %q is a %T, not a %v", what, logicalID, c.Name, r, reflect.TypeFor[T]()))
	}
	return resource
}

// UserPoolClient is the Cognito app client, the CloudFormation resource
// itself (an L1 construct), for escape hatches.
func (c *Client) UserPoolClient() awscognito.CfnUserPoolClient {
	if c.appClient == nil {
		c.appClient = includedResource[awscognito.CfnUserPoolClient](c, c.logicalIDs.client, "app client")
	}
	return c.appClient
}

// ClientID is the app client id, a token of the app client's Ref.
func (c *Client) ClientID() *string {
	if c.clientID == nil {
		c.clientID = c.UserPoolClient().Ref()
	}
	return c.clientID
}

// CfnSecret is the Secrets Manager secret that holds {"client_id",
// "client_secret", "token_url"} for the consumer, and with a tier
// "api_key_id" and "api_key": the CloudFormation resource itself (an L1
// construct), for escape hatches. Secret is the same secret for grants.
func (c *Client) CfnSecret() awssecretsmanager.CfnSecret {
	if c.cfnSecret == nil {
		c.cfnSecret = includedResource[awssecretsmanager.CfnSecret](c, c.logicalIDs.secret, "secret")
	}
	return c.cfnSecret
}

// Secret is the client's secret (see CfnSecret) as an ISecret, to grant
// whoever calls the API read access (GrantRead). It refers to the secret by
// its complete ARN (the resource's Ref), so grants name exactly this
// secret; the construct is created, in the client's stack, the first time
// it is asked for.
func (c *Client) Secret() awssecretsmanager.ISecret {
	if c.secret == nil {
		c.secret = awssecretsmanager.Secret_FromSecretCompleteArn(c.Stack, jsii.String(constructID(c.Name)+"Secret"), c.CfnSecret().Ref())
	}
	return c.secret
}

// APIKey is the client's API key in its tier's usage plan (the
// CloudFormation resource), or nil without tiers.
func (c *Client) APIKey() awsapigateway.CfnApiKey {
	if c.Tier == "" {
		return nil
	}
	if c.cfnAPIKey == nil {
		c.cfnAPIKey = includedResource[awsapigateway.CfnApiKey](c, c.logicalIDs.apiKey, "API key")
	}
	return c.cfnAPIKey
}

// clientLogicalIDs are the logical ids of one client's resources.
type clientLogicalIDs struct {
	client, secret, rotation, apiKey, usagePlanKey string
}

// newClientLogicalIDs computes the logical ids the client's resources had
// when each was a construct of its own (internal/logicalid), and keep in
// the client stack's template: the app client and the secret were the
// "Resource" of a construct named after the client, the rest sat right
// under the stack.
func newClientLogicalIDs(id string) clientLogicalIDs {
	return clientLogicalIDs{
		client:       logicalid.Must(id+"Client", "Resource"),
		secret:       logicalid.Must(id+"Secret", "Resource"),
		rotation:     logicalid.Must(id + "Rotation"),
		apiKey:       logicalid.Must(id + "ApiKey"),
		usagePlanKey: logicalid.Must(id + "UsagePlanKey"),
	}
}

// NewAuthServer validates props and then creates the user pool, its resource
// servers, the domain, and the clients with their secrets in Secrets Manager,
// spread over nested stacks (see AuthServerProps.ClientStacks); and two
// outputs: the token URL, and one JSON list of every client's name, id,
// secret ARN and scopes. Invalid props panic with an error that names every
// bad prop and value before anything is created.
func NewAuthServer(scope constructs.Construct, id string, props *AuthServerProps) *AuthServer {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	a := &AuthServer{
		Construct:       constructs.NewConstruct(scope, &id),
		ResourceServers: append([]*ResourceServer(nil), props.ResourceServers...),
		cognitoServers:  map[*ResourceServer]awscognito.UserPoolResourceServer{},
	}
	a.UserPool = newMachineUserPool(a.Construct, props)
	a.userPoolID = a.UserPool.UserPoolId()
	for _, r := range props.ResourceServers {
		r.owner = a
		a.cognitoServers[r] = a.UserPool.AddResourceServer(jsii.String(constructID(r.identifier)+"ResourceServer"), &awscognito.UserPoolResourceServerOptions{
			Identifier:                 jsii.String(r.identifier),
			UserPoolResourceServerName: jsii.String(r.name),
			Scopes:                     cognitoScopes(r),
		})
	}
	a.Domain, a.BaseURL = newDomain(a, props.Domain)
	a.TokenURL = jsii.String(*a.BaseURL + "/oauth2/token")
	a.newUsagePlans(props.Tiers)
	a.SuspendedClients = a.newSuspendedClientsTable(props.Disposable)
	a.addClients(props)
	if !props.TokenBudget.Disabled {
		a.TokenBudgetAlarm = a.newTokenBudgetAlarm(props.TokenBudget)
	}
	a.addOutputs(id)
	a.explainNagFindings()
	return a
}

// Owns reports whether s was declared by one of this pool's resource servers.
// Other constructs use it to refuse scopes from a different pool.
func (a *AuthServer) Owns(s Scope) bool {
	return !s.IsZero() && s.server.owner == a
}

// Pool is the user pool, for constructs that take any pool that issues
// scopes (scopedapi.Authority).
func (a *AuthServer) Pool() awscognito.IUserPool { return a.UserPool }

// Issues reports whether one of this pool's resource servers declares the
// scope, written as in tokens: "<resource server identifier>/<scope name>".
func (a *AuthServer) Issues(scope string) bool {
	s, err := ParseScope(a.ResourceServers, scope)
	return err == nil && a.Owns(s)
}

// Client returns the client declared with the given name, or nil.
func (a *AuthServer) Client(name string) *Client {
	for _, c := range a.Clients {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// CognitoResourceServer returns the CloudFormation-backed resource server made
// from the declaration r, or nil when r is not one of this pool's.
func (a *AuthServer) CognitoResourceServer(r *ResourceServer) awscognito.UserPoolResourceServer {
	return a.cognitoServers[r]
}

func newMachineUserPool(scope constructs.Construct, props *AuthServerProps) awscognito.UserPool {
	removal, protection := awscdk.RemovalPolicy_RETAIN, true
	if props.Disposable {
		removal, protection = awscdk.RemovalPolicy_DESTROY, false
	}
	plan := props.FeaturePlan
	if plan == "" {
		plan = awscognito.FeaturePlan_LITE
	}
	var name *string
	if props.UserPoolName != "" {
		name = jsii.String(props.UserPoolName)
	}
	return awscognito.NewUserPool(scope, jsii.String("Resource"), &awscognito.UserPoolProps{
		UserPoolName: name,
		// Only administrators may create users; machines authenticate as app
		// clients, so the pool should never hold a user at all.
		SelfSignUpEnabled:  jsii.Bool(false),
		AccountRecovery:    awscognito.AccountRecovery_NONE,
		FeaturePlan:        plan,
		DeletionProtection: jsii.Bool(protection),
		RemovalPolicy:      removal,
		// No user signs in, but a strict policy keeps an accidental admin-created
		// user from weakening the pool (and satisfies cdk-nag AwsSolutions-COG1).
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength:            jsii.Number(14),
			RequireLowercase:     jsii.Bool(true),
			RequireUppercase:     jsii.Bool(true),
			RequireDigits:        jsii.Bool(true),
			RequireSymbols:       jsii.Bool(true),
			TempPasswordValidity: awscdk.Duration_Days(jsii.Number(1)),
		},
	})
}

func cognitoScopes(r *ResourceServer) *[]awscognito.ResourceServerScope {
	scopes := make([]awscognito.ResourceServerScope, len(r.scopes))
	for i, s := range r.scopes {
		scopes[i] = awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{
			ScopeName:        jsii.String(s.name),
			ScopeDescription: jsii.String(s.description),
		})
	}
	return &scopes
}

// addClients places each client in the nested stack of its shard, a stable
// hash of its name: adding or removing a client never moves another one, and
// moving a client between stacks would replace it (a new client id and
// secret). The shards keep every template far below CloudFormation's limits:
// two to five resources per client, and one output per stack.
//
// Every call into the CDK is a round trip to the jsii kernel (Node.js), and
// with hundreds of clients they are most of the synthesis time
// (docs/constructs.md, "Synthesis cost"): what all clients share is read
// once (clientShared), what is fixed at synth (names, JSON, OAuth settings)
// is built here in Go, and every client of a stack is written into one
// template that the stack includes in one call (clientStackTemplate).
func (a *AuthServer) addClients(props *AuthServerProps) {
	shards := props.ClientStacks
	if shards == 0 {
		shards = DefaultClientStacks
	}
	var rotation *rotator
	if !props.Rotation.Disabled {
		rotation = a.newRotator(props.Rotation.withDefaults(), props.Disposable, len(props.Tiers) > 0)
	}
	a.rotation = rotation
	shared := &clientShared{poolID: a.userPoolID, tokenURL: a.TokenURL, rotation: rotation}
	members := make([][]ClientProps, shards)
	for _, c := range props.Clients {
		n := ClientShard(c.Name, shards)
		members[n] = append(members[n], c)
	}
	byName := map[string]*Client{}
	for n, clients := range members {
		if len(clients) == 0 {
			continue
		}
		stack := awscdk.NewNestedStack(a.Construct, jsii.String(fmt.Sprintf("Clients%02d", n)), &awscdk.NestedStackProps{
			Description: jsii.String(fmt.Sprintf("scopegate: machine clients of shard %d of %d and their credentials", n, shards)),
		})
		a.ClientStacks = append(a.ClientStacks, stack)
		records := make([]any, len(clients))
		var template clientStackTemplate
		made := make([]*Client, len(clients))
		for i, c := range clients {
			client := a.newClient(&template, stack, c, props.tierOf(c), shared)
			byName[c.Name] = client
			records[i] = client.record()
			made[i] = client
		}
		include := template.include(stack)
		for _, client := range made {
			client.resources = include
		}
		a.addClientStackDependencies(stack, clients, rotation)
		// One output per nested stack, whatever its number of clients: the
		// parent joins them into its own clients output.
		out := awscdk.NewCfnOutput(stack, jsii.String("Clients"), &awscdk.CfnOutputProps{
			Value: awscdk.Token_AsString(cfnJoin(",", records), nil),
		})
		out.OverrideLogicalId(jsii.String("Clients"))
	}
	for _, c := range props.Clients {
		a.Clients = append(a.Clients, byName[c.Name])
	}
}

// clientShared is what every client of the pool refers to, each read from
// the CDK once.
type clientShared struct {
	poolID   *string // the pool's id (a token)
	tokenURL *string // may hold tokens
	rotation *rotator
}

// addClientStackDependencies makes the client stack wait for what its
// clients need in the parent stack, in one call for all of them: Cognito
// only accepts a client's OAuth scopes once their resource servers exist,
// and Secrets Manager must be allowed to invoke the rotation function before
// a rotation schedule names it. A nested stack's resources cannot depend on
// the parent's directly: the CDK puts the dependency on the nested stack's
// AWS::CloudFormation::Stack resource, which is where this puts it too.
func (a *AuthServer) addClientStackDependencies(stack awscdk.NestedStack, clients []ClientProps, rotation *rotator) {
	var deps []constructs.IDependable
	seen := map[*ResourceServer]bool{}
	scheduled := false // a suspended client's secret has no schedule
	for _, c := range clients {
		for _, s := range c.Scopes {
			if !seen[s.server] {
				seen[s.server] = true
				deps = append(deps, a.cognitoServers[s.server])
			}
		}
		scheduled = scheduled || !c.Suspended
	}
	if rotation != nil && scheduled {
		deps = append(deps, rotation.invoke)
	}
	if len(deps) > 0 {
		stack.Node().AddDependency(deps...)
	}
}

// ClientShard is the nested stack (0 to shards-1) that holds the client with
// the given name: FNV-1a of its lowercased name, so that the shard never
// depends on the other clients.
func ClientShard(name string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(name)))
	return int(h.Sum32() % uint32(shards))
}

// record is the client's contract.ClientRecord as JSON, with the id, ARN
// and API key id as references that CloudFormation resolves (see
// intrinsic.go): an Fn::Join. Its keys are in the order encoding/json
// writes a map's, as the CDK's toJsonString wrote them before.
func (c *Client) record() any {
	scopes := make([]string, len(c.Scopes))
	for i, s := range c.Scopes {
		scopes[i] = s.String()
	}
	var text intrinsicText
	// The JSON keys of contract.ClientRecord (TestClientsOutput reads
	// the output back into it).
	record := map[string]any{
		"name":      c.Name,
		"clientId":  text.mark(cfnRef(c.logicalIDs.client)),
		"secretArn": text.mark(cfnRef(c.logicalIDs.secret)),
		"scopes":    scopes,
	}
	if c.Tier != "" {
		record["tier"] = c.Tier
		record["apiKeyId"] = text.mark(cfnRef(c.logicalIDs.apiKey))
	}
	if c.Suspended {
		record["suspended"] = true
	}
	return text.join(jsonText(record))
}

// jsonText is v as compact JSON, written as JavaScript's JSON.stringify
// writes it (no HTML escapes), so that a value built here is what the CDK
// would have built. CDK tokens in strings ("${Token[...]}") need no escape
// and come through unchanged.
func jsonText(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // only strings and string lists are encoded
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// newClient writes the client's resources into its stack's template: the
// app client, its secret, with rotation the secret's schedule, and with a
// tier its API key and usage-plan key.
func (a *AuthServer) newClient(template *clientStackTemplate, stack awscdk.NestedStack, props ClientProps, tier string, shared *clientShared) *Client {
	validity := props.AccessTokenValidity
	if validity == 0 {
		validity = DefaultAccessTokenValidity
	}
	ids := newClientLogicalIDs(constructID(props.Name))
	poolID := template.parameter(poolIDParameter, shared.poolID)
	template.add(ids.client, appClientResource(props, validity, poolID))
	// CloudFormation hands out the generated secret as the client's
	// ClientSecret attribute; the template holds only the Fn::GetAtt, never the
	// value, and no custom resource or Lambda is needed to read it.
	var text intrinsicText
	fields := map[string]string{
		contract.SecretClientID:     text.mark(cfnRef(ids.client)),
		contract.SecretClientSecret: text.mark(cfnGetAtt(ids.client, "ClientSecret")),
		contract.SecretTokenURL:     *shared.tokenURL,
	}
	if tier != "" {
		// Only the key's id: its value has no CloudFormation attribute, so
		// the rotation function copies it in (right after the deploy, see
		// rotator.scheduleResource).
		a.addAPIKey(template, props, ids, tier, poolID)
		fields[contract.SecretAPIKeyID] = text.mark(cfnRef(ids.apiKey))
	}
	// Named "scopegate-<pool id>-<client>", so that the rotation function's
	// one grant covers every client secret of the pool.
	var name intrinsicText
	template.add(ids.secret, secretResource(
		name.join(secretNamePrefix(name.mark(poolID))+props.Name),
		fmt.Sprintf("OAuth 2.0 client credentials of machine client %q", props.Name),
		text.join(jsonText(fields)),
		a.secretNagRules(props.Suspended),
	))
	// A suspended client's secret is not rotated: each rotation tests the
	// new secret at the token endpoint, which refuses a suspended client.
	if r := shared.rotation; r != nil && !props.Suspended {
		functionArn := template.parameter(rotationFunctionParameter, r.functionArn)
		template.add(ids.rotation, r.scheduleResource(props.Name, cfnRef(ids.secret), functionArn, tier != ""))
	}
	return &Client{
		Name:       props.Name,
		Scopes:     append([]Scope(nil), props.Scopes...),
		Stack:      stack,
		Tier:       tier,
		logicalIDs: ids,

		AccessTokenValidity: validity,
		Suspended:           props.Suspended,
	}
}

// addOutputs gives the outputs fixed, readable names (prefixed with the
// construct id so two AuthServers in one stack do not collide): tools and
// people read them after `cdk deploy`, so they must not carry a hash. There
// are two however many clients there are: the token URL, and a JSON list of
// ClientRecord joined from one output of each client stack.
func (a *AuthServer) addOutputs(id string) {
	output := func(logicalID, description string, value *string) {
		out := awscdk.NewCfnOutput(a.Construct, jsii.String(logicalID), &awscdk.CfnOutputProps{
			Value:       value,
			Description: jsii.String(description),
		})
		out.OverrideLogicalId(jsii.String(logicalID))
	}
	output(contract.TokenURL(id), "OAuth 2.0 token endpoint (client credentials grant)", a.TokenURL)
	output(contract.UserPoolID(id), "Cognito user pool of the machine clients (bin/clients suspend and resume change its app clients)", a.UserPool.UserPoolId())
	output(contract.SuspendedClientsTable(id), "DynamoDB table of the clients suspended without a deploy (bin/clients suspend)", a.SuspendedClients.TableName())
	parts := make([]*string, len(a.ClientStacks))
	for i, stack := range a.ClientStacks {
		parts[i] = awscdk.Token_AsString(stack.NestedStackResource().GetAtt(jsii.String("Outputs.Clients"), awscdk.ResolutionTypeHint_STRING), nil)
	}
	list := awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("["), awscdk.Fn_Join(jsii.String(","), &parts), jsii.String("]")})
	output(contract.Clients(id), "JSON: every machine client's name, clientId, secretArn (Secrets Manager secret with its credentials), scopes and tier", list)
}
