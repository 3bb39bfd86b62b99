package rotate_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	apigatewaytypes "github.com/aws/aws-sdk-go-v2/service/apigateway/types"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognitotypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedulertypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// clock is the fakes' and the rotator's time; it moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// faults makes the next calls of an operation fail.
type faults struct {
	mu    sync.Mutex
	next  map[string][]error
	calls map[string]int
}

// failNext makes the next call of op return err.
func (f *faults) failNext(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next == nil {
		f.next = map[string][]error{}
	}
	f.next[op] = append(f.next[op], err)
}

// call counts a call of op and returns the fault planned for it, if any.
func (f *faults) call(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
	if errs := f.next[op]; len(errs) > 0 {
		f.next[op] = errs[1:]
		return errs[0]
	}
	return nil
}

func (f *faults) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

var errInjected = errors.New("injected failure")

// fakeSecrets is one Secrets Manager secret with Secrets Manager's version
// and staging-label rules: a staging label is on one version at most; moving
// AWSCURRENT puts AWSPREVIOUS on the version it left; PutSecretValue with an
// existing token is a no-op for the same value and ResourceExistsException
// for another; GetSecretValue of a version without a value (the one
// RotateSecret stages AWSPENDING before createSecret) is
// ResourceNotFoundException.
type fakeSecrets struct {
	faults
	clock *clock
	arn   string

	mu       sync.Mutex
	versions map[string]*version
}

type version struct {
	value   *string
	stages  []string
	created time.Time
}

func newFakeSecrets(c *clock, arn string) *fakeSecrets {
	return &fakeSecrets{clock: c, arn: arn, versions: map[string]*version{}}
}

func (s *fakeSecrets) check(id *string) error {
	if aws.ToString(id) != s.arn {
		return &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret.")}
	}
	return nil
}

// create stores a first value as AWSCURRENT, as CloudFormation does.
func (s *fakeSecrets) create(id, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.versions[id] = &version{value: aws.String(value), created: s.clock.Now()}
	s.move("AWSCURRENT", id)
}

// startRotation is what RotateSecret does before invoking createSecret: a
// version token, without a value, staged AWSPENDING.
func (s *fakeSecrets) startRotation(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.versions[token]; !ok {
		s.versions[token] = &version{created: s.clock.Now()}
	}
	s.move("AWSPENDING", token)
}

// endTest is what Secrets Manager does after the testSecret it runs alone to
// test a rotation configuration (set without immediate rotation): the
// AWSPENDING version it created, without a value, is removed.
func (s *fakeSecrets) endTest(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.versions[token]; v != nil && v.value == nil {
		delete(s.versions, token)
	}
}

// endRotation is what Secrets Manager does after finishSecret succeeded.
func (s *fakeSecrets) endRotation(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.versions[token]; v != nil && slices.Contains(v.stages, "AWSCURRENT") {
		v.stages = slices.DeleteFunc(v.stages, func(st string) bool { return st == "AWSPENDING" })
	}
}

// move puts stage on version to, taking it off any other; AWSCURRENT leaves
// AWSPREVIOUS behind. Called with mu held.
func (s *fakeSecrets) move(stage, to string) {
	for id, v := range s.versions {
		if id != to && slices.Contains(v.stages, stage) {
			v.stages = slices.DeleteFunc(v.stages, func(st string) bool { return st == stage })
			if stage == "AWSCURRENT" {
				s.move("AWSPREVIOUS", id)
			}
		}
	}
	if v := s.versions[to]; !slices.Contains(v.stages, stage) {
		v.stages = append(v.stages, stage)
	}
}

// holder is the version holding stage, or "". Called with mu held.
func (s *fakeSecrets) holder(stage string) string {
	for id, v := range s.versions {
		if slices.Contains(v.stages, stage) {
			return id
		}
	}
	return ""
}

// current returns AWSCURRENT's version id and value.
func (s *fakeSecrets) current() (string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.holder("AWSCURRENT")
	return id, aws.ToString(s.versions[id].value)
}

// valueOf returns version id's value, and whether it has one.
func (s *fakeSecrets) valueOf(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.versions[id]; v != nil && v.value != nil {
		return *v.value, true
	}
	return "", false
}

