package rotate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	schedulertypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth/rotator/rotate"
)

const (
	pool        = "us-east-1_AbCdEf123"
	clientID    = "4example5client6id"
	secretARN   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:weather-service-AbCdEf"
	tokenURL    = "https://auth.example.com/oauth2/token"
	functionARN = "arn:aws:lambda:us-east-1:123456789012:function:rotation"
	roleARN     = "arn:aws:iam::123456789012:role/retire-schedules"
	overlap     = 7 * 24 * time.Hour
	apiKeyID    = "abc123defg"
)

var steps = []string{rotate.StepCreate, rotate.StepSet, rotate.StepTest, rotate.StepFinish}

// env is one client in a rate-limit tier: its Cognito secrets, its API
// Gateway API key, its Secrets Manager secret (first written as
// CloudFormation does: without client_secret_id, with api_key_id and without
// api_key), a scheduler and the rotator.
type env struct {
	t          *testing.T
	clock      *clock
	secrets    *fakeSecrets
	cognito    *fakeCognito
	apiGateway *fakeAPIGateway
	scheduler  *fakeScheduler
	tokens     *fakeTokens
	r          *rotate.Rotator
	logs       bytes.Buffer
	errs       []string
	firstID    string
	apiKey     string // the API key's value in API Gateway
}

func setup(t *testing.T) *env {
	t.Helper()
	return setupWith(t, nil)
}

// setupWith is setup with the secret's first value changed by edit.
// setupAt is setup, and with later one rotation ("t0") whose overlap window
// has ended; current is AWSCURRENT's version.
func setupAt(t *testing.T, later bool) (e *env, current string) {
	t.Helper()
	e = setup(t)
	if !later {
		return e, "v0"
	}
	require.NoError(t, e.rotate("t0"))
	e.clock.Advance(overlap)
	return e, "t0"
}

func setupWith(t *testing.T, edit func(first map[string]string)) *env {
	t.Helper()
	e := &env{t: t, clock: &clock{now: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}, scheduler: &fakeScheduler{}, apiGateway: &fakeAPIGateway{}}
	e.cognito = newFakeCognito(e.clock, pool, clientID)
	e.secrets = newFakeSecrets(e.clock, secretARN)
	e.tokens = &fakeTokens{cognito: e.cognito}
	e.apiKey = e.apiGateway.newValue(apiKeyID)
	id, value := e.cognito.add()
	e.firstID = id
	e.clock.Advance(time.Minute)
	fields := map[string]string{"client_id": clientID, "client_secret": value, "token_url": tokenURL, "api_key_id": apiKeyID}
	if edit != nil {
		edit(fields)
	}
	first, err := json.Marshal(fields)
	require.NoError(t, err)
	e.secrets.create("v0", string(first))
	e.r = &rotate.Rotator{
		Cognito: e.cognito, Secrets: e.secrets, Scheduler: e.scheduler, APIKeys: e.apiGateway, Tokens: e.tokens,
		UserPoolID: pool, Overlap: overlap,
		RetireTarget: rotate.Target{FunctionArn: functionARN, RoleArn: roleARN},
		Now:          e.clock.Now,
		Logger:       slog.New(slog.NewJSONHandler(&e.logs, nil)),
	}
	// Nothing logged or returned holds a secret value or an API key.
	t.Cleanup(func() {
		text := e.logs.String() + strings.Join(e.errs, "\n")
		for _, v := range e.cognito.values {
			assert.NotContains(t, text, v, "a secret value in the logs or errors")
		}
		for _, v := range e.apiGateway.values {
			assert.NotContains(t, text, v, "an API key in the logs or errors")
		}
	})
	return e
}

func (e *env) handle(event any) error {
	e.t.Helper()
	b, err := json.Marshal(event)
	require.NoError(e.t, err)
	e.clock.Advance(time.Second)
	err = e.r.Handle(context.Background(), b)
	if err != nil {
		e.errs = append(e.errs, err.Error())
	}
	return err
}

func (e *env) step(token, step string) error {
	e.t.Helper()
	return e.handle(map[string]string{"SecretId": secretARN, "ClientRequestToken": token, "Step": step})
}

