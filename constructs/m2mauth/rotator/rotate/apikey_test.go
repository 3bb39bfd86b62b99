package rotate_test

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/constructs/m2mauth/rotator/rotate"
)

// pendingFields is version token's value, which must be stored.
func (e *env) pendingFields(token string) map[string]string {
	e.t.Helper()
	value, ok := e.secrets.valueOf(token)
	require.True(e.t, ok, "version %s has a value", token)
	var fields map[string]string
	require.NoError(e.t, json.Unmarshal([]byte(value), &fields))
	return fields
}

// Every rotation writes API Gateway's value of the key, even when it
// changed since the last one.
func TestRotationWritesTheAPIKey(t *testing.T) {
	e := setup(t)
	_, before := e.current()
	require.NotContains(t, before, rotate.APIKeyField, "CloudFormation writes no api_key")
	require.NoError(t, e.rotate("t1"))
	after := e.currentWorks("t1")
	assert.Equal(t, e.apiKey, after[rotate.APIKeyField])
	assert.Equal(t, apiKeyID, after[rotate.APIKeyIDField])

	e.clock.Advance(overlap)
	e.apiKey = e.apiGateway.newValue(apiKeyID)
	require.NoError(t, e.rotate("t2"))
	after2 := e.currentWorks("t2")
	assert.Equal(t, e.apiKey, after2[rotate.APIKeyField], "the fresh value")
	assert.NotEqual(t, after["client_secret_id"], after2["client_secret_id"], "a full rotation")
	assert.Equal(t, 2, e.cognito.count("AddUserPoolClientSecret"))
	assert.Contains(t, e.logs.String(), `"api_key_id":"`+apiKeyID+`"`, "the key is logged by id")
}

// A client outside any tier: no api_key_id, no API Gateway call, no api_key;
// the rotator needs no API Gateway client.
func TestNoAPIKeyIDNoAPIGateway(t *testing.T) {
	e := setupWith(t, func(first map[string]string) { delete(first, rotate.APIKeyIDField) })
	e.r.APIKeys = nil
	require.NoError(t, e.rotate("t1"))
	after := e.currentWorks("t1")
	assert.NotContains(t, after, rotate.APIKeyField)
	assert.NotContains(t, after, rotate.APIKeyIDField)
	assert.Equal(t, []string{"client_id", "client_secret", "client_secret_id", "token_url"}, slices.Sorted(maps.Keys(after)))

	// Inside the window: the usual failure, no repair.
	e.clock.Advance(24 * time.Hour)
	err := e.rotate("t2")
	assert.ErrorContains(t, err, "the rotation came before the overlap window ended")
	e.currentWorks("t1")

	e.clock.Advance(overlap)
	require.NoError(t, e.rotate("t2"))
	e.currentWorks("t2")
	assert.Equal(t, 0, e.apiGateway.count("GetApiKey"))
}

// An API key API Gateway does not give, with a value and enabled, fails
// createSecret before Cognito is changed: AWSCURRENT and its secret stay,
// no secret is added or deleted, nothing is stored; the rotation retried
// once the key is fixed completes. Both for the first rotation and for a
// later one past its window (which would delete the previous secret).
func TestAPIKeyProblemFailsCreateSecretBeforeCognito(t *testing.T) {
	for _, later := range []bool{false, true} {
		for _, c := range []struct {
			name, want string
			fail       func(e *env)
		}{
			{"GetApiKey fails", "GetApiKey of API key " + apiKeyID + ": injected failure", func(e *env) { e.apiGateway.failNext("GetApiKey", errInjected) }},
			{"no such key", "GetApiKey of API key " + apiKeyID + ": NotFoundException", func(e *env) { e.apiGateway.remove(apiKeyID) }},
			{"no value", "GetApiKey of API key " + apiKeyID + " returned no value", func(e *env) { e.apiGateway.set(apiKeyID, "", true) }},
			{"disabled", "API key " + apiKeyID + " is disabled", func(e *env) { e.apiGateway.set(apiKeyID, e.apiKey, false) }},
			{"no API Gateway client", "AWSCURRENT has api_key_id " + apiKeyID + " and the rotation has no API Gateway client", func(e *env) { e.r.APIKeys = nil }},
		} {
			name := c.name
			if later {
				name = "later rotation/" + name
			}
			t.Run(name, func(t *testing.T) {
				e, current := setupAt(t, later)
				_, before := e.current()
				ids := e.cognito.ids()
				adds, puts := e.cognito.count("AddUserPoolClientSecret"), e.secrets.count("PutSecretValue")

				c.fail(e)
				err := e.rotate("t1")
				require.Error(t, err)
				assert.ErrorContains(t, err, rotate.StepCreate+" of secret "+secretARN+": "+c.want)
				_, fields := e.current()
				assert.Equal(t, before, fields, "AWSCURRENT unchanged")
				e.currentWorks(current)
				assert.Equal(t, ids, e.cognito.ids(), "no Cognito secret added or deleted")
				assert.Equal(t, adds, e.cognito.count("AddUserPoolClientSecret"))
				assert.Equal(t, 0, e.cognito.count("DeleteUserPoolClientSecret"))
				assert.Equal(t, puts, e.secrets.count("PutSecretValue"))
				_, stored := e.secrets.valueOf("t1")
				assert.False(t, stored, "the pending version has no value")

				// Fixed, and Secrets Manager retries the rotation.
				e.apiGateway.set(apiKeyID, e.apiKey, true)
				e.r.APIKeys = e.apiGateway
				require.NoError(t, e.rotate("t1"))
				after := e.currentWorks("t1")
				assert.Equal(t, e.apiKey, after[rotate.APIKeyField])
				assert.Len(t, e.cognito.ids(), 2, "the previous and the new secret, no orphan")
				assert.True(t, e.cognito.valid(clientID, before["client_secret"]), "the previous secret keeps working")
			})
		}
	}
}

