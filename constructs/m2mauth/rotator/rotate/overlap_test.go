package rotate_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedulertypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth/rotator/rotate"
)

// atExpr is the at() expression of t, rounded up to the second, in UTC.
func atExpr(t time.Time) string {
	t = t.UTC()
	if s := t.Truncate(time.Second); s.Before(t) {
		t = s.Add(time.Second)
	}
	return "at(" + t.Format("2006-01-02T15:04:05") + ")"
}

// timeOf reads an at() expression.
func timeOf(t *testing.T, expr string) time.Time {
	t.Helper()
	inner := strings.TrimSuffix(strings.TrimPrefix(expr, "at("), ")")
	at, err := time.ParseInLocation("2006-01-02T15:04:05", inner, time.UTC)
	require.NoError(t, err, expr)
	return at
}

// retireExpr is the expression of the retire schedule of Cognito secret id,
// which must exist.
func (e *env) retireExpr(id string) string {
	e.t.Helper()
	s := e.scheduler.get(rotate.ScheduleName(secretARN, id))
	require.NotNil(e.t, s, "a retire schedule of %s", id)
	return aws.ToString(s.ScheduleExpression)
}

// neverEarlier checks that schedule name's times never decreased.
func (e *env) neverEarlier(name string) {
	e.t.Helper()
	h := e.scheduler.history(name)
	for i := 1; i < len(h); i++ {
		assert.False(e.t, timeOf(e.t, h[i]).Before(timeOf(e.t, h[i-1])), "schedule moved earlier: %v", h)
	}
}

// legacySchedule is the retire schedule a version of the function that
// scheduled before moving AWSCURRENT left: at first + overlap.
func legacySchedule(id string, first time.Time) *scheduler.CreateScheduleInput {
	return &scheduler.CreateScheduleInput{
		Name:                  aws.String(rotate.ScheduleName(secretARN, id)),
		ScheduleExpression:    aws.String(atExpr(first.Add(overlap))),
		FlexibleTimeWindow:    &schedulertypes.FlexibleTimeWindow{Mode: schedulertypes.FlexibleTimeWindowModeOff},
		ActionAfterCompletion: schedulertypes.ActionAfterCompletionDelete,
		Target: &schedulertypes.Target{
			Arn: aws.String(functionARN), RoleArn: aws.String(roleARN), Input: aws.String(rotate.RetireInput(secretARN, id)),
		},
	}
}

// finishSecret retried two days after its first attempt failed: the old
// secret's retirement is one overlap after the move the retry made (or, when
// the first attempt had moved, after that move), never after the first
// attempt.
func TestFinishRetriedLaterSchedulesFromTheMove(t *testing.T) {
	for _, c := range []struct {
		name string
		// fail makes the first attempt of finishSecret fail.
		fail func(e *env)
		// movedFirst: the first attempt moved AWSCURRENT before failing.
		movedFirst bool
	}{
		{"the stage move fails", func(e *env) { e.secrets.failNext("UpdateSecretVersionStage", errInjected) }, false},
		{"the stage move fails, a schedule from before the move exists", func(e *env) {
			e.scheduler.put(legacySchedule(e.firstID, e.clock.Now()))
			e.secrets.failNext("UpdateSecretVersionStage", errInjected)
		}, false},
		{"scheduling fails after the move", func(e *env) { e.scheduler.failNext("CreateSchedule", errInjected) }, true},
		{"GetSchedule fails after the move", func(e *env) {
			e.scheduler.put(legacySchedule(e.firstID, e.clock.Now()))
			e.scheduler.failNext("GetSchedule", errInjected)
		}, true},
		{"UpdateSchedule fails after the move", func(e *env) {
			e.scheduler.put(legacySchedule(e.firstID, e.clock.Now()))
			e.scheduler.failNext("UpdateSchedule", errInjected)
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t)
			e.secrets.startRotation("t1")
			for _, s := range steps[:3] {
				require.NoError(t, e.step("t1", s))
			}
			c.fail(e)
			err := e.step("t1", rotate.StepFinish)
			require.ErrorIs(t, err, errInjected)
			firstAttempt := e.clock.Now()
			if c.movedFirst {
				e.currentWorks("t1")
				assert.ErrorContains(t, err, "AWSCURRENT moved to version t1, but the retirement of Cognito secret "+e.firstID+" is not scheduled")
			} else {
				e.currentWorks("v0")
			}

			// Secrets Manager retries two days later.
			e.clock.Advance(48 * time.Hour)
			require.NoError(t, e.step("t1", rotate.StepFinish))
			retried := e.clock.Now()
			e.secrets.endRotation("t1")
			e.currentWorks("t1")
			moved := retried
			if c.movedFirst {
				moved = firstAttempt
			}
			at := timeOf(t, e.retireExpr(e.firstID))
			assert.False(t, at.Before(moved.Add(overlap)), "retired at %s, before one overlap after the move at %s", at, moved)
			assert.True(t, at.After(firstAttempt.Add(overlap+24*time.Hour)) || c.movedFirst, "not measured from the first attempt")
			if !c.movedFirst {
				assert.Equal(t, atExpr(retried.Add(overlap)), e.retireExpr(e.firstID))
			}
			e.neverEarlier(rotate.ScheduleName(secretARN, e.firstID))
			assert.True(t, e.cognito.valid(clientID, mustField(e, "v0", "client_secret")), "the old secret keeps working")
		})
	}
}