// rotate runs a rotation as Secrets Manager does: stage the token AWSPENDING,
// the four steps, and, if all succeeded, take AWSPENDING off.
func (e *env) rotate(token string) error {
	e.t.Helper()
	e.secrets.startRotation(token)
	for _, s := range steps {
		if err := e.step(token, s); err != nil {
			return err
		}
	}
	e.secrets.endRotation(token)
	return nil
}

func (e *env) retire(id string) error {
	e.t.Helper()
	return e.handle(map[string]string{"scopegate": "retire", "SecretId": secretARN, "ClientSecretId": id})
}

// current is AWSCURRENT's version and fields.
func (e *env) current() (string, map[string]string) {
	e.t.Helper()
	id, value := e.secrets.current()
	var fields map[string]string
	require.NoError(e.t, json.Unmarshal([]byte(value), &fields))
	return id, fields
}

// currentWorks checks that AWSCURRENT is version want and its credentials
// get a token.
func (e *env) currentWorks(want string) map[string]string {
	e.t.Helper()
	id, fields := e.current()
	assert.Equal(e.t, want, id, "AWSCURRENT")
	assert.True(e.t, e.cognito.valid(fields["client_id"], fields["client_secret"]), "AWSCURRENT's client secret works")
	return fields
}

func TestFourStepsThenRetire(t *testing.T) {
	e := setup(t)
	_, before := e.current()
	require.NoError(t, e.rotate("t1"))
	finishedAt := e.clock.Now()

	after := e.currentWorks("t1")
	assert.NotEqual(t, before["client_secret"], after["client_secret"])
	newID := e.cognito.ids()[1]
	assert.Equal(t, map[string]string{
		"client_id": clientID, "client_secret": after["client_secret"], "client_secret_id": newID,
		"token_url": tokenURL, "api_key": e.apiKey, "api_key_id": apiKeyID,
	}, after, "every field kept, client_secret, client_secret_id and api_key set")
	assert.Equal(t, 1, e.apiGateway.count("GetApiKey"))
	assert.Equal(t, []string{"AWSCURRENT"}, e.secrets.stagesOf("t1"))
	assert.Equal(t, []string{"AWSPREVIOUS"}, e.secrets.stagesOf("v0"))
	assert.Equal(t, []string{tokenURL}, e.tokens.urls, "testSecret asked the secret's token_url")

	// The old secret still works, and its retirement is scheduled.
	assert.Equal(t, []string{e.firstID, newID}, e.cognito.ids())
	assert.True(t, e.cognito.valid(clientID, before["client_secret"]), "the old secret keeps working")
	require.Equal(t, 1, e.scheduler.len())
	s := e.scheduler.get(rotate.ScheduleName(secretARN, e.firstID))
	require.NotNil(t, s, "a schedule named after the secret and the Cognito secret")
	assert.Regexp(t, `^scopegate-retire-[0-9a-f]{16}$`, aws.ToString(s.Name))
	assert.Equal(t, "at("+finishedAt.Add(overlap).Format("2006-01-02T15:04:05")+")", aws.ToString(s.ScheduleExpression))
	assert.Nil(t, s.ScheduleExpressionTimezone, "at() in UTC, the default")
	assert.Equal(t, schedulertypes.FlexibleTimeWindowModeOff, s.FlexibleTimeWindow.Mode)
	assert.Equal(t, schedulertypes.ActionAfterCompletionDelete, s.ActionAfterCompletion)
	assert.Equal(t, functionARN, aws.ToString(s.Target.Arn))
	assert.Equal(t, roleARN, aws.ToString(s.Target.RoleArn))
	assert.JSONEq(t, `{"scopegate":"retire","SecretId":"`+secretARN+`","ClientSecretId":"`+e.firstID+`"}`, aws.ToString(s.Target.Input))

	// The schedule fires: the old secret goes, the new one stays.
	e.clock.Advance(overlap)
	var input json.RawMessage = []byte(aws.ToString(s.Target.Input))
	require.NoError(t, e.handle(input))
	assert.Equal(t, []string{newID}, e.cognito.ids())
	assert.False(t, e.cognito.valid(clientID, before["client_secret"]))
	e.currentWorks("t1")
	// Fired again (Scheduler delivers at least once): already gone is fine.
	require.NoError(t, e.handle(input))
	assert.Equal(t, []string{newID}, e.cognito.ids())

	// The next rotation, a day later, needs no deletion.
	e.clock.Advance(24 * time.Hour)
	require.NoError(t, e.rotate("t2"))
	e.currentWorks("t2")
	assert.Len(t, e.cognito.ids(), 2)
	assert.NotNil(t, e.scheduler.get(rotate.ScheduleName(secretARN, newID)))
}