func (s *fakeSecrets) stagesOf(id string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.versions[id]; v != nil {
		return slices.Sorted(slices.Values(v.stages))
	}
	return nil
}

func (s *fakeSecrets) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	if err := s.call("DescribeSecret"); err != nil {
		return nil, err
	}
	if err := s.check(in.SecretId); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stages := map[string][]string{}
	for id, v := range s.versions {
		if len(v.stages) > 0 {
			stages[id] = slices.Clone(v.stages)
		}
	}
	return &secretsmanager.DescribeSecretOutput{ARN: aws.String(s.arn), Name: aws.String("client-secret"), RotationEnabled: aws.Bool(true), VersionIdsToStages: stages}, nil
}

func (s *fakeSecrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	if err := s.call("GetSecretValue"); err != nil {
		return nil, err
	}
	if err := s.check(in.SecretId); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := aws.ToString(in.VersionId)
	stage := aws.ToString(in.VersionStage)
	if id == "" {
		if stage == "" {
			stage = "AWSCURRENT"
		}
		id = s.holder(stage)
	}
	v := s.versions[id]
	if v == nil || (stage != "" && !slices.Contains(v.stages, stage)) || v.value == nil {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find the specified secret value for VersionId: " + id + " VersionStage: " + stage)}
	}
	return &secretsmanager.GetSecretValueOutput{
		ARN: aws.String(s.arn), Name: aws.String("client-secret"), CreatedDate: aws.Time(v.created),
		SecretString: aws.String(*v.value), VersionId: aws.String(id), VersionStages: slices.Clone(v.stages),
	}, nil
}

func (s *fakeSecrets) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	if err := s.call("PutSecretValue"); err != nil {
		return nil, err
	}
	if err := s.check(in.SecretId); err != nil {
		return nil, err
	}
	token := aws.ToString(in.ClientRequestToken)
	if token == "" || in.SecretString == nil {
		return nil, &smtypes.InvalidParameterException{Message: aws.String("ClientRequestToken and SecretString are required here")}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.versions[token]
	if v != nil && v.value != nil {
		if *v.value != *in.SecretString {
			return nil, &smtypes.ResourceExistsException{Message: aws.String("You can't modify an existing version, you can only create a new version.")}
		}
		return &secretsmanager.PutSecretValueOutput{ARN: aws.String(s.arn), VersionId: aws.String(token), VersionStages: slices.Clone(v.stages)}, nil
	}
	if v == nil {
		v = &version{created: s.clock.Now()}
		s.versions[token] = v
	}
	v.value = aws.String(*in.SecretString)
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{"AWSCURRENT"}
	}
	for _, st := range stages {
		s.move(st, token)
	}
	return &secretsmanager.PutSecretValueOutput{ARN: aws.String(s.arn), VersionId: aws.String(token), VersionStages: slices.Clone(v.stages)}, nil
}

func (s *fakeSecrets) UpdateSecretVersionStage(_ context.Context, in *secretsmanager.UpdateSecretVersionStageInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error) {
	if err := s.call("UpdateSecretVersionStage"); err != nil {
		return nil, err
	}
	if err := s.check(in.SecretId); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	stage, to, from := aws.ToString(in.VersionStage), aws.ToString(in.MoveToVersionId), aws.ToString(in.RemoveFromVersionId)
	holder := s.holder(stage)
	if from != "" && from != holder {
		return nil, &smtypes.InvalidParameterException{Message: aws.String("The staging label " + stage + " is not attached to version " + from)}
	}
	if to != "" {
		if holder != "" && holder != to && from != holder {
			return nil, &smtypes.InvalidParameterException{Message: aws.String("The staging label " + stage + " is attached to another version; specify it in RemoveFromVersionId")}
		}
		if s.versions[to] == nil || s.versions[to].value == nil {
			return nil, &smtypes.ResourceNotFoundException{Message: aws.String("Secrets Manager can't find version " + to)}
		}
		s.move(stage, to)
	} else if from != "" {
		v := s.versions[from]
		v.stages = slices.DeleteFunc(v.stages, func(st string) bool { return st == stage })
	}
	return &secretsmanager.UpdateSecretVersionStageOutput{ARN: aws.String(s.arn)}, nil
}

