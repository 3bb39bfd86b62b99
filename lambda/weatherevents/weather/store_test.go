package weather_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/dynalitetest"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
)

var dynalite *dynalitetest.Server

func TestMain(m *testing.M) { dynalitetest.Main(m, func(s *dynalitetest.Server) { dynalite = s }) }

// newStore gives each test a table of its own on the shared server.
func newStore(t *testing.T) *weather.DynamoStore {
	return &weather.DynamoStore{Client: dynalite.Client(), Table: dynalite.NewEventsTable(t)}
}

func sampleEvent(name string) weather.Event {
	return weather.Event{
		ID: weather.NewID(), Name: name, DateStart: "2022-02-16", DateEnd: "2022-02-21",
		CreatedBy: "client-1", CreatedAt: time.Date(2026, 11, 22, 10, 0, 0, 123, time.UTC),
	}
}

func TestCreateThenListReturnsEveryField(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	e := sampleEvent("Storms Dudley, Eunice and Franklin")
	require.NoError(t, store.Create(ctx, e))

	page, err := store.List(ctx, 10, "")
	require.NoError(t, err)
	assert.Equal(t, []weather.Event{e}, page.Events)
	assert.Empty(t, page.Next)
}

func TestCreateRefusesAnExistingID(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	e := sampleEvent("first")
	require.NoError(t, store.Create(ctx, e))
	dup := e
	dup.Name = "second"
	assert.ErrorIs(t, store.Create(ctx, dup), weather.ErrExists)

	page, err := store.List(ctx, 10, "")
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
	assert.Equal(t, "first", page.Events[0].Name, "the refused write must not overwrite")
}

func TestListPaginatesOverEveryEventOnce(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	want := map[string]bool{}
	for i := range 7 {
		e := sampleEvent(fmt.Sprintf("event %d", i))
		require.NoError(t, store.Create(ctx, e))
		want[e.ID] = true
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		page, err := store.List(ctx, 3, cursor)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(page.Events), 3)
		for _, e := range page.Events {
			assert.False(t, seen[e.ID], "event %s listed twice", e.ID)
			seen[e.ID] = true
		}
		pages++
		require.Less(t, pages, 10, "pagination does not end")
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	assert.Equal(t, want, seen)
	assert.GreaterOrEqual(t, pages, 3)
}

func TestListRefusesCursorsItDidNotIssue(t *testing.T) {
	store := newStore(t)
	for _, cursor := range []string{
		"not base64!",
		base64.RawURLEncoding.EncodeToString([]byte(`{"id":`)),
		base64.RawURLEncoding.EncodeToString([]byte(`{"id":"../../etc"}`)),
		base64.RawURLEncoding.EncodeToString([]byte(`[]`)),
	} {
		_, err := store.List(context.Background(), 10, cursor)
		assert.ErrorIs(t, err, weather.ErrBadCursor, cursor)
	}
}

func TestDeleteRemovesOnlyThatEvent(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	keep, drop := sampleEvent("keep"), sampleEvent("drop")
	require.NoError(t, store.Create(ctx, keep))
	require.NoError(t, store.Create(ctx, drop))

	require.NoError(t, store.Delete(ctx, drop.ID))
	assert.ErrorIs(t, store.Delete(ctx, drop.ID), weather.ErrNotFound)

	page, err := store.List(ctx, 10, "")
	require.NoError(t, err)
	assert.Equal(t, []weather.Event{keep}, page.Events)
}

func TestDeleteOfUnknownIDIsNotFound(t *testing.T) {
	assert.ErrorIs(t, newStore(t).Delete(context.Background(), weather.NewID()), weather.ErrNotFound)
}