func TestEachStepRetriedIsIdempotent(t *testing.T) {
	e := setup(t)
	_, before := e.current()
	e.secrets.startRotation("t1")
	for _, s := range steps {
		require.NoError(t, e.step("t1", s), s)
		require.NoError(t, e.step("t1", s), "%s retried", s)
	}
	e.secrets.endRotation("t1")
	after := e.currentWorks("t1")
	assert.Equal(t, 1, e.cognito.count("AddUserPoolClientSecret"), "one secret added")
	assert.Equal(t, 1, e.secrets.count("PutSecretValue"))
	assert.Equal(t, []string{e.firstID, after["client_secret_id"]}, e.cognito.ids())
	assert.True(t, e.cognito.valid(clientID, before["client_secret"]))
	assert.Equal(t, 1, e.scheduler.len())

	// The whole rotation delivered again changes nothing.
	for _, s := range steps {
		require.NoError(t, e.step("t1", s), s)
	}
	assert.Equal(t, after, e.currentWorks("t1"))
	assert.Equal(t, 1, e.cognito.count("AddUserPoolClientSecret"))
	assert.Equal(t, 1, e.secrets.count("UpdateSecretVersionStage"))
}

// A failure in any step leaves AWSCURRENT and its Cognito secret as they
// were, except a failure to schedule the retirement, which comes after the
// move (so that the overlap is measured from it): AWSCURRENT is then the new
// version, and the previous secret keeps working, unscheduled. Secrets
// Manager's retry of the rotation (same token, from createSecret) then
// completes it, leaving nothing behind. Both for the first rotation (from
// CloudFormation's value) and for a later one (which deletes the previous
// rotation's secret first).
func TestFailureInEachStepLosesNothing(t *testing.T) {
	for _, later := range []bool{false, true} {
		for _, c := range []struct {
			name, step, want string
			fail             func(e *env)
			moved            bool // AWSCURRENT is moved before the failure
		}{
			{"AddUserPoolClientSecret fails", rotate.StepCreate, "AddUserPoolClientSecret", func(e *env) { e.cognito.failNext("AddUserPoolClientSecret", errInjected) }, false},
			{"ListUserPoolClientSecrets fails", rotate.StepCreate, "ListUserPoolClientSecrets", func(e *env) { e.cognito.failNext("ListUserPoolClientSecrets", errInjected) }, false},
			{"PutSecretValue fails after Add", rotate.StepCreate, "PutSecretValue", func(e *env) { e.secrets.failNext("PutSecretValue", errInjected) }, false},
			{"testSecret fails", rotate.StepTest, "got no token", func(e *env) { e.tokens.failNext("Test", errInjected) }, false},
			{"UpdateSecretVersionStage fails", rotate.StepFinish, "UpdateSecretVersionStage", func(e *env) { e.secrets.failNext("UpdateSecretVersionStage", errInjected) }, false},
			{"CreateSchedule fails", rotate.StepFinish, "CreateSchedule", func(e *env) { e.scheduler.failNext("CreateSchedule", errInjected) }, true},
		} {
			name := c.name
			if later {
				name = "later rotation/" + name
			}
			t.Run(name, func(t *testing.T) {
				e, current := setupAt(t, later)
				_, before := e.current()
				schedules := e.scheduler.len()

				c.fail(e)
				err := e.rotate("t1")
				require.Error(t, err)
				assert.ErrorContains(t, err, c.step+" of secret "+secretARN)
				assert.ErrorContains(t, err, c.want)
				assert.ErrorIs(t, err, errInjected)
				if c.moved {
					e.currentWorks("t1")
					assert.Equal(t, schedules, e.scheduler.len(), "nothing scheduled")
				} else {
					_, fields := e.current()
					assert.Equal(t, before, fields, "AWSCURRENT unchanged")
					e.currentWorks(current)
				}
				assert.True(t, e.cognito.valid(clientID, before["client_secret"]), "the previous secret keeps working")

				// Secrets Manager retries the rotation.
				require.NoError(t, e.rotate("t1"))
				after := e.currentWorks("t1")
				assert.True(t, e.cognito.valid(clientID, before["client_secret"]), "the previous secret keeps working")
				ids := e.cognito.ids()
				assert.Len(t, ids, 2, "the previous and the new secret, no orphan")
				assert.Contains(t, ids, after["client_secret_id"])
				assert.Equal(t, schedules+1, e.scheduler.len())
				previousID := before["client_secret_id"]
				if previousID == "" {
					previousID = e.firstID
				}
				assert.Contains(t, ids, previousID)
				assert.NotNil(t, e.scheduler.get(rotate.ScheduleName(secretARN, previousID)))
			})
		}
	}
}

