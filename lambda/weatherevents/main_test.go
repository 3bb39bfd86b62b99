package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/routetable"
)

func TestNewServerRefusesToStartWithoutConfiguration(t *testing.T) {
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))

	t.Setenv(routetable.FileEnvVar, "")
	t.Setenv(TableEnvVar, "events")
	_, err := newServer(logger)
	assert.ErrorContains(t, err, "SCOPEGATE_ROUTES_FILE is not set")

	routes := filepath.Join(t.TempDir(), "routes.json")
	require.NoError(t, os.WriteFile(routes, []byte(`[{"method":"GET","path":"/","scopes":["weather-api/get"]}]`), 0o644))
	t.Setenv(routetable.FileEnvVar, routes)
	t.Setenv(TableEnvVar, "")
	_, err = newServer(logger)
	assert.ErrorContains(t, err, "TABLE_NAME is not set")

	t.Setenv(TableEnvVar, "events")
	t.Setenv("AWS_REGION", "")
	_, err = newServer(logger)
	assert.ErrorContains(t, err, "AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set")

	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_SESSION_TOKEN", "session")
	server, err := newServer(logger)
	require.NoError(t, err)
	assert.Len(t, server.Routes, 1)
}