func mustField(e *env, version, field string) string {
	e.t.Helper()
	v, ok := e.secrets.valueOf(version)
	require.True(e.t, ok)
	var fields map[string]string
	require.NoError(e.t, json.Unmarshal([]byte(v), &fields))
	return fields[field]
}

// An existing retire schedule later than one overlap after the move is
// kept; one earlier is moved later; none is ever moved earlier. A finished
// rotation delivered again changes no schedule.
func TestRetireScheduleNeverMovedEarlier(t *testing.T) {
	t.Run("a later schedule is kept", func(t *testing.T) {
		e := setup(t)
		later := legacySchedule(e.firstID, e.clock.Now().Add(30*24*time.Hour))
		e.scheduler.put(later)
		require.NoError(t, e.rotate("t1"))
		assert.Equal(t, aws.ToString(later.ScheduleExpression), e.retireExpr(e.firstID), "its own, later time")
		assert.Equal(t, 1, e.scheduler.count("UpdateSchedule"), "rewritten as a schedule written after the move")
		e.neverEarlier(rotate.ScheduleName(secretARN, e.firstID))

		// Trusted now: the next look keeps it as it is.
		e.clock.Advance(overlap + time.Hour)
		err := e.rotate("t2")
		assert.ErrorContains(t, err, "must keep working until "+timeOf(t, aws.ToString(later.ScheduleExpression)).Format(time.RFC3339))
		assert.Equal(t, 1, e.scheduler.count("UpdateSchedule"))
	})
	t.Run("an earlier schedule is moved later", func(t *testing.T) {
		e := setup(t)
		e.scheduler.put(legacySchedule(e.firstID, e.clock.Now().Add(-5*24*time.Hour)))
		require.NoError(t, e.rotate("t1"))
		moved := e.clock.Now()
		assert.Equal(t, atExpr(moved.Add(overlap)), e.retireExpr(e.firstID))
		assert.Equal(t, 1, e.scheduler.count("UpdateSchedule"))
		s := e.scheduler.get(rotate.ScheduleName(secretARN, e.firstID))
		assert.Equal(t, schedulertypes.ActionAfterCompletionDelete, s.ActionAfterCompletion, "the whole definition is kept")
		assert.Equal(t, functionARN, aws.ToString(s.Target.Arn))
		assert.JSONEq(t, rotate.RetireInput(secretARN, e.firstID), aws.ToString(s.Target.Input))
		e.neverEarlier(rotate.ScheduleName(secretARN, e.firstID))
	})
	t.Run("redelivered after success", func(t *testing.T) {
		e := setup(t)
		require.NoError(t, e.rotate("t1"))
		want := e.retireExpr(e.firstID)
		for _, d := range []time.Duration{time.Hour, 3 * 24 * time.Hour} {
			e.clock.Advance(d)
			for _, s := range steps {
				require.NoError(t, e.step("t1", s))
			}
			assert.Equal(t, want, e.retireExpr(e.firstID), "neither earlier nor later")
		}
		assert.Equal(t, 0, e.scheduler.count("UpdateSchedule"))
		assert.Equal(t, []string{want}, e.scheduler.history(rotate.ScheduleName(secretARN, e.firstID)))
	})
	t.Run("a repair keeps the previous secret's schedule", func(t *testing.T) {
		e := setup(t)
		require.NoError(t, e.rotate("t1"))
		want := e.retireExpr(e.firstID)
		e.clock.Advance(2 * 24 * time.Hour)
		e.apiKey = e.apiGateway.newValue(apiKeyID)
		require.NoError(t, e.rotate("r1"))
		assert.Equal(t, want, e.retireExpr(e.firstID), "measured from t1's move, which made it previous")
		assert.Equal(t, 0, e.scheduler.count("UpdateSchedule"))
	})
}

