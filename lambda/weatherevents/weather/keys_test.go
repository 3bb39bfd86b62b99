package weather_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
)

func TestGetReadsOneEventOrNotFound(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	e := sampleEvent("Storm Ciarán")
	require.NoError(t, store.Create(ctx, e))
	got, err := store.Get(ctx, e.ID)
	require.NoError(t, err)
	assert.Equal(t, e, got)
	_, err = store.Get(ctx, weather.NewID())
	assert.ErrorIs(t, err, weather.ErrNotFound)
}

// The first claim of a key holds; later ones read it back; an expired record
// (not yet deleted by TTL) can be claimed anew.
func TestKeysClaimOnce(t *testing.T) {
	ctx := context.Background()
	keys := &weather.DynamoKeys{Client: dynalite.Client(), Table: dynalite.NewKeysTable(t)}
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	first := weather.KeyRecord{
		Key: weather.ScopedKey("client-1", "k"), BodyHash: weather.BodyHash([]byte("a")), EventID: weather.NewID(),
		CreatedAt: now, ExpiresAt: now.Add(weather.KeyLifetime),
	}
	held, mine, err := keys.Claim(ctx, first)
	require.NoError(t, err)
	assert.True(t, mine)
	assert.Equal(t, first, held)

	second := first
	second.EventID, second.BodyHash, second.CreatedAt = weather.NewID(), weather.BodyHash([]byte("b")), now.Add(time.Hour)
	held, mine, err = keys.Claim(ctx, second)
	require.NoError(t, err)
	assert.False(t, mine)
	assert.Equal(t, first.EventID, held.EventID)
	assert.Equal(t, first.BodyHash, held.BodyHash)
	assert.True(t, first.CreatedAt.Equal(held.CreatedAt))

	later := second
	later.CreatedAt = now.Add(weather.KeyLifetime + time.Minute)
	later.ExpiresAt = later.CreatedAt.Add(weather.KeyLifetime)
	held, mine, err = keys.Claim(ctx, later)
	require.NoError(t, err)
	assert.True(t, mine, "an expired key is free again")
	assert.Equal(t, later.EventID, held.EventID)

	assert.NotEqual(t, weather.ScopedKey("client-1", "k"), weather.ScopedKey("client-2", "k"))
}

func TestUnavailableTellsSlowOrDownFromRefused(t *testing.T) {
	assert.True(t, weather.Unavailable(context.DeadlineExceeded))
	assert.True(t, weather.Unavailable(&net.OpError{Op: "dial", Err: errors.New("connection refused")}))
	assert.False(t, weather.Unavailable(weather.ErrNotFound))
	assert.False(t, weather.Unavailable(errors.New("stored event lacks attributes")))
}
