// Package local runs a synthesized cloud assembly on 127.0.0.1 as AWS would
// run it (make local, cmd/local): a token endpoint per Cognito user pool
// (local/cognito), every REST API stage (local/gateway) with its Cognito
// authorizer, API keys, usage plans, validators and gateway responses, the
// functions the APIs reach, built for this machine and run through the
// Lambda Runtime API (local/lambdart), and the DynamoDB tables in dynalite
// (local/dynalite). It reads the assembly through package cloudassembly and
// resolves the templates' intrinsic functions with local/cfn. Whatever the
// templates hold that it does not emulate is listed in NotEmulated.
package local

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scopegate/scopegate/cloudassembly"
	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/local/cfn"
	"github.com/scopegate/scopegate/local/cognito"
	"github.com/scopegate/scopegate/local/dynalite"
	"github.com/scopegate/scopegate/local/lambdart"
)

// DefaultPortBase is the first of make local's fixed ports: user pools, then
// APIs, one port each in assembly order (stacks by id, resources by logical
// id).
const DefaultPortBase = 4560

// The files Start writes in StateDir (see contract).
const (
	OutputsFile = contract.LocalOutputsFile
	SecretsFile = contract.LocalSecretsFile
)

// Options configure Start.
type Options struct {
	// Assembly is the cloud assembly directory (cdk.out).
	Assembly string
	// Stacks limits the emulation to these stacks (id or name); none: all.
	Stacks []string
	// PortBase is the first fixed port; 0 picks free ports (tests).
	PortBase int
	// StateDir receives OutputsFile, SecretsFile and the function builds.
	// Default: <Assembly>/local.
	StateDir string
	// DataDir keeps the tables' items across restarts; "" keeps them in
	// memory only.
	DataDir string
	// Log receives the functions' output and one line per API request; nil
	// discards them.
	Log io.Writer
}

// Endpoint is one served user pool or API.
type Endpoint struct {
	Stack, LogicalID, Kind string
	// URL is the token endpoint (pools) or the stage's invoke URL (APIs).
	URL string
}

// Emulator is a running local deployment.
type Emulator struct {
	Endpoints []Endpoint
	// NotEmulated lists what is not emulated, one line each.
	NotEmulated []string
	// Secrets are the client secrets by secret ARN.
	Secrets map[string]contract.ClientSecret
	// Outputs are the stacks' outputs with local values.
	Outputs map[string]map[string]string
	// OutputsFile and SecretsFile are the files written.
	OutputsFile, SecretsFile string

	opts      Options
	assembly  *cloudassembly.Assembly
	eval      *cfn.Evaluator
	log       io.Writer
	logMu     sync.Mutex
	dynamo    *dynalite.Server
	functions []*lambdart.Function
	servers   []*http.Server
	pools     map[string]*cognito.Pool // by pool ARN
	byID      map[string]*cognito.Pool // by pool id
	rewrites  []string                 // remote URL, local URL pairs
	fnByArn   map[string]*fnRef
	built     map[string]string  // binary by source key
	apiKeys   map[string]*apiKey // by key id
	apiKeyIDs map[string]string  // key id by cfn.Key
}

type fnRef struct {
	stack *cloudassembly.Stack
	tpl   *cloudassembly.Template
	id    string
	name  string
	fn    *lambdart.Function
	tried bool
	err   error
}

// Start reads the assembly and starts everything it emulates. On error,
// whatever was started is stopped.
func Start(ctx context.Context, opts Options) (_ *Emulator, err error) {
	a, err := cloudassembly.Read(opts.Assembly, opts.Stacks)
	if err != nil {
		return nil, err
	}
	if opts.StateDir == "" {
		opts.StateDir = filepath.Join(opts.Assembly, "local")
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	e := &Emulator{opts: opts, assembly: a, eval: cfn.New(a), log: opts.Log, pools: map[string]*cognito.Pool{},
		byID: map[string]*cognito.Pool{}, fnByArn: map[string]*fnRef{}, built: map[string]string{},
		apiKeys: map[string]*apiKey{}, apiKeyIDs: map[string]string{},
		Secrets: map[string]contract.ClientSecret{}, Outputs: map[string]map[string]string{}}
	if e.log == nil {
		e.log = io.Discard
	}
	defer func() {
		if err != nil {
			e.Stop()
		}
	}()
	port := opts.PortBase
	nextPort := func() int {
		if opts.PortBase == 0 {
			return 0
		}
		port++
		return port - 1
	}
	if err := e.startPools(nextPort); err != nil {
		return nil, err
	}
	if err := e.startTables(ctx); err != nil {
		return nil, err
	}
	e.nameFunctions()
	if err := e.startAPIs(ctx, nextPort); err != nil {
		return nil, err
	}
	e.unreached()
	e.secrets()
	e.outputs()
	e.listRest()
	if err := e.writeFiles(); err != nil {
		return nil, err
	}
	return e, nil
}

// each calls fn for every resource of type typ, in assembly order.
func (e *Emulator) each(typ string, fn func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource)) {
	for _, s := range e.assembly.Stacks {
		for _, t := range s.Templates {
			for _, id := range t.IDs() {
				if r := t.Resources[id]; r.Type == typ {
					fn(s, t, id, r)
				}
			}
		}
	}
}

