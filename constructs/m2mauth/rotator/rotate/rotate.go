// Package rotate is the rotation function of the machine clients' secrets:
// Secrets Manager's four rotation steps for a secret that holds a Cognito app
// client's credentials, with Cognito's two live client secrets, so that the
// old secret keeps working for an overlap window after the new one is
// current.
//
// The secret's value is a JSON object with at least client_id and token_url.
// Rotation keeps every field it has and adds or replaces client_secret and
// client_secret_id (Cognito's ClientSecretId of that value). The value of a
// client in a rate-limit tier also has api_key_id (APIKeyIDField), its API
// Gateway API key, written by CloudFormation, which has no attribute for the
// key's value: every version the rotation creates from such a value also gets
// api_key (APIKeyField), the value API Gateway's GetApiKey returns.
//
//   - createSecret adds a Cognito secret (Cognito generates it) and stores it
//     as the version ClientRequestToken with stage AWSPENDING. Before that it
//     reads the API key, if the value has api_key_id, and fails if API
//     Gateway gives no enabled key with a value; it deletes what an earlier
//     attempt left behind (a Cognito secret created after AWSCURRENT's
//     version and never referenced by it: its value was never stored, so
//     nobody holds it), and the previous rotation's secret once one Overlap
//     has passed since AWSCURRENT was moved off it: the time of its retire
//     schedule (see overlapEnd). Before then the rotation fails, because
//     Cognito holds at most two secrets and the previous one must keep
//     working, except when AWSCURRENT's api_key is missing or differs from
//     API Gateway's (the stack starts a rotation right after a deploy to
//     fill it in): createSecret then repairs, storing as AWSPENDING
//     AWSCURRENT's value with the fresh api_key and the same Cognito secret,
//     and adds or deletes no Cognito secret.
//   - setSecret does nothing: Cognito holds the secret from createSecret on.
//   - testSecret gets a token at token_url with the pending credentials. When
//     the pending version has no value (Secrets Manager's test of a rotation
//     configuration set without immediate rotation runs testSecret alone,
//     against an AWSPENDING version it creates and removes), it tests
//     AWSCURRENT's credentials instead.
//   - finishSecret moves AWSCURRENT to the new version, then schedules
//     (EventBridge Scheduler, one-time, at the move + Overlap) the retirement
//     of the client's other secrets; retried once AWSCURRENT is on the
//     version, it makes sure those schedules exist.
//   - A retire event, sent by such a schedule, deletes one Cognito secret,
//     never the one AWSCURRENT references, never the client's last, and not
//     before its schedule's time.
//
// Every step may be retried and is idempotent. A failure in any step leaves
// AWSCURRENT and the Cognito secret it references as they were, except a
// failure of finishSecret after the move, which leaves the old secret
// working and its retirement unscheduled until the retry (or the next
// createSecret) schedules it. However late or often a step is retried, a
// previous secret is retired no earlier than one Overlap after AWSCURRENT
// was moved off it.
package rotate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	cognitotypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedulertypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/scopegate/scopegate/contract"
)

// Secrets Manager's rotation steps and staging labels.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"

	StageCurrent = "AWSCURRENT"
	StagePending = "AWSPENDING"
)

// The secret's fields for a client in a rate-limit tier.
const (
	// APIKeyIDField is the id of the client's API Gateway API key, written by
	// CloudFormation into the secret's first value.
	APIKeyIDField = contract.SecretAPIKeyID
	// APIKeyField is the key's value, which the rotation writes into every
	// version it creates from a value with APIKeyIDField.
	APIKeyField = contract.SecretAPIKey
)

// RetireEventKind is the "scopegate" field of a retire event.
const RetireEventKind = "retire"

// ScheduleNamePrefix starts the name of every retire schedule, which is
// followed by 16 hex digits of SHA-256(secret ARN + ClientSecretId).
const ScheduleNamePrefix = "scopegate-retire-"

// DefaultOverlap is how long the previous client secret keeps working after
// a rotation when Rotator.Overlap is zero.
const DefaultOverlap = 7 * 24 * time.Hour

// deadlineReserve is kept from the invocation's deadline, so that a service
// that hangs is reported as an error naming the call, not as a timeout.
const deadlineReserve = 500 * time.Millisecond

// CognitoAPI is the part of the Cognito user pools client the rotation uses.
type CognitoAPI interface {
	AddUserPoolClientSecret(ctx context.Context, params *cognitoidentityprovider.AddUserPoolClientSecretInput, optFns ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AddUserPoolClientSecretOutput, error)
	ListUserPoolClientSecrets(ctx context.Context, params *cognitoidentityprovider.ListUserPoolClientSecretsInput, optFns ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.ListUserPoolClientSecretsOutput, error)
	DeleteUserPoolClientSecret(ctx context.Context, params *cognitoidentityprovider.DeleteUserPoolClientSecretInput, optFns ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.DeleteUserPoolClientSecretOutput, error)
}