// createSecret measures the previous rotation's overlap from the move of
// AWSCURRENT (the retire schedule's time), not from the version's creation:
// a rotation whose finishSecret was retried days later keeps its previous
// secret a full overlap after the move.
func TestCreateSecretMeasuresTheOverlapFromTheMove(t *testing.T) {
	for _, repair := range []bool{false, true} {
		name := "refuses"
		if repair {
			name = "repairs"
		}
		t.Run(name, func(t *testing.T) {
			e := setup(t)
			e.secrets.startRotation("t1")
			for _, s := range steps[:3] {
				require.NoError(t, e.step("t1", s))
			}
			stored := e.clock.Now().Add(-2 * time.Second) // createSecret stored t1's value
			e.secrets.failNext("UpdateSecretVersionStage", errInjected)
			require.Error(t, e.step("t1", rotate.StepFinish))
			e.clock.Advance(3 * 24 * time.Hour)
			require.NoError(t, e.step("t1", rotate.StepFinish))
			e.secrets.endRotation("t1")
			moved := e.clock.Now()
			_, t1 := e.current()

			// Past one overlap from t1's value, inside one from the move.
			e.clock.Advance(stored.Add(overlap + time.Hour).Sub(e.clock.Now()))
			require.True(t, e.clock.Now().Before(moved.Add(overlap)))
			if repair {
				e.apiKey = e.apiGateway.newValue(apiKeyID)
				require.NoError(t, e.rotate("r1"))
				after := e.currentWorks("r1")
				assert.Equal(t, t1["client_secret_id"], after["client_secret_id"], "repaired, no Cognito secret added")
				assert.Equal(t, e.apiKey, after[rotate.APIKeyField])
			} else {
				err := e.rotate("t2")
				assert.ErrorContains(t, err, "the rotation came before the overlap window ended: Cognito secret "+e.firstID+" of the previous rotation must keep working until "+moved.Add(overlap).Format(time.RFC3339))
				e.currentWorks("t1")
			}
			assert.Equal(t, 0, e.cognito.count("DeleteUserPoolClientSecret"))
			assert.True(t, e.cognito.valid(clientID, mustField(e, "v0", "client_secret")), "the previous secret keeps working")

			// One overlap after the move: the rotation proceeds.
			e.clock.Advance(moved.Add(overlap).Sub(e.clock.Now()))
			require.NoError(t, e.rotate("t2"))
			after := e.currentWorks("t2")
			assert.Equal(t, []string{t1["client_secret_id"], after["client_secret_id"]}, e.cognito.ids())
		})
	}
}

// A previous secret without a retire schedule (finishSecret stopped after
// the move and was not retried, or an operator deleted the schedule) gives
// createSecret no time to measure from: it schedules the retirement one
// overlap from now and refuses until then.
func TestPreviousSecretWithoutScheduleIsScheduledNotDeleted(t *testing.T) {
	e := setup(t)
	e.scheduler.failNext("CreateSchedule", errInjected)
	require.Error(t, e.rotate("t1"))
	e.currentWorks("t1")
	require.Equal(t, 0, e.scheduler.len())
	// Secrets Manager gives up; the next rotation comes much later.
	e.secrets.endRotation("t1")
	e.clock.Advance(2 * overlap)

	err := e.rotate("t2")
	assert.ErrorContains(t, err, "the rotation came before the overlap window ended")
	scheduled := e.clock.Now()
	assert.Equal(t, atExpr(scheduled.Add(overlap)), e.retireExpr(e.firstID))
	assert.Contains(t, e.logs.String(), "had no retire schedule")
	assert.Equal(t, 0, e.cognito.count("DeleteUserPoolClientSecret"))

	e.clock.Advance(overlap)
	require.NoError(t, e.rotate("t2"))
	e.currentWorks("t2")
	assert.NotContains(t, e.cognito.ids(), e.firstID)
}

// A retire event delivered before its schedule's time (a delivery of the
// time the schedule had before finishSecret moved it later) is refused.
func TestRetireBeforeTheScheduledTimeIsRefused(t *testing.T) {
	e := setup(t)
	e.scheduler.put(legacySchedule(e.firstID, e.clock.Now()))
	e.secrets.failNext("UpdateSecretVersionStage", errInjected)
	require.Error(t, e.rotate("t1"))
	e.clock.Advance(overlap)
	// The legacy schedule fires while the secret is AWSCURRENT's: refused.
	require.ErrorContains(t, e.retire(e.firstID), "is the one AWSCURRENT holds")
	require.NoError(t, e.rotate("t1"))
	moved := e.clock.Now()

	// Scheduler delivers the old time again, now that it is previous.
	err := e.retire(e.firstID)
	assert.ErrorContains(t, err, "refused: the retirement of Cognito secret "+e.firstID+" is scheduled for "+timeOf(t, atExpr(moved.Add(overlap))).Format(time.RFC3339))
	assert.Contains(t, e.cognito.ids(), e.firstID)

	e.clock.Advance(overlap)
	require.NoError(t, e.retire(e.firstID))
	assert.NotContains(t, e.cognito.ids(), e.firstID)
}