func (e *Emulator) notEmulated(s *cloudassembly.Stack, id, what, why string) {
	e.NotEmulated = append(e.NotEmulated, fmt.Sprintf("not emulated: %s/%s %s: %s", s.StackName, id, what, why))
}

// localID is a random id of n characters from alphabet.
func localID(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const (
	lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"
	alnum       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

func (e *Emulator) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	e.servers = append(e.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

func (e *Emulator) logf(format string, args ...any) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	fmt.Fprintf(e.log, format+"\n", args...)
}

func (e *Emulator) str(s *cloudassembly.Stack, t *cloudassembly.Template, v any) string {
	out, err := e.eval.String(s, t, v)
	if err != nil {
		return ""
	}
	return out
}

// startPools gives every user pool an id, a signing key and a port, and
// every app client an id and a secret.
func (e *Emulator) startPools(nextPort func() int) error {
	type pending struct {
		stack *cloudassembly.Stack
		id    string
		pool  *cognito.Pool
		ln    net.Listener
	}
	var pools []pending
	var failed error
	e.each("AWS::Cognito::UserPool", func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource) {
		if failed != nil {
			return
		}
		poolID := cfn.Region + "_" + localID(9, alnum)
		pool, err := cognito.NewPool(poolID, nil)
		if err != nil {
			failed = err
			return
		}
		ln, err := listen(nextPort(), "user pool "+s.StackName+"/"+id)
		if err != nil {
			failed = err
			return
		}
		base := "http://" + ln.Addr().String()
		pool.Issuer = base + "/" + poolID
		arn := "arn:aws:cognito-idp:" + cfn.Region + ":" + cfn.AccountID + ":userpool/" + poolID
		e.eval.Set(t, id, cfn.Values{Ref: poolID, Attrs: map[string]string{"Arn": arn,
			"ProviderName": "cognito-idp." + cfn.Region + ".amazonaws.com/" + poolID, "ProviderURL": pool.Issuer}})
		e.pools[arn], e.byID[poolID] = pool, pool
		pools = append(pools, pending{s, id, pool, ln})
		e.Endpoints = append(e.Endpoints, Endpoint{Stack: s.StackName, LogicalID: id, Kind: "user pool", URL: base + "/oauth2/token"})
	})
	if failed != nil {
		for _, p := range pools {
			p.ln.Close()
		}
		return failed
	}
	e.each("AWS::Cognito::UserPoolDomain", func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource) {
		domain := e.str(s, t, r.Properties["Domain"])
		pool := e.byID[e.str(s, t, r.Properties["UserPoolId"])]
		if domain == "" || pool == nil {
			e.notEmulated(s, id, r.Type, "its Domain or UserPoolId could not be resolved")
			return
		}
		e.eval.Set(t, id, cfn.Values{Ref: domain, Attrs: map[string]string{"CloudFrontDistribution": "local"}})
		local := strings.TrimSuffix(pool.Issuer, "/"+pool.ID)
		// A prefix domain and a custom domain: both become the pool's URL.
		e.rewrites = append(e.rewrites, "https://"+domain+".auth."+cfn.Region+".amazoncognito.com", local, "https://"+domain, local)
	})
	e.each("AWS::Cognito::UserPoolClient", func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource) {
		pool := e.byID[e.str(s, t, r.Properties["UserPoolId"])]
		if pool == nil {
			e.notEmulated(s, id, r.Type, "its UserPoolId is no user pool of the assembly")
			return
		}
		c := cognito.Client{ID: localID(26, lowerDigits), Name: e.str(s, t, r.Properties["ClientName"])}
		if c.Name == "" {
			c.Name = id
		}
		if gen, _ := r.Properties["GenerateSecret"].(bool); gen {
			c.Secret = localID(51, lowerDigits)
		}
		for _, list := range []struct {
			key string
			to  *[]string
		}{{"AllowedOAuthScopes", &c.Scopes}, {"AllowedOAuthFlows", &c.Flows}} {
			v, _ := e.eval.Eval(s, t, r.Properties[list.key])
			for _, x := range asList(v) {
				if str, ok := x.(string); ok {
					*list.to = append(*list.to, str)
				}
			}
		}
		// CloudFormation's AWS::Cognito::UserPoolClient: the OAuth 2.0
		// features need AllowedOAuthFlowsUserPoolClient true; absent is
		// false.
		oauth, _ := e.eval.Eval(s, t, r.Properties["AllowedOAuthFlowsUserPoolClient"])
		c.OAuthDisabled = oauth != true && oauth != "true"
		c.AccessTokenValidity = validity(r.Properties)
		pool.AddClient(c)
		e.eval.Set(t, id, cfn.Values{Ref: c.ID, Attrs: map[string]string{"ClientSecret": c.Secret, "Name": c.Name, "ClientId": c.ID}})
	})
	for _, p := range pools {
		e.serve(p.ln, p.pool.Handler())
	}
	return nil
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// validity is an app client's access token lifetime: AccessTokenValidity in
// TokenValidityUnits.AccessToken (hours when absent), 0 for the default.
func validity(props map[string]any) time.Duration {
	n, ok := props["AccessTokenValidity"].(float64)
	if !ok {
		return 0
	}
	unit := time.Hour
	if units, ok := props["TokenValidityUnits"].(map[string]any); ok {
		switch units["AccessToken"] {
		case "seconds":
			unit = time.Second
		case "minutes":
			unit = time.Minute
		case "days":
			unit = 24 * time.Hour
		}
	}
	return time.Duration(n) * unit
}