// SecretsAPI is the part of the Secrets Manager client the rotation uses.
type SecretsAPI interface {
	DescribeSecret(ctx context.Context, params *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, params *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(ctx context.Context, params *secretsmanager.UpdateSecretVersionStageInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

// SchedulerAPI is the part of the EventBridge Scheduler client the rotation
// uses.
type SchedulerAPI interface {
	CreateSchedule(ctx context.Context, params *scheduler.CreateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	GetSchedule(ctx context.Context, params *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
	UpdateSchedule(ctx context.Context, params *scheduler.UpdateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
}

// APIKeysAPI is the part of the API Gateway client the rotation uses.
type APIKeysAPI interface {
	GetApiKey(ctx context.Context, params *apigateway.GetApiKeyInput, optFns ...func(*apigateway.Options)) (*apigateway.GetApiKeyOutput, error)
}

// TokenTester checks that a client's credentials get an access token.
type TokenTester interface {
	Test(ctx context.Context, tokenURL, clientID, clientSecret string) error
}

// Target is what a retire schedule invokes: a function that runs
// Rotator.Handle (normally the rotation function itself), with a role
// EventBridge Scheduler assumes, allowed lambda:InvokeFunction on it.
type Target struct {
	// FunctionArn is the function to invoke. Empty means the function being
	// invoked now (the Lambda context's InvokedFunctionArn): a function
	// cannot name its own ARN in its environment without a dependency cycle
	// in CloudFormation.
	FunctionArn string
	RoleArn     string
}

// Rotator rotates the client secrets of one user pool's app clients.
type Rotator struct {
	Cognito   CognitoAPI
	Secrets   SecretsAPI
	Scheduler SchedulerAPI
	// APIKeys reads the value of the API key a secret's api_key_id names. It
	// may be nil when no secret has api_key_id.
	APIKeys APIKeysAPI
	Tokens  TokenTester
	// UserPoolID is the pool of every client whose secret is rotated.
	UserPoolID string
	// Overlap is how long the previous client secret keeps working after a
	// rotation, and so the shortest time between two rotations.
	// Default: DefaultOverlap.
	Overlap time.Duration
	// RetireTarget is invoked by the retire schedules.
	RetireTarget Target
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger gets one JSON line per step; default slog.Default(). No line
	// holds a secret value.
	Logger *slog.Logger
}

// Event is what Handle accepts: a Secrets Manager rotation event (SecretId,
// ClientRequestToken, Step) or a retire event (Scopegate "retire", SecretId,
// ClientSecretId).
type Event struct {
	Scopegate          string `json:"scopegate,omitempty"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken,omitempty"`
	Step               string `json:"Step,omitempty"`
	ClientSecretID     string `json:"ClientSecretId,omitempty"`
}

// Handle runs one rotation step or one retire event. An error fails the step
// (Secrets Manager then fails the rotation, and AWSCURRENT stays as it was)
// or the retire invocation (the schedule retries it).
func (r *Rotator) Handle(ctx context.Context, event json.RawMessage) error {
	var e Event
	if err := json.Unmarshal(event, &e); err != nil {
		err = fmt.Errorf("rotation: the event is not a JSON object of SecretId, ClientRequestToken and Step, or a retire event")
		r.logger().Error("rotation", "error", err.Error())
		return err
	}
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-deadlineReserve))
		defer cancel()
	}
	step := e.Step
	var err error
	switch {
	case e.Scopegate == RetireEventKind:
		step = "retire"
		err = r.retire(ctx, e.SecretID, e.ClientSecretID)
	case e.Scopegate != "":
		err = fmt.Errorf("unknown scopegate event %q", e.Scopegate)
	default:
		err = r.step(ctx, e)
	}
	if err != nil {
		err = fmt.Errorf("%s of secret %s: %w", step, e.SecretID, err)
		r.logger().Error("rotation", "step", step, "secret", e.SecretID, "token", e.ClientRequestToken, "error", err.Error())
	}
	return err
}

func (r *Rotator) step(ctx context.Context, e Event) error {
	if e.SecretID == "" || e.ClientRequestToken == "" {
		return errors.New("the event has no SecretId or no ClientRequestToken")
	}
	switch e.Step {
	case StepCreate, StepSet, StepTest, StepFinish:
	default:
		return fmt.Errorf("unknown step %q", e.Step)
	}
	// As in AWS's rotation templates: the token must be a version of the
	// secret staged AWSPENDING (Secrets Manager stages it when the rotation
	// starts), and once it is AWSCURRENT every step has nothing left to do.
	desc, err := r.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(e.SecretID)})
	if err != nil {
		return fmt.Errorf("DescribeSecret: %w", err)
	}
	arn := aws.ToString(desc.ARN)
	if arn == "" {
		arn = e.SecretID
	}
	stages, ok := desc.VersionIdsToStages[e.ClientRequestToken]
	if !ok {
		return fmt.Errorf("version %s is not a version of the secret", e.ClientRequestToken)
	}
	log := r.logger().With("step", e.Step, "secret", arn, "token", e.ClientRequestToken)
	if slices.Contains(stages, StageCurrent) {
		if e.Step == StepFinish {
			// A retry of a finishSecret that moved AWSCURRENT and then
			// failed (or crashed) before every retire schedule existed.
			return r.finishRetries(ctx, log, arn, e.ClientRequestToken)
		}
		log.Info("rotation", "outcome", "nothing to do: the version is already AWSCURRENT")
		return nil
	}
	if !slices.Contains(stages, StagePending) {
		return fmt.Errorf("version %s is not staged AWSPENDING", e.ClientRequestToken)
	}
	switch e.Step {
	case StepCreate:
		return r.createSecret(ctx, log, arn, e.ClientRequestToken)
	case StepSet:
		log.Info("rotation", "outcome", "nothing to do: Cognito has held the pending client secret since createSecret added it")
		return nil
	case StepTest:
		return r.testSecret(ctx, log, arn, e.ClientRequestToken)
	default:
		current := ""
		for id, s := range desc.VersionIdsToStages {
			if slices.Contains(s, StageCurrent) {
				current = id
			}
		}
		if current == "" {
			return errors.New("no version of the secret is AWSCURRENT")
		}
		return r.finishSecret(ctx, log, arn, e.ClientRequestToken, current)
	}
}

func (r *Rotator) createSecret(ctx context.Context, log *slog.Logger, arn, token string) error {
	_, err := r.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(arn), VersionId: aws.String(token), VersionStage: aws.String(StagePending),
	})
	if err == nil {
		log.Info("rotation", "outcome", "nothing to do: the pending version already has its value")
		return nil
	}
	if !isNotFound(err) {
		return fmt.Errorf("GetSecretValue of the pending version: %w", err)
	}
	cur, err := r.read(ctx, arn, "", StageCurrent)
	if err != nil {
		return err
	}
	// The API key before anything else: a key API Gateway does not give
	// fails the step while Cognito is as it was.
	apiKey := ""
	if cur.APIKeyID != "" {
		if apiKey, err = r.apiKey(ctx, cur.APIKeyID); err != nil {
			return err
		}
	}
	secrets, currentID, err := r.secretsOf(ctx, cur)
	if err != nil {
		return err
	}
	now := r.now()
	var previous, orphans []string
	for _, s := range secrets {
		id := aws.ToString(s.ClientSecretId)
		switch {
		case id == currentID:
		case aws.ToTime(s.ClientSecretCreateDate).After(cur.Created):
			// Added by an attempt that failed before its value was stored:
			// nobody can hold it.
			orphans = append(orphans, id)
		default:
			previous = append(previous, id)
		}
	}
	// Decided before any deletion: a repair changes nothing in Cognito.
	if len(previous) > 0 {
		end, err := r.overlapEnd(ctx, log, arn, previous)
		if err != nil {
			return err
		}
		if now.Before(end) {
			if cur.APIKeyID != "" && cur.APIKey != apiKey {
				return r.repair(ctx, log, arn, token, cur, currentID, apiKey)
			}
			return fmt.Errorf("the rotation came before the overlap window ended: Cognito secret %s of the previous rotation must keep working until %s (its retire schedule's time: one overlap, %s, after AWSCURRENT, Cognito secret %s, was moved to), and Cognito holds two secrets at most",
				previous[0], end.UTC().Format(time.RFC3339), r.overlap(), currentID)
		}
	}
	for _, id := range orphans {
		if err := r.delete(ctx, cur.ClientID, id); err != nil {
			return fmt.Errorf("deleting Cognito secret %s, left by an earlier attempt: %w", id, err)
		}
		log.Info("rotation", "outcome", "deleted a Cognito secret an earlier attempt added and never stored", "client_secret_id", id)
	}
	for _, id := range previous {
		if err := r.delete(ctx, cur.ClientID, id); err != nil {
			return fmt.Errorf("deleting Cognito secret %s of the previous rotation: %w", id, err)
		}
		log.Info("rotation", "outcome", "deleted the previous rotation's Cognito secret, past its overlap window", "client_secret_id", id)
	}
	added, err := r.Cognito.AddUserPoolClientSecret(ctx, &cognitoidentityprovider.AddUserPoolClientSecretInput{
		UserPoolId: aws.String(r.UserPoolID), ClientId: aws.String(cur.ClientID),
	})
	if err != nil {
		return fmt.Errorf("AddUserPoolClientSecret for client %s: %w", cur.ClientID, cognitoErr(err))
	}
	d := added.ClientSecretDescriptor
	if d == nil || aws.ToString(d.ClientSecretId) == "" || aws.ToString(d.ClientSecretValue) == "" {
		return fmt.Errorf("AddUserPoolClientSecret for client %s returned no secret id or value", cur.ClientID)
	}
	newID := aws.ToString(d.ClientSecretId)
	value, err := cur.with(aws.ToString(d.ClientSecretValue), newID, apiKey)
	if err != nil {
		return err
	}
	if err := r.putPending(ctx, arn, token, value); err != nil {
		// The Cognito secret just added is now unreachable; the next
		// attempt deletes it (it is newer than AWSCURRENT's version).
		return fmt.Errorf("PutSecretValue of the pending version with Cognito secret %s: %w", newID, err)
	}
	attrs := []any{"outcome", "added a Cognito secret and stored it as AWSPENDING", "client_secret_id", newID}
	if cur.APIKeyID != "" {
		attrs = append(attrs, "api_key_id", cur.APIKeyID)
	}
	log.Info("rotation", attrs...)
	return nil
}