// An attempt whose Add succeeded and whose PutSecretValue failed leaves a
// Cognito secret nobody holds; the retry deletes it before adding.
func TestOrphanIsDeletedOnRetry(t *testing.T) {
	e := setup(t)
	e.secrets.failNext("PutSecretValue", errInjected)
	require.Error(t, e.rotate("t1"))
	ids := e.cognito.ids()
	require.Len(t, ids, 2)
	orphan := ids[1]

	require.NoError(t, e.rotate("t1"))
	after := e.currentWorks("t1")
	assert.NotContains(t, e.cognito.ids(), orphan)
	assert.Equal(t, []string{e.firstID, after["client_secret_id"]}, e.cognito.ids())
	assert.Contains(t, e.logs.String(), orphan, "the deletion is logged, by id")
}

// A rotation abandoned after its value was stored (testSecret kept failing)
// and a new rotation with another token: the abandoned secret is deleted.
func TestAbandonedRotationThenAnother(t *testing.T) {
	e := setup(t)
	e.tokens.failNext("Test", errInjected)
	require.Error(t, e.rotate("t1"))
	e.currentWorks("v0")
	require.NoError(t, e.rotate("t2"))
	after := e.currentWorks("t2")
	assert.Equal(t, []string{e.firstID, after["client_secret_id"]}, e.cognito.ids())
}

func TestRotationBeforeTheOverlapEndsFails(t *testing.T) {
	e := setup(t)
	require.NoError(t, e.rotate("t1"))
	_, first := e.current()
	e.clock.Advance(24 * time.Hour)

	// AWSCURRENT's api_key is API Gateway's: nothing to repair.
	err := e.rotate("t2")
	require.Error(t, err)
	assert.ErrorContains(t, err, "createSecret of secret "+secretARN)
	assert.ErrorContains(t, err, "the rotation came before the overlap window ended")
	assert.Equal(t, 0, e.cognito.count("DeleteUserPoolClientSecret"))
	assert.Equal(t, 1, e.cognito.count("AddUserPoolClientSecret"))
	assert.Equal(t, 1, e.secrets.count("PutSecretValue"), "nothing stored")
	assert.Equal(t, 2, e.apiGateway.count("GetApiKey"), "the api_key checked")
	e.currentWorks("t1")
	assert.Len(t, e.cognito.ids(), 2, "both secrets kept")

	// Once AWSCURRENT has been in use for the overlap (the retire schedule
	// has not run), the rotation deletes the previous secret itself.
	e.clock.Advance(overlap)
	require.NoError(t, e.rotate("t2"))
	after := e.currentWorks("t2")
	assert.Equal(t, []string{first["client_secret_id"], after["client_secret_id"]}, e.cognito.ids())
	assert.NotContains(t, e.cognito.ids(), e.firstID)
	// Its schedule fires later: already gone.
	require.NoError(t, e.retire(e.firstID))
}

