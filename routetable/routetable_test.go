package routetable_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/routetable"
)

func write(t *testing.T, table string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "routes.json")
	require.NoError(t, os.WriteFile(path, []byte(table), 0o644))
	return path
}

// A function serving several APIs loads the union of their files.
func TestLoadMergesEveryFileNamed(t *testing.T) {
	a := write(t, `[{"method":"GET","path":"/a","scopes":["x/read"]}]`)
	b := write(t, `[{"method":"GET","path":"/b","scopes":["x/write"]},{"method":"GET","path":"/a","scopes":["x/read"]}]`)
	t.Setenv(routetable.FileEnvVar, a+string(os.PathListSeparator)+b)
	table, err := routetable.Load()
	require.NoError(t, err)
	assert.Equal(t, routetable.Table{
		{Method: "GET", Path: "/a", Scopes: []string{"x/read"}},
		{Method: "GET", Path: "/b", Scopes: []string{"x/write"}},
	}, table)

	bad := write(t, `[{"method":"GET","path":"/a","scopes":["x/admin"]}]`)
	t.Setenv(routetable.FileEnvVar, a+string(os.PathListSeparator)+bad)
	_, err = routetable.Load()
	assert.ErrorContains(t, err, "GET /a needs x/read in one table and x/admin in another")

	t.Setenv(routetable.FileEnvVar, write(t, "[]"))
	_, err = routetable.Load()
	assert.ErrorContains(t, err, "holds no routes (in ")
}

func TestEncodeParsesBackAndEqualIgnoresOrder(t *testing.T) {
	table := routetable.Table{
		{Method: "GET", Path: "/", Scopes: []string{"w/get"}},
		{Method: "ANY", Path: "/{proxy+}", Scopes: []string{"w/any", "w/admin"}},
	}
	parsed, err := routetable.Parse(table.Encode())
	require.NoError(t, err)
	assert.Equal(t, table, parsed)
	assert.True(t, table.Equal(routetable.Table{table[1], table[0]}))
	assert.False(t, table.Equal(table[:1]))
	assert.False(t, table.Equal(routetable.Table{table[0], {Method: "ANY", Path: "/{proxy+}", Scopes: []string{"w/any"}}}))
}

func TestPolicyOpensWhatTheScopesOpen(t *testing.T) {
	policy := routetable.Table{
		{Method: "GET", Path: "/", Scopes: []string{"w/get"}},
		{Method: "DELETE", Path: "/{id}", Scopes: []string{"w/delete", "w/admin"}},
	}.Policy()
	assert.Equal(t, `{"routes":{"DELETE /{id}":["w/delete","w/admin"],"GET /":["w/get"]}}`, policy.JSON())
	assert.Equal(t, map[string]bool{"GET /": true, "DELETE /{id}": true}, policy.Opens([]string{"w/get", "w/admin"}))
	assert.Equal(t, map[string]bool{"GET /": false, "DELETE /{id}": false}, policy.Opens([]string{"w/gett"}))
}

func TestParse(t *testing.T) {
	table, err := routetable.Parse([]byte(`[{"method":"GET","path":"/","scopes":["weather-api/get"]},{"method":"ANY","path":"/{proxy+}","scopes":["default/default"]}]`))
	require.NoError(t, err)
	assert.Len(t, table, 2)

	for _, tc := range []struct{ data, want string }{
		{"", "the route table is empty"},
		{"[]", "holds no routes"},
		{"{}", "not a route table"},
		{`[{"method":"GET","path":"/","scopes":[]}]`, "route GET / has no scopes"},
		{`[{"method":"GET","path":"/"}]`, "route GET / has no scopes"},
		{`[{"method":"","path":"/","scopes":["a/b"]}]`, "needs a method"},
		{`[{"method":"GET","path":"x","scopes":["a/b"]}]`, "path starting with '/'"},
		{`[{"method":"GET","path":"/","scopes":["a/b"],"public":true}]`, `unknown field "public"`},
	} {
		_, err := routetable.Parse([]byte(tc.data))
		assert.ErrorContains(t, err, tc.want, tc.data)
	}
}

func TestLoadReadsTheFileTheEnvironmentNames(t *testing.T) {
	t.Setenv(routetable.FileEnvVar, "")
	_, err := routetable.Load()
	assert.ErrorContains(t, err, "SCOPEGATE_ROUTES_FILE is not set")

	path := filepath.Join(t.TempDir(), "routes.json")
	t.Setenv(routetable.FileEnvVar, path)
	_, err = routetable.Load()
	assert.ErrorContains(t, err, "reading the route table")

	require.NoError(t, os.WriteFile(path, []byte(`[{"method":"GET","path":"/","scopes":["weather-api/get"]}]`), 0o644))
	table, err := routetable.Load()
	require.NoError(t, err)
	assert.Equal(t, routetable.Table{{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}}}, table)
}

func TestFindMatchesMethodAndResourcePath(t *testing.T) {
	table := routetable.Table{
		{Method: "GET", Path: "/", Scopes: []string{"a/get"}},
		{Method: "ANY", Path: "/{proxy+}", Scopes: []string{"a/any"}},
	}
	r, ok := table.Find("GET", "/")
	assert.True(t, ok)
	assert.Equal(t, []string{"a/get"}, r.Scopes)
	_, ok = table.Find("POST", "/")
	assert.False(t, ok)
	r, ok = table.Find("PATCH", "/{proxy+}")
	assert.True(t, ok)
	assert.Equal(t, []string{"a/any"}, r.Scopes)
	_, ok = table.Find("GET", "/{id}")
	assert.False(t, ok)
}