// putPending stores value as the version token, staged AWSPENDING.
func (r *Rotator) putPending(ctx context.Context, arn, token, value string) error {
	_, err := r.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(arn),
		ClientRequestToken: aws.String(token),
		SecretString:       aws.String(value),
		VersionStages:      []string{StagePending},
	})
	return err
}

// repair stores as the pending version AWSCURRENT's value with API Gateway's
// api_key and the same Cognito secret (currentID): inside the overlap window
// no Cognito secret can be added, and the api_key is all that is wrong.
// testSecret and finishSecret then run as for a rotation; finishSecret never
// schedules the retirement of the secret the pending version holds, and the
// other one's schedule, created by the rotation that made it previous, is
// kept (CreateSchedule answers ConflictException).
func (r *Rotator) repair(ctx context.Context, log *slog.Logger, arn, token string, cur *secretValue, currentID, apiKey string) error {
	if cur.ClientSecret == "" {
		return errors.New("cannot repair the api_key: AWSCURRENT has no client_secret to keep")
	}
	was := "stale"
	if cur.APIKey == "" {
		was = "missing"
	}
	value, err := cur.with(cur.ClientSecret, currentID, apiKey)
	if err != nil {
		return err
	}
	if err := r.putPending(ctx, arn, token, value); err != nil {
		return fmt.Errorf("PutSecretValue of the pending version repairing the api_key of API key %s (Cognito secret %s kept): %w", cur.APIKeyID, currentID, err)
	}
	log.Info("rotation", "outcome", "repair: inside the overlap window, stored AWSCURRENT's value with API Gateway's api_key as AWSPENDING; no Cognito secret added or deleted",
		"client_secret_id", currentID, "api_key_id", cur.APIKeyID, "api_key_was", was)
	return nil
}