// rewrite replaces AWS endpoint URLs with their local ones.
func (e *Emulator) rewrite(v string) string {
	for i := 0; i+1 < len(e.rewrites); i += 2 {
		v = strings.ReplaceAll(v, e.rewrites[i], e.rewrites[i+1])
	}
	return v
}

// secrets evaluates each Secrets Manager secret's SecretString.
func (e *Emulator) secrets() {
	e.each("AWS::SecretsManager::Secret", func(s *cloudassembly.Stack, t *cloudassembly.Template, id string, r cloudassembly.Resource) {
		name := e.str(s, t, r.Properties["Name"])
		if name == "" {
			name = s.StackName + "-" + id
		}
		arn := "arn:aws:secretsmanager:" + cfn.Region + ":" + cfn.AccountID + ":secret:" + name + "-" + localID(6, alnum)
		e.eval.Set(t, id, cfn.Values{Ref: arn, Attrs: map[string]string{"Id": arn}})
		value, err := e.eval.String(s, t, r.Properties["SecretString"])
		if err != nil {
			e.notEmulated(s, id, r.Type+" SecretString", err.Error())
			return
		}
		var cs contract.ClientSecret
		if err := json.Unmarshal([]byte(e.rewrite(value)), &cs); err != nil || cs.ClientID == "" {
			e.notEmulated(s, id, r.Type, "its value is not a client secret (contract.ClientSecret)")
			return
		}
		if k, ok := e.apiKeys[cs.APIKeyID]; ok && cs.APIKey == "" {
			cs.APIKey = k.value // what the rotation function copies in, in AWS
		}
		e.Secrets[arn] = cs
	})
}

// outputs evaluates the top-level templates' outputs.
func (e *Emulator) outputs() {
	for _, s := range e.assembly.Stacks {
		t := s.Templates[0]
		out := map[string]string{}
		keys := make([]string, 0, len(t.Outputs))
		for k := range t.Outputs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, err := e.eval.String(s, t, t.Outputs[k].Value)
			if err != nil {
				e.notEmulated(s, k, "output", err.Error())
				continue
			}
			out[k] = e.rewrite(v)
		}
		e.Outputs[s.StackName] = out
	}
}

func (e *Emulator) writeFiles() error {
	e.OutputsFile = filepath.Join(e.opts.StateDir, OutputsFile)
	e.SecretsFile = filepath.Join(e.opts.StateDir, SecretsFile)
	for file, v := range map[string]any{e.OutputsFile: e.Outputs, e.SecretsFile: e.Secrets} {
		data, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(file, append(data, '\n'), 0o600); err != nil {
			return fmt.Errorf("local: %w", err)
		}
		// WriteFile keeps an existing file's mode.
		if err := os.Chmod(file, 0o600); err != nil {
			return fmt.Errorf("local: %w", err)
		}
	}
	return nil
}