// fakeCognito is one app client of one pool with Cognito's secret rules: two
// secrets at most, the last one cannot be deleted, values are returned once,
// by AddUserPoolClientSecret, never by ListUserPoolClientSecrets (which
// answers one secret per page, to exercise pagination).
type fakeCognito struct {
	faults
	clock          *clock
	pool, clientID string

	mu      sync.Mutex
	secrets []*cognitoSecret
	n       int
	values  []string // every value ever generated
}

type cognitoSecret struct {
	id, value string
	created   time.Time
}

func newFakeCognito(c *clock, pool, clientID string) *fakeCognito {
	return &fakeCognito{clock: c, pool: pool, clientID: clientID}
}

func (c *fakeCognito) check(pool, client *string) error {
	if aws.ToString(pool) != c.pool || aws.ToString(client) != c.clientID {
		return &cognitotypes.ResourceNotFoundException{Message: aws.String("User pool client does not exist.")}
	}
	return nil
}

// add adds a secret outside the rotation (the client's first, as
// CloudFormation creates it) and returns its id and value.
func (c *fakeCognito) add() (string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	b := make([]byte, 26)
	rand.Read(b)
	s := &cognitoSecret{id: fmt.Sprintf("%s--%d", c.clientID, c.n), value: hex.EncodeToString(b), created: c.clock.Now()}
	c.secrets = append(c.secrets, s)
	c.values = append(c.values, s.value)
	return s.id, s.value
}

// ids are the client's secrets' ids, oldest first.
func (c *fakeCognito) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for _, s := range c.secrets {
		ids = append(ids, s.id)
	}
	return ids
}

// valid says whether the credentials would get a token.
func (c *fakeCognito) valid(clientID, secret string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return clientID == c.clientID && slices.ContainsFunc(c.secrets, func(s *cognitoSecret) bool { return s.value == secret })
}

// drop removes a secret behind the rotation's back, as an operator might.
func (c *fakeCognito) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.secrets = slices.DeleteFunc(c.secrets, func(s *cognitoSecret) bool { return s.id == id })
}

func (c *fakeCognito) AddUserPoolClientSecret(_ context.Context, in *cognitoidentityprovider.AddUserPoolClientSecretInput, _ ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AddUserPoolClientSecretOutput, error) {
	if err := c.call("AddUserPoolClientSecret"); err != nil {
		return nil, err
	}
	if err := c.check(in.UserPoolId, in.ClientId); err != nil {
		return nil, err
	}
	c.mu.Lock()
	full := len(c.secrets) >= 2
	c.mu.Unlock()
	if full {
		return nil, &cognitotypes.LimitExceededException{Message: aws.String("The app client already has the maximum number of client secrets.")}
	}
	if in.ClientSecret != nil {
		return nil, errors.New("the fake generates secrets only")
	}
	id, value := c.add()
	c.mu.Lock()
	created := c.secrets[len(c.secrets)-1].created
	c.mu.Unlock()
	return &cognitoidentityprovider.AddUserPoolClientSecretOutput{ClientSecretDescriptor: &cognitotypes.ClientSecretDescriptorType{
		ClientSecretId: aws.String(id), ClientSecretValue: aws.String(value), ClientSecretCreateDate: aws.Time(created),
	}}, nil
}

func (c *fakeCognito) ListUserPoolClientSecrets(_ context.Context, in *cognitoidentityprovider.ListUserPoolClientSecretsInput, _ ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.ListUserPoolClientSecretsOutput, error) {
	if err := c.call("ListUserPoolClientSecrets"); err != nil {
		return nil, err
	}
	if err := c.check(in.UserPoolId, in.ClientId); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	start := 0
	if in.NextToken != nil {
		fmt.Sscanf(*in.NextToken, "page-%d", &start)
	}
	out := &cognitoidentityprovider.ListUserPoolClientSecretsOutput{}
	if start < len(c.secrets) {
		s := c.secrets[start]
		out.ClientSecrets = []cognitotypes.ClientSecretDescriptorType{{ClientSecretId: aws.String(s.id), ClientSecretCreateDate: aws.Time(s.created)}}
	}
	if start+1 < len(c.secrets) {
		out.NextToken = aws.String(fmt.Sprintf("page-%d", start+1))
	}
	return out, nil
}