// apiKey is the value of API Gateway API key id, which must be enabled: a
// version holding a key API Gateway refuses would break the client.
func (r *Rotator) apiKey(ctx context.Context, id string) (string, error) {
	if r.APIKeys == nil {
		return "", fmt.Errorf("AWSCURRENT has api_key_id %s and the rotation has no API Gateway client", id)
	}
	out, err := r.APIKeys.GetApiKey(ctx, &apigateway.GetApiKeyInput{ApiKey: aws.String(id), IncludeValue: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("GetApiKey of API key %s: %w", id, err)
	}
	if aws.ToString(out.Value) == "" {
		return "", fmt.Errorf("GetApiKey of API key %s returned no value", id)
	}
	if !out.Enabled {
		return "", fmt.Errorf("API key %s is disabled: API Gateway would refuse it", id)
	}
	return *out.Value, nil
}

func (r *Rotator) testSecret(ctx context.Context, log *slog.Logger, arn, token string) error {
	pending, err := r.read(ctx, arn, token, StagePending)
	if isNotFound(err) {
		// A version without a value: Secrets Manager testing a rotation
		// configuration, set without immediate rotation, runs testSecret
		// alone against an AWSPENDING version it creates and removes. The
		// credentials in use are the ones to test.
		return r.testCurrent(ctx, log, arn)
	}
	if err != nil {
		return err
	}
	if pending.TokenURL == "" {
		return errors.New("the pending version has no token_url")
	}
	if err := r.Tokens.Test(ctx, pending.TokenURL, pending.ClientID, pending.ClientSecret); err != nil {
		return fmt.Errorf("the pending client secret %s of client %s got no token: %w", pending.ClientSecretID, pending.ClientID, err)
	}
	log.Info("rotation", "outcome", "the pending client secret gets a token", "client_secret_id", pending.ClientSecretID)
	return nil
}

// testCurrent gets a token with AWSCURRENT's credentials.
func (r *Rotator) testCurrent(ctx context.Context, log *slog.Logger, arn string) error {
	cur, err := r.read(ctx, arn, "", StageCurrent)
	if err != nil {
		return fmt.Errorf("the pending version has no value, and the current one cannot be tested: %w", err)
	}
	if cur.TokenURL == "" {
		return errors.New("the pending version has no value, and AWSCURRENT has no token_url")
	}
	if err := r.Tokens.Test(ctx, cur.TokenURL, cur.ClientID, cur.ClientSecret); err != nil {
		return fmt.Errorf("the pending version has no value, and AWSCURRENT's client secret (client_secret_id %q) of client %s got no token: %w", cur.ClientSecretID, cur.ClientID, err)
	}
	log.Info("rotation", "outcome", "tested the current credentials because the pending version has no value: AWSCURRENT's client secret gets a token", "client_secret_id", cur.ClientSecretID)
	return nil
}

// finishSecret moves AWSCURRENT to the new version, then schedules the
// retirement of the client's other Cognito secrets one Overlap after the
// move. In that order, so that the overlap is measured from the move however
// late it comes: an attempt that fails before the move schedules nothing, and
// the retry that moves schedules from its own time. A failure after the move
// (AWSCURRENT moved, a schedule missing) is repaired by the retry of
// finishSecret (see finishRetries) or, failing that, by the next
// createSecret (see overlapEnd); the old secret keeps working meanwhile.
func (r *Rotator) finishSecret(ctx context.Context, log *slog.Logger, arn, token, current string) error {
	pending, err := r.read(ctx, arn, token, StagePending)
	if err != nil {
		return err
	}
	if pending.ClientSecretID == "" {
		return errors.New("the pending version has no client_secret_id")
	}
	secrets, err := r.list(ctx, pending.ClientID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(secrets, hasID(pending.ClientSecretID)) {
		return fmt.Errorf("Cognito secret %s of the pending version is not among client %s's secrets", pending.ClientSecretID, pending.ClientID)
	}
	// The Cognito secret the move takes AWSCURRENT from: its retire schedule,
	// if one exists (left by a version of this function that scheduled
	// before moving), is moved later to one overlap after this move. When it
	// cannot be told, every other secret's schedule is.
	leaving := ""
	if old, err := r.read(ctx, arn, current, StageCurrent); err == nil {
		leaving, _ = currentSecretID(old, secrets)
	}
	// Checked before the move: a configuration that cannot schedule must
	// not move AWSCURRENT.
	if _, err := r.retireTarget(ctx); err != nil {
		return err
	}
	if _, err := r.Secrets.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{
		SecretId:            aws.String(arn),
		VersionStage:        aws.String(StageCurrent),
		MoveToVersionId:     aws.String(token),
		RemoveFromVersionId: aws.String(current),
	}); err != nil {
		return fmt.Errorf("UpdateSecretVersionStage moving AWSCURRENT from %s to %s: %w", current, token, err)
	}
	// Read after UpdateSecretVersionStage returned: not before the move.
	moved := r.now()
	log.Info("rotation", "outcome", "AWSCURRENT moved to the new version", "client_secret_id", pending.ClientSecretID, "previous_version", current)
	for _, s := range secrets {
		id := aws.ToString(s.ClientSecretId)
		if id == pending.ClientSecretID {
			continue
		}
		raise := leaving == "" || id == leaving
		at, outcome, err := r.ensureRetire(ctx, arn, id, moved.Add(r.overlap()), raise)
		if err != nil {
			return fmt.Errorf("AWSCURRENT moved to version %s, but the retirement of Cognito secret %s is not scheduled (a retry of finishSecret schedules it; the secret keeps working meanwhile): %w", token, id, err)
		}
		log.Info("rotation", "outcome", outcome, "client_secret_id", id, "at", at.Format(time.RFC3339))
	}
	return nil
}

// finishRetries is finishSecret when the version is already AWSCURRENT: an
// earlier attempt moved it and may have failed before scheduling. Every
// previous secret (neither AWSCURRENT's nor created after its version) gets
// a retire schedule if it has none, one Overlap from now: the move came
// before now, so that is never early. An existing one is kept: this function
// creates retire schedules only after the move that made their secret
// previous, at one Overlap after it or later.
func (r *Rotator) finishRetries(ctx context.Context, log *slog.Logger, arn, token string) error {
	cur, err := r.read(ctx, arn, token, StageCurrent)
	if err != nil {
		return err
	}
	secrets, currentID, err := r.secretsOf(ctx, cur)
	if err != nil {
		return err
	}
	n := 0
	for _, s := range secrets {
		id := aws.ToString(s.ClientSecretId)
		if id == currentID || aws.ToTime(s.ClientSecretCreateDate).After(cur.Created) {
			continue
		}
		at, outcome, err := r.ensureRetire(ctx, arn, id, r.now().Add(r.overlap()), false)
		if err != nil {
			return fmt.Errorf("AWSCURRENT is version %s already, and the retirement of Cognito secret %s is not scheduled: %w", token, id, err)
		}
		log.Info("rotation", "outcome", "finishSecret retried after the move: "+outcome, "client_secret_id", id, "at", at.Format(time.RFC3339))
		n++
	}
	if n == 0 {
		log.Info("rotation", "outcome", "nothing to do: the version is already AWSCURRENT and no previous secret is left to schedule")
	}
	return nil
}

// overlapEnd is when the overlap window of the previous rotation's Cognito
// secrets ends: one Overlap after AWSCURRENT was moved off them. Secrets
// Manager records no time of that move (a version's CreatedDate, which
// GetSecretValue returns, is when its value was stored, which can be long
// before the move, after retries; and a repair's version is newer than the
// move that made the secret previous), so the retire schedule is the record:
// finishSecret creates it after the move, at one Overlap after it or later,
// and EventBridge Scheduler's GetSchedule returns its at() expression. A
// schedule that still exists, with a time to come, means the window has not
// ended; one whose time has passed (Scheduler has not deleted it yet) means
// it has. A previous secret without such a schedule (the finishSecret that
// moved AWSCURRENT stopped before scheduling and was not retried, an
// operator deleted the schedule, it fired and its retire invocation failed,
// or a version that scheduled before moving left it) gives no time to
// measure from: its retirement is scheduled one Overlap from now, which is
// never early, and the window ends then.
func (r *Rotator) overlapEnd(ctx context.Context, log *slog.Logger, arn string, previous []string) (time.Time, error) {
	var end time.Time
	for _, id := range previous {
		sched, err := r.retireSchedule(ctx, arn, id)
		if err != nil {
			return time.Time{}, err
		}
		at := sched.At
		if !sched.Exists || !sched.AfterMove {
			at, _, err = r.ensureRetire(ctx, arn, id, r.now().Add(r.overlap()), false)
			if err != nil {
				return time.Time{}, fmt.Errorf("Cognito secret %s of the previous rotation has no retire schedule written after the move, and scheduling it failed: %w", id, err)
			}
			log.Warn("rotation", "outcome", "the previous rotation's Cognito secret had no retire schedule written after the move, so no time to measure its overlap from: its retirement is scheduled one overlap from now",
				"client_secret_id", id, "at", at.Format(time.RFC3339), "had_schedule", sched.Exists)
		}
		if at.After(end) {
			end = at
		}
	}
	return end, nil
}

// ScheduleName is the name of the schedule that retires Cognito secret
// clientSecretID of the secret secretARN.
func ScheduleName(secretARN, clientSecretID string) string {
	sum := sha256.Sum256([]byte(secretARN + clientSecretID))
	return ScheduleNamePrefix + hex.EncodeToString(sum[:8])
}

// RetireInput is the retire schedule's input for Cognito secret
// clientSecretID of the secret secretARN.
func RetireInput(secretARN, clientSecretID string) string {
	b, _ := json.Marshal(Event{Scopegate: RetireEventKind, SecretID: secretARN, ClientSecretID: clientSecretID})
	return string(b)
}

// retireTarget is the target of the retire schedules.
func (r *Rotator) retireTarget(ctx context.Context) (Target, error) {
	target := r.RetireTarget
	if target.FunctionArn == "" {
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			target.FunctionArn = lc.InvokedFunctionArn
		}
	}
	if target.FunctionArn == "" || target.RoleArn == "" {
		return Target{}, errors.New("the retire schedule's target function or role is not configured")
	}
	return target, nil
}