// Inside the overlap window, a missing or stale api_key is repaired: the
// same Cognito secret, the fresh api_key, no Cognito secret added or
// deleted, the held secret's retirement never scheduled. Once repaired,
// another rotation inside the window fails as before.
func TestRepairInsideTheWindow(t *testing.T) {
	for _, c := range []struct {
		name, was string
		change    func(e *env)
	}{
		// API Gateway's value changed since the last rotation.
		{"stale", "stale", func(e *env) { e.apiKey = e.apiGateway.newValue(apiKeyID) }},
		// AWSCURRENT written without api_key (as CloudFormation writes a
		// tier's key id into a client already rotated).
		{"missing", "missing", func(e *env) {
			_, fields := e.current()
			delete(fields, rotate.APIKeyField)
			b, err := json.Marshal(fields)
			require.NoError(e.t, err)
			e.secrets.create("v1", string(b))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t)
			require.NoError(t, e.rotate("t1"))
			e.clock.Advance(time.Hour)
			c.change(e)
			currentVersion, before := e.current()
			heldID := before["client_secret_id"]
			require.NotEmpty(t, heldID)
			ids := e.cognito.ids()
			require.Equal(t, []string{e.firstID, heldID}, ids)
			schedules, creates := e.scheduler.len(), e.scheduler.count("CreateSchedule")
			e.logs.Reset()

			e.secrets.startRotation("r1")
			require.NoError(t, e.step("r1", rotate.StepCreate))
			pending := e.pendingFields("r1")
			want := maps.Clone(before)
			want[rotate.APIKeyField] = e.apiKey
			assert.Equal(t, want, pending, "AWSCURRENT's value with the fresh api_key")
			assert.Equal(t, heldID, pending["client_secret_id"])
			assert.Equal(t, 1, e.cognito.count("AddUserPoolClientSecret"), "no Cognito secret added")
			assert.Equal(t, 0, e.cognito.count("DeleteUserPoolClientSecret"), "none deleted")
			assert.Contains(t, e.logs.String(), `"outcome":"repair:`)
			assert.Contains(t, e.logs.String(), `"api_key_was":"`+c.was+`"`)
			assert.Contains(t, e.logs.String(), `"api_key_id":"`+apiKeyID+`"`)
			assert.NotContains(t, e.logs.String(), e.apiKey)

			for _, s := range steps[1:] {
				require.NoError(t, e.step("r1", s), s)
			}
			e.secrets.endRotation("r1")
			after := e.currentWorks("r1")
			assert.Equal(t, want, after, "AWSCURRENT holds the api_key and the same client secret")
			assert.Equal(t, []string{"AWSPREVIOUS"}, e.secrets.stagesOf(currentVersion))
			assert.Equal(t, ids, e.cognito.ids(), "Cognito unchanged")
			assert.True(t, e.cognito.valid(clientID, before["client_secret"]))
			assert.Equal(t, 1, e.cognito.count("AddUserPoolClientSecret"))
			assert.Equal(t, 0, e.cognito.count("DeleteUserPoolClientSecret"))
			assert.Nil(t, e.scheduler.get(rotate.ScheduleName(secretARN, heldID)), "the held secret's retirement is not scheduled")
			assert.NotNil(t, e.scheduler.get(rotate.ScheduleName(secretARN, e.firstID)), "the previous one's, from t1, is kept")
			assert.Equal(t, schedules, e.scheduler.len())
			assert.Equal(t, creates+1, e.scheduler.count("CreateSchedule"), "scheduled again: already there")

			// Up to date now: inside the window, the rotation fails as before.
			err := e.rotate("r2")
			assert.ErrorContains(t, err, "the rotation came before the overlap window ended")
			e.currentWorks("r1")

			// The previous secret's schedule fires, and the next rotation is
			// a full one.
			e.clock.Advance(overlap)
			require.NoError(t, e.retire(e.firstID))
			require.NoError(t, e.rotate("t2"))
			final := e.currentWorks("t2")
			assert.NotEqual(t, heldID, final["client_secret_id"])
			assert.Equal(t, e.apiKey, final[rotate.APIKeyField])
			assert.Equal(t, []string{heldID, final["client_secret_id"]}, e.cognito.ids())
		})
	}
}

// A repair whose PutSecretValue fails leaves everything as it was; the
// retry repairs.
func TestRepairFailureLosesNothing(t *testing.T) {
	e := setup(t)
	require.NoError(t, e.rotate("t1"))
	e.clock.Advance(time.Hour)
	e.apiKey = e.apiGateway.newValue(apiKeyID)
	_, before := e.current()

	e.secrets.failNext("PutSecretValue", errInjected)
	err := e.rotate("r1")
	assert.ErrorContains(t, err, "createSecret of secret "+secretARN+": PutSecretValue of the pending version repairing the api_key of API key "+apiKeyID)
	assert.ErrorIs(t, err, errInjected)
	_, fields := e.current()
	assert.Equal(t, before, fields)

	require.NoError(t, e.rotate("r1"))
	after := e.currentWorks("r1")
	assert.Equal(t, e.apiKey, after[rotate.APIKeyField])
	assert.Equal(t, before["client_secret_id"], after["client_secret_id"])
	assert.Equal(t, 1, e.cognito.count("AddUserPoolClientSecret"))
}