func (c *fakeCognito) DeleteUserPoolClientSecret(_ context.Context, in *cognitoidentityprovider.DeleteUserPoolClientSecretInput, _ ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.DeleteUserPoolClientSecretOutput, error) {
	if err := c.call("DeleteUserPoolClientSecret"); err != nil {
		return nil, err
	}
	if err := c.check(in.UserPoolId, in.ClientId); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.IndexFunc(c.secrets, func(s *cognitoSecret) bool { return s.id == aws.ToString(in.ClientSecretId) })
	if i < 0 {
		return nil, &cognitotypes.ResourceNotFoundException{Message: aws.String("Client secret does not exist.")}
	}
	if len(c.secrets) == 1 {
		return nil, &cognitotypes.InvalidParameterException{Message: aws.String("Cannot delete the last client secret.")}
	}
	c.secrets = slices.Delete(c.secrets, i, i+1)
	return &cognitoidentityprovider.DeleteUserPoolClientSecretOutput{}, nil
}

// fakeScheduler keeps the schedules created, with EventBridge Scheduler's
// rules: a name already taken is a ConflictException for CreateSchedule;
// GetSchedule and UpdateSchedule of a name not taken are a
// ResourceNotFoundException; UpdateSchedule replaces the whole definition.
// Every expression a schedule ever had is kept, in order.
type fakeScheduler struct {
	faults
	mu          sync.Mutex
	schedules   map[string]*scheduler.CreateScheduleInput
	expressions map[string][]string
}

func (s *fakeScheduler) CreateSchedule(_ context.Context, in *scheduler.CreateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error) {
	if err := s.call("CreateSchedule"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schedules == nil {
		s.schedules = map[string]*scheduler.CreateScheduleInput{}
		s.expressions = map[string][]string{}
	}
	name := aws.ToString(in.Name)
	if _, ok := s.schedules[name]; ok {
		return nil, &schedulertypes.ConflictException{Message: aws.String("Schedule " + name + " already exists.")}
	}
	s.schedules[name] = in
	s.expressions[name] = append(s.expressions[name], aws.ToString(in.ScheduleExpression))
	return &scheduler.CreateScheduleOutput{ScheduleArn: aws.String("arn:aws:scheduler:us-east-1:123456789012:schedule/default/" + name)}, nil
}

func (s *fakeScheduler) notFound(name string) error {
	return &schedulertypes.ResourceNotFoundException{Message: aws.String("Schedule " + name + " does not exist.")}
}

func (s *fakeScheduler) GetSchedule(_ context.Context, in *scheduler.GetScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	if err := s.call("GetSchedule"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := aws.ToString(in.Name)
	c := s.schedules[name]
	if c == nil {
		return nil, s.notFound(name)
	}
	return &scheduler.GetScheduleOutput{
		Name: c.Name, Arn: aws.String("arn:aws:scheduler:us-east-1:123456789012:schedule/default/" + name), GroupName: aws.String("default"),
		ScheduleExpression: c.ScheduleExpression, ScheduleExpressionTimezone: c.ScheduleExpressionTimezone,
		FlexibleTimeWindow: c.FlexibleTimeWindow, ActionAfterCompletion: c.ActionAfterCompletion, Target: c.Target,
		Description: c.Description, State: schedulertypes.ScheduleStateEnabled,
	}, nil
}

func (s *fakeScheduler) UpdateSchedule(_ context.Context, in *scheduler.UpdateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	if err := s.call("UpdateSchedule"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := aws.ToString(in.Name)
	if s.schedules[name] == nil {
		return nil, s.notFound(name)
	}
	if in.ScheduleExpression == nil || in.FlexibleTimeWindow == nil || in.Target == nil {
		return nil, &schedulertypes.ValidationException{Message: aws.String("ScheduleExpression, FlexibleTimeWindow and Target are required")}
	}
	s.schedules[name] = &scheduler.CreateScheduleInput{
		Name: in.Name, Description: in.Description, ScheduleExpression: in.ScheduleExpression,
		ScheduleExpressionTimezone: in.ScheduleExpressionTimezone, FlexibleTimeWindow: in.FlexibleTimeWindow,
		ActionAfterCompletion: in.ActionAfterCompletion, Target: in.Target,
	}
	s.expressions[name] = append(s.expressions[name], aws.ToString(in.ScheduleExpression))
	return &scheduler.UpdateScheduleOutput{ScheduleArn: aws.String("arn:aws:scheduler:us-east-1:123456789012:schedule/default/" + name)}, nil
}

// put stores a schedule as if created outside the rotation (by a version of
// the function that scheduled before moving AWSCURRENT).
func (s *fakeScheduler) put(in *scheduler.CreateScheduleInput) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schedules == nil {
		s.schedules = map[string]*scheduler.CreateScheduleInput{}
		s.expressions = map[string][]string{}
	}
	s.schedules[aws.ToString(in.Name)] = in
	s.expressions[aws.ToString(in.Name)] = append(s.expressions[aws.ToString(in.Name)], aws.ToString(in.ScheduleExpression))
}

// remove deletes a schedule, as Scheduler does after its last invocation
// (ActionAfterCompletion DELETE).
func (s *fakeScheduler) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.schedules, name)
}