// atExpression is the one-time schedule expression of t: in UTC, Scheduler's
// default time zone for at(), rounded up to the second (never before t).
func atExpression(t time.Time) (time.Time, string) {
	t = t.UTC()
	if s := t.Truncate(time.Second); s.Before(t) {
		t = s.Add(time.Second)
	}
	return t, "at(" + t.Format(atLayout) + ")"
}

const atLayout = "2006-01-02T15:04:05"

// parseAt reads a one-time schedule's at() expression, in its time zone
// (UTC when none is given).
func parseAt(expr, zone string) (time.Time, error) {
	inner, ok := strings.CutPrefix(expr, "at(")
	if inner, ok = strings.CutSuffix(inner, ")"); !ok {
		return time.Time{}, fmt.Errorf("schedule expression %q is not at()", expr)
	}
	loc := time.UTC
	if zone != "" && zone != "UTC" {
		l, err := time.LoadLocation(zone)
		if err != nil {
			return time.Time{}, fmt.Errorf("schedule time zone %q: %w", zone, err)
		}
		loc = l
	}
	t, err := time.ParseInLocation(atLayout, inner, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("schedule expression %q: %w", expr, err)
	}
	return t, nil
}

// retireDescription is the description of every retire schedule this
// version writes, always after the move of AWSCURRENT that made its secret
// previous and at one Overlap after it or later: GetSchedule returns it, and
// a schedule without it (left by a version that scheduled before moving
// AWSCURRENT, up to days before the move) is not trusted to be that late.
const retireDescription = "scopegate: retire a Cognito client secret; written after AWSCURRENT moved off it, at one overlap window after the move or later"