// handled are the resource types Start emulates or has no behaviour to
// emulate locally; listRest lists every other resource.
var handled = map[string]string{
	"AWS::Cognito::UserPool": "", "AWS::Cognito::UserPoolClient": "", "AWS::Cognito::UserPoolDomain": "",
	"AWS::Cognito::UserPoolResourceServer": "", "AWS::ApiGateway::RestApi": "", "AWS::ApiGateway::Resource": "",
	"AWS::ApiGateway::Method": "", "AWS::ApiGateway::Authorizer": "", "AWS::ApiGateway::Stage": "",
	"AWS::ApiGateway::Deployment": "", "AWS::ApiGateway::UsagePlan": "", "AWS::ApiGateway::UsagePlanKey": "",
	"AWS::ApiGateway::ApiKey": "", "AWS::ApiGateway::GatewayResponse": "", "AWS::ApiGateway::RequestValidator": "",
	"AWS::ApiGateway::Model": "", "AWS::DynamoDB::Table": "", "AWS::Lambda::Function": "",
	"AWS::Lambda::LayerVersion": "", "AWS::SecretsManager::Secret": "", "AWS::CloudFormation::Stack": "",
	"AWS::CDK::Metadata": "",
}

// why explains the resource types make local does not emulate.
var why = map[string]string{
	"AWS::IAM::Role":                        "IAM is not enforced locally: every function may call every local resource",
	"AWS::IAM::Policy":                      "IAM is not enforced locally",
	"AWS::Lambda::Permission":               "resource policies are not enforced locally: the APIs invoke their functions directly",
	"AWS::Logs::LogGroup":                   "function output and one line per API request go to make local's output",
	"AWS::CloudWatch::Alarm":                "no CloudWatch metrics locally",
	"AWS::CloudWatch::Dashboard":            "no CloudWatch locally: the metrics its widgets show are not produced (the request lines in make local's output stand in)",
	"AWS::CloudWatch::InsightRule":          "no Contributor Insights locally: the access log its rule reads is not written (the request lines in make local's output stand in)",
	"AWS::SecretsManager::RotationSchedule": "no rotation locally: each client keeps the secret printed at start",
}

func (e *Emulator) listRest() {
	for _, s := range e.assembly.Stacks {
		for _, t := range s.Templates {
			for _, id := range t.IDs() {
				r := t.Resources[id]
				if _, ok := handled[r.Type]; ok {
					continue
				}
				reason := why[r.Type]
				if reason == "" {
					reason = "resource type not emulated"
				}
				e.notEmulated(s, id, r.Type, reason)
			}
		}
	}
}

// Stop stops the servers, the functions and dynalite, each process by its
// id.
func (e *Emulator) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, srv := range e.servers {
		_ = srv.Shutdown(ctx)
	}
	var wg sync.WaitGroup
	for _, f := range e.functions {
		wg.Add(1)
		go func() { defer wg.Done(); _ = f.Stop() }()
	}
	wg.Wait()
	if e.dynamo != nil {
		e.dynamo.Stop()
	}
}

// Pids are the ids of the processes Start started: dynalite and the
// functions' current processes.
func (e *Emulator) Pids() []int {
	var pids []int
	if e.dynamo != nil {
		pids = append(pids, e.dynamo.Pid())
	}
	for _, f := range e.functions {
		if pid := f.Pid(); pid != 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Summary is what make local prints at start: the endpoints, the clients
// and their secrets, the files, and what is not emulated.
func (e *Emulator) Summary(w io.Writer) {
	for _, ep := range e.Endpoints {
		fmt.Fprintf(w, "%-10s %s/%s  %s\n", ep.Kind, ep.Stack, ep.LogicalID, ep.URL)
	}
	arns := make([]string, 0, len(e.Secrets))
	for arn := range e.Secrets {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	for _, arn := range arns {
		s := e.Secrets[arn]
		fmt.Fprintf(w, "client     %s  client_id=%s client_secret=%s\n", s.TokenURL, s.ClientID, s.ClientSecret)
	}
	fmt.Fprintf(w, "outputs    %s\nsecrets    %s\n", e.OutputsFile, e.SecretsFile)
	for _, line := range e.NotEmulated {
		fmt.Fprintln(w, line)
	}
}

var errNoSource = errors.New("no scopegate:function metadata (not built with constructs/golambda) and no bootstrap for this machine in its asset")

func atoi(v any) int {
	switch v := v.(type) {
	case float64:
		return int(v)
	case string:
		n, _ := strconv.Atoi(v)
		return n
	}
	return 0
}