func TestRetireRefusesTheCurrentAndTheLastSecret(t *testing.T) {
	e := setup(t)
	// Before any rotation: the only secret, which AWSCURRENT holds.
	err := e.retire(e.firstID)
	assert.ErrorContains(t, err, "retire of secret "+secretARN+": refused")
	assert.Equal(t, []string{e.firstID}, e.cognito.ids())

	// A rotation whose finishSecret failed to move AWSCURRENT schedules
	// nothing; a retire event for the secret AWSCURRENT still holds (a
	// schedule left by a version that scheduled before moving) is refused.
	e.secrets.failNext("UpdateSecretVersionStage", errInjected)
	require.Error(t, e.rotate("t1"))
	assert.Nil(t, e.scheduler.get(rotate.ScheduleName(secretARN, e.firstID)), "nothing scheduled before the move")
	e.clock.Advance(overlap)
	err = e.handle(json.RawMessage(rotate.RetireInput(secretARN, e.firstID)))
	assert.ErrorContains(t, err, "refused: Cognito secret "+e.firstID+" is the one AWSCURRENT holds")
	assert.Len(t, e.cognito.ids(), 2)
	e.currentWorks("v0")

	// After a rotation: the current secret is refused.
	require.NoError(t, e.rotate("t1"))
	after := e.currentWorks("t1")
	err = e.retire(after["client_secret_id"])
	assert.ErrorContains(t, err, "refused: Cognito secret "+after["client_secret_id"]+" is the one AWSCURRENT holds")
	assert.Len(t, e.cognito.ids(), 2)

	// The last secret is refused even when AWSCURRENT names another (an
	// operator deleted it).
	e.cognito.drop(after["client_secret_id"])
	err = e.retire(e.firstID)
	assert.ErrorContains(t, err, "refused: Cognito secret "+e.firstID+" is client "+clientID+"'s only secret")
	assert.Equal(t, []string{e.firstID}, e.cognito.ids())
}

func TestStepsRefuseWhatIsNotARotation(t *testing.T) {
	e := setup(t)
	assert.ErrorContains(t, e.step("nope", rotate.StepCreate), "version nope is not a version of the secret")
	assert.ErrorContains(t, e.step("v0", "dropSecret"), `unknown step "dropSecret"`)
	require.NoError(t, e.step("v0", rotate.StepCreate), "AWSCURRENT already: nothing to do")
	require.NoError(t, e.rotate("t1"))
	assert.ErrorContains(t, e.step("v0", rotate.StepFinish), "version v0 is not staged AWSPENDING")
	assert.ErrorContains(t, e.handle(map[string]string{"Step": rotate.StepCreate}), "no SecretId")
	assert.ErrorContains(t, e.handle(map[string]string{"scopegate": "purge", "SecretId": secretARN}), `unknown scopegate event "purge"`)
	assert.Error(t, e.r.Handle(context.Background(), json.RawMessage(`[1]`)))
}

// Without a configured function, the retire schedule targets the function
// being invoked; the time is rounded up to the second.
func TestScheduleTargetsTheInvokedFunctionByDefault(t *testing.T) {
	e := setup(t)
	e.r.RetireTarget.FunctionArn = ""
	e.clock.Advance(500 * time.Millisecond)
	e.secrets.startRotation("t1")
	for _, s := range steps {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: functionARN + ":live"})
		b, _ := json.Marshal(map[string]string{"SecretId": secretARN, "ClientRequestToken": "t1", "Step": s})
		require.NoError(t, e.r.Handle(ctx, b))
	}
	s := e.scheduler.get(rotate.ScheduleName(secretARN, e.firstID))
	require.NotNil(t, s)
	assert.Equal(t, functionARN+":live", aws.ToString(s.Target.Arn))
	at := e.clock.Now().Add(overlap).Truncate(time.Second).Add(time.Second)
	assert.Equal(t, "at("+at.Format("2006-01-02T15:04:05")+")", aws.ToString(s.ScheduleExpression))

	// With neither, finishSecret fails before moving AWSCURRENT.
	e2 := setup(t)
	e2.r.RetireTarget.FunctionArn = ""
	err := e2.rotate("t1")
	assert.ErrorContains(t, err, "finishSecret of secret "+secretARN+": the retire schedule's target function or role is not configured")
	e2.currentWorks("v0")
}

// A hanging service is reported before the invocation's deadline.
func TestHandleKeepsTimeToReport(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	e.r.Secrets = hangingSecrets{e.secrets}
	start := time.Now()
	err := e.r.Handle(ctx, json.RawMessage(`{"scopegate":"retire","SecretId":"`+secretARN+`","ClientSecretId":"x"}`))
	assert.ErrorContains(t, err, "retire of secret "+secretARN+": GetSecretValue of AWSCURRENT: context deadline exceeded")
	assert.Less(t, time.Since(start), 400*time.Millisecond)
}