// schedule is what GetSchedule says of a retire schedule.
type schedule struct {
	Exists bool
	// At is the time of its at() expression.
	At time.Time
	// AfterMove: its description is retireDescription.
	AfterMove bool
}

// retireSchedule reads the retire schedule of Cognito secret clientSecretID
// (EventBridge Scheduler GetSchedule).
func (r *Rotator) retireSchedule(ctx context.Context, arn, clientSecretID string) (schedule, error) {
	name := ScheduleName(arn, clientSecretID)
	out, err := r.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String(name)})
	if isNotFound(err) {
		return schedule{}, nil
	}
	if err != nil {
		return schedule{}, fmt.Errorf("GetSchedule %s retiring Cognito secret %s: %w", name, clientSecretID, err)
	}
	at, err := parseAt(aws.ToString(out.ScheduleExpression), aws.ToString(out.ScheduleExpressionTimezone))
	if err != nil {
		return schedule{}, fmt.Errorf("GetSchedule %s retiring Cognito secret %s: %w", name, clientSecretID, err)
	}
	return schedule{Exists: true, At: at, AfterMove: aws.ToString(out.Description) == retireDescription}, nil
}

// ensureRetire makes sure a one-time retire schedule of Cognito secret
// clientSecretID exists and returns its time and what was done. Every caller
// passes a notBefore that is one Overlap after the move of AWSCURRENT off
// that secret or later. It creates one at notBefore (CreateSchedule); when
// one already exists (ConflictException) it reads it (GetSchedule) and keeps
// it if this version wrote it (after the move, so late enough) and it is not
// earlier than notBefore or raise is not set; otherwise it moves it to
// notBefore, or rewrites it at its own time when that is later
// (UpdateSchedule, which replaces the whole definition). A schedule is never
// moved earlier.
func (r *Rotator) ensureRetire(ctx context.Context, arn, clientSecretID string, notBefore time.Time, raise bool) (time.Time, string, error) {
	target, err := r.retireTarget(ctx)
	if err != nil {
		return time.Time{}, "", err
	}
	at, expr := atExpression(notBefore)
	name := ScheduleName(arn, clientSecretID)
	description := aws.String(retireDescription)
	window := &schedulertypes.FlexibleTimeWindow{Mode: schedulertypes.FlexibleTimeWindowModeOff}
	tgt := &schedulertypes.Target{
		Arn:     aws.String(target.FunctionArn),
		RoleArn: aws.String(target.RoleArn),
		Input:   aws.String(RetireInput(arn, clientSecretID)),
	}
	// Twice at most: a schedule that completes (and is deleted) between
	// CreateSchedule and GetSchedule is created again.
	for range 2 {
		_, err := r.Scheduler.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
			Name:                  aws.String(name),
			Description:           description,
			ScheduleExpression:    aws.String(expr),
			FlexibleTimeWindow:    window,
			ActionAfterCompletion: schedulertypes.ActionAfterCompletionDelete,
			Target:                tgt,
		})
		if err == nil {
			return at, "retirement scheduled", nil
		}
		if !hasCode(err, "ConflictException") {
			return time.Time{}, "", fmt.Errorf("CreateSchedule %s retiring Cognito secret %s: %w", name, clientSecretID, err)
		}
		sched, err := r.retireSchedule(ctx, arn, clientSecretID)
		if err != nil {
			return time.Time{}, "", err
		}
		if !sched.Exists {
			continue
		}
		existing := sched.At
		if sched.AfterMove && (!existing.Before(at) || !raise) {
			return existing, "retirement already scheduled, kept", nil
		}
		outcome := "retirement moved later, to one overlap after the move (was " + existing.Format(time.RFC3339) + ")"
		if !existing.Before(at) {
			at, expr = atExpression(existing)
			outcome = "retirement schedule written before the move rewritten, at its own later time"
		}
		if _, err := r.Scheduler.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
			Name:                  aws.String(name),
			Description:           description,
			ScheduleExpression:    aws.String(expr),
			FlexibleTimeWindow:    window,
			ActionAfterCompletion: schedulertypes.ActionAfterCompletionDelete,
			Target:                tgt,
		}); err != nil {
			return time.Time{}, "", fmt.Errorf("UpdateSchedule %s retiring Cognito secret %s, from %s to %s: %w", name, clientSecretID, existing.Format(time.RFC3339), at.Format(time.RFC3339), err)
		}
		return at, outcome, nil
	}
	return time.Time{}, "", fmt.Errorf("CreateSchedule %s retiring Cognito secret %s: the schedule exists and then does not, twice", name, clientSecretID)
}