// history is every expression schedule name had, in order.
func (s *fakeScheduler) history(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.expressions[name])
}

func (s *fakeScheduler) get(name string) *scheduler.CreateScheduleInput {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.schedules[name]
}

func (s *fakeScheduler) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.schedules)
}

// fakeAPIGateway holds API keys by id, with API Gateway's rules: GetApiKey
// returns a key's value only when asked with IncludeValue, and answers
// NotFoundException for an unknown id.
type fakeAPIGateway struct {
	faults
	mu     sync.Mutex
	keys   map[string]*apiKey
	values []string // every value ever held
}

type apiKey struct {
	value   string
	enabled bool
}

// newValue gives key id a new random value, enabled, and returns it.
func (g *fakeAPIGateway) newValue(id string) string {
	b := make([]byte, 20)
	rand.Read(b)
	v := hex.EncodeToString(b)
	g.set(id, v, true)
	return v
}

// set replaces key id; an empty value is a key API Gateway answers without
// one.
func (g *fakeAPIGateway) set(id, value string, enabled bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.keys == nil {
		g.keys = map[string]*apiKey{}
	}
	g.keys[id] = &apiKey{value: value, enabled: enabled}
	if value != "" {
		g.values = append(g.values, value)
	}
}

// remove deletes key id.
func (g *fakeAPIGateway) remove(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.keys, id)
}

func (g *fakeAPIGateway) GetApiKey(_ context.Context, in *apigateway.GetApiKeyInput, _ ...func(*apigateway.Options)) (*apigateway.GetApiKeyOutput, error) {
	if err := g.call("GetApiKey"); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	id := aws.ToString(in.ApiKey)
	k := g.keys[id]
	if k == nil {
		return nil, &apigatewaytypes.NotFoundException{Message: aws.String("Invalid API Key identifier specified")}
	}
	out := &apigateway.GetApiKeyOutput{Id: aws.String(id), Name: aws.String("tier-key"), Enabled: k.enabled}
	if aws.ToBool(in.IncludeValue) && k.value != "" {
		out.Value = aws.String(k.value)
	}
	return out, nil
}

// fakeTokens asks the fake Cognito whether the credentials are valid.
type fakeTokens struct {
	faults
	cognito *fakeCognito
	urls    []string
}

func (f *fakeTokens) Test(_ context.Context, tokenURL, clientID, clientSecret string) error {
	if err := f.call("Test"); err != nil {
		return err
	}
	f.urls = append(f.urls, tokenURL)
	if !f.cognito.valid(clientID, clientSecret) {
		return errors.New("the token endpoint answered 400 invalid_client")
	}
	return nil
}

// hangingSecrets never answers GetSecretValue before its context ends.
type hangingSecrets struct{ *fakeSecrets }

func (h hangingSecrets) GetSecretValue(ctx context.Context, _ *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