func TestIAMActions(t *testing.T) {
	assert.Equal(t, []string{"cognito-idp:AddUserPoolClientSecret", "cognito-idp:ListUserPoolClientSecrets", "cognito-idp:DeleteUserPoolClientSecret"}, rotate.IAMActions.Cognito)
	assert.Equal(t, []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}, rotate.IAMActions.SecretsManager)
	assert.Equal(t, []string{"scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:UpdateSchedule"}, rotate.IAMActions.Scheduler)
	assert.Equal(t, []string{"apigateway:GET"}, rotate.IAMActions.APIGateway)
	assert.Equal(t, []string{"iam:PassRole"}, rotate.IAMActions.PassRole)
}

// When it cannot tell which Cognito secret AWSCURRENT holds, createSecret
// deletes nothing and fails.
func TestCreateSecretRefusesWhenTheCurrentSecretIsUnclear(t *testing.T) {
	e := setup(t)
	e.clock.Advance(-time.Hour)
	e.cognito.add() // a second secret older than AWSCURRENT's version, and no client_secret_id
	e.clock.Advance(2 * time.Hour)
	err := e.rotate("t1")
	assert.ErrorContains(t, err, "createSecret of secret "+secretARN+": AWSCURRENT has no client_secret_id and client "+clientID+" has 2 secrets created before it")
	assert.Len(t, e.cognito.ids(), 2)
	assert.Equal(t, 0, e.cognito.count("DeleteUserPoolClientSecret"))

	e = setup(t)
	require.NoError(t, e.rotate("t1"))
	_, fields := e.current()
	e.cognito.drop(fields["client_secret_id"])
	e.clock.Advance(overlap)
	err = e.rotate("t2")
	assert.ErrorContains(t, err, "Cognito secret "+fields["client_secret_id"]+", which AWSCURRENT holds, is not among client "+clientID+"'s secrets")
	assert.Equal(t, []string{e.firstID}, e.cognito.ids())
}

// Secrets Manager tests a rotation configuration set without immediate
// rotation by running testSecret alone, against an AWSPENDING version it
// creates without a value and then removes: the current credentials are
// tested, and nothing changes.
func TestTestSecretWithoutPendingValueTestsCurrent(t *testing.T) {
	for _, rotated := range []bool{false, true} {
		name := "first value"
		if rotated {
			name = "after a rotation"
		}
		t.Run(name, func(t *testing.T) {
			e := setup(t)
			current := "v0"
			if rotated {
				require.NoError(t, e.rotate("t1"))
				current = "t1"
			}
			_, before := e.current()
			e.tokens.urls = nil
			e.logs.Reset()
			puts, adds := e.secrets.count("PutSecretValue"), e.cognito.count("AddUserPoolClientSecret")

			e.secrets.startRotation("cfg")
			require.NoError(t, e.step("cfg", rotate.StepTest))
			e.secrets.endTest("cfg")
			assert.Equal(t, []string{tokenURL}, e.tokens.urls, "a token asked with AWSCURRENT's credentials")
			assert.Contains(t, e.logs.String(), "tested the current credentials because the pending version has no value")
			_, after := e.current()
			assert.Equal(t, before, after)
			e.currentWorks(current)
			assert.Equal(t, puts, e.secrets.count("PutSecretValue"))
			assert.Equal(t, adds, e.cognito.count("AddUserPoolClientSecret"))
			assert.Nil(t, e.secrets.stagesOf("cfg"), "the test's version is gone")
		})
	}

	t.Run("current credentials refused", func(t *testing.T) {
		e := setup(t)
		require.NoError(t, e.rotate("t1"))
		_, fields := e.current()
		e.cognito.drop(fields["client_secret_id"])
		e.secrets.startRotation("cfg")
		err := e.step("cfg", rotate.StepTest)
		assert.ErrorContains(t, err, "testSecret of secret "+secretARN+": the pending version has no value, and AWSCURRENT's client secret (client_secret_id \""+fields["client_secret_id"]+"\") of client "+clientID+" got no token")
	})

	t.Run("another GetSecretValue error stays an error", func(t *testing.T) {
		e := setup(t)
		e.secrets.startRotation("cfg")
		e.secrets.failNext("GetSecretValue", errInjected)
		err := e.step("cfg", rotate.StepTest)
		assert.ErrorContains(t, err, "testSecret of secret "+secretARN+": GetSecretValue of version cfg (AWSPENDING)")
		assert.ErrorIs(t, err, errInjected)
		assert.Empty(t, e.tokens.urls, "no token asked")
		assert.Equal(t, 1, e.secrets.count("GetSecretValue"), "no fallback to AWSCURRENT")
	})
}