func (r *Rotator) retire(ctx context.Context, arn, clientSecretID string) error {
	if arn == "" || clientSecretID == "" {
		return errors.New("the retire event has no SecretId or no ClientSecretId")
	}
	log := r.logger().With("step", "retire", "secret", arn, "client_secret_id", clientSecretID)
	cur, err := r.read(ctx, arn, "", StageCurrent)
	if err != nil {
		return err
	}
	secrets, err := r.list(ctx, cur.ClientID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(secrets, hasID(clientSecretID)) {
		log.Info("rotation", "outcome", "nothing to do: the Cognito secret is already gone")
		return nil
	}
	if len(secrets) < 2 {
		return fmt.Errorf("refused: Cognito secret %s is client %s's only secret", clientSecretID, cur.ClientID)
	}
	currentID, err := currentSecretID(cur, secrets)
	if err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	if clientSecretID == currentID {
		return fmt.Errorf("refused: Cognito secret %s is the one AWSCURRENT holds", clientSecretID)
	}
	// A delivery of a schedule's earlier time after finishSecret moved it
	// later (a schedule that fired while its secret was still AWSCURRENT,
	// refused and retried by Scheduler): not yet.
	if sched, err := r.retireSchedule(ctx, arn, clientSecretID); err != nil {
		return err
	} else if sched.Exists && r.now().Before(sched.At) {
		return fmt.Errorf("refused: the retirement of Cognito secret %s is scheduled for %s, one overlap after AWSCURRENT moved off it", clientSecretID, sched.At.Format(time.RFC3339))
	}
	if err := r.delete(ctx, cur.ClientID, clientSecretID); err != nil {
		return fmt.Errorf("deleting Cognito secret %s: %w", clientSecretID, err)
	}
	log.Info("rotation", "outcome", "retired the Cognito secret")
	return nil
}

// secretsOf lists the client's Cognito secrets and names the one cur holds.
func (r *Rotator) secretsOf(ctx context.Context, cur *secretValue) ([]cognitotypes.ClientSecretDescriptorType, string, error) {
	secrets, err := r.list(ctx, cur.ClientID)
	if err != nil {
		return nil, "", err
	}
	currentID, err := currentSecretID(cur, secrets)
	return secrets, currentID, err
}

// currentSecretID is the Cognito secret AWSCURRENT holds: the one it names,
// or, for a first value without client_secret_id (written by CloudFormation
// from the client's ClientSecret attribute), the one secret created before
// AWSCURRENT's version.
func currentSecretID(cur *secretValue, secrets []cognitotypes.ClientSecretDescriptorType) (string, error) {
	if cur.ClientSecretID != "" {
		if !slices.ContainsFunc(secrets, hasID(cur.ClientSecretID)) {
			return "", fmt.Errorf("Cognito secret %s, which AWSCURRENT holds, is not among client %s's secrets", cur.ClientSecretID, cur.ClientID)
		}
		return cur.ClientSecretID, nil
	}
	var before []string
	for _, s := range secrets {
		if !aws.ToTime(s.ClientSecretCreateDate).After(cur.Created) {
			before = append(before, aws.ToString(s.ClientSecretId))
		}
	}
	if len(before) != 1 {
		return "", fmt.Errorf("AWSCURRENT has no client_secret_id and client %s has %d secrets created before it (%v), not one: cannot tell which it holds", cur.ClientID, len(before), before)
	}
	return before[0], nil
}

// secretValue is one version of the secret.
type secretValue struct {
	fields         map[string]json.RawMessage
	ClientID       string
	ClientSecret   string
	ClientSecretID string
	TokenURL       string
	APIKeyID       string
	APIKey         string
	Created        time.Time
}

// read reads a version by id and/or stage.
func (r *Rotator) read(ctx context.Context, arn, versionID, stage string) (*secretValue, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String(stage)}
	what := stage
	if versionID != "" {
		in.VersionId = aws.String(versionID)
		what = "version " + versionID + " (" + stage + ")"
	}
	out, err := r.Secrets.GetSecretValue(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("GetSecretValue of %s: %w", what, err)
	}
	v := &secretValue{Created: aws.ToTime(out.CreatedDate)}
	if out.CreatedDate == nil {
		return nil, fmt.Errorf("GetSecretValue of %s returned no CreatedDate", what)
	}
	// The decoding errors are not wrapped: they can quote the value.
	if out.SecretString == nil || json.Unmarshal([]byte(*out.SecretString), &v.fields) != nil || v.fields == nil {
		return nil, fmt.Errorf("the value of %s is not a JSON object", what)
	}
	for name, dst := range map[string]*string{
		contract.SecretClientID: &v.ClientID, contract.SecretClientSecret: &v.ClientSecret, contract.SecretClientSecretID: &v.ClientSecretID, contract.SecretTokenURL: &v.TokenURL,
		APIKeyIDField: &v.APIKeyID, APIKeyField: &v.APIKey,
	} {
		if raw, ok := v.fields[name]; ok && json.Unmarshal(raw, dst) != nil {
			return nil, fmt.Errorf("the field %s of %s is not a string", name, what)
		}
	}
	if v.ClientID == "" {
		return nil, fmt.Errorf("the value of %s has no client_id", what)
	}
	return v, nil
}

// with is the value with client_secret and client_secret_id replaced, and
// api_key when apiKey is not empty (a value with api_key_id), every other
// field kept as it is.
func (v *secretValue) with(secret, id, apiKey string) (string, error) {
	fields := maps.Clone(v.fields)
	set := map[string]string{contract.SecretClientSecret: secret, contract.SecretClientSecretID: id}
	if apiKey != "" {
		set[APIKeyField] = apiKey
	}
	for name, s := range set {
		raw, err := json.Marshal(s)
		if err != nil {
			return "", errors.New("cannot encode the new value")
		}
		fields[name] = raw
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(fields); err != nil {
		return "", errors.New("cannot encode the new value")
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

func (r *Rotator) list(ctx context.Context, clientID string) ([]cognitotypes.ClientSecretDescriptorType, error) {
	var all []cognitotypes.ClientSecretDescriptorType
	var next *string
	for {
		out, err := r.Cognito.ListUserPoolClientSecrets(ctx, &cognitoidentityprovider.ListUserPoolClientSecretsInput{
			UserPoolId: aws.String(r.UserPoolID), ClientId: aws.String(clientID), NextToken: next,
		})
		if err != nil {
			return nil, fmt.Errorf("ListUserPoolClientSecrets of client %s: %w", clientID, cognitoErr(err))
		}
		all = append(all, out.ClientSecrets...)
		if aws.ToString(out.NextToken) == "" {
			return all, nil
		}
		next = out.NextToken
	}
}

// delete deletes a Cognito secret; one already gone is deleted.
func (r *Rotator) delete(ctx context.Context, clientID, id string) error {
	_, err := r.Cognito.DeleteUserPoolClientSecret(ctx, &cognitoidentityprovider.DeleteUserPoolClientSecretInput{
		UserPoolId: aws.String(r.UserPoolID), ClientId: aws.String(clientID), ClientSecretId: aws.String(id),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("DeleteUserPoolClientSecret: %w", cognitoErr(err))
	}
	return nil
}

func hasID(id string) func(cognitotypes.ClientSecretDescriptorType) bool {
	return func(s cognitotypes.ClientSecretDescriptorType) bool { return aws.ToString(s.ClientSecretId) == id }
}

func isNotFound(err error) bool { return hasCode(err, "ResourceNotFoundException") }

func hasCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}

func (r *Rotator) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Rotator) overlap() time.Duration {
	if r.Overlap > 0 {
		return r.Overlap
	}
	return DefaultOverlap
}

func (r *Rotator) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}
