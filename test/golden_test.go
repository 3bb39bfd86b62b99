package test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scopegate/scopegate/internal/testkit/cdktest"
)

var update = flag.Bool("update", false, "rewrite the golden templates in testdata/ from the current synthesis")

// Asset hashes change with every edit of the Lambda's source (and with CDK
// versions for CDK's own assets); they say nothing a reviewer needs.
var assetHash = regexp.MustCompile(`[0-9a-f]{64}`)

// normalize returns the template as stable, indented JSON: asset hashes
// replaced, and CDK's version metadata dropped.
func normalize(t *testing.T, tmpl cdktest.Template) []byte {
	t.Helper()
	clean := map[string]any{}
	for k, v := range tmpl {
		clean[k] = v
	}
	if resources, ok := clean["Resources"].(map[string]any); ok {
		copied := map[string]any{}
		for id, r := range resources {
			if id != "CDKMetadata" {
				copied[id] = r
			}
		}
		clean["Resources"] = copied
	}
	if conditions, ok := clean["Conditions"].(map[string]any); ok {
		delete(conditions, "CDKMetadataAvailable")
		if len(conditions) == 0 {
			delete(clean, "Conditions")
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(clean))
	return assetHash.ReplaceAll(buf.Bytes(), []byte("<asset-hash>"))
}

// Every change to the emitted infrastructure shows up as a diff of
// test/testdata/*.template.json. After an intended change:
//
//	go test ./test -run TestGoldenTemplates -update
func TestGoldenTemplates(t *testing.T) {
	each(t, func(t *testing.T, c *configuration) {
		templates := map[string]cdktest.Template{c.name: c.template}
		for id, tmpl := range c.clientTemplates {
			templates[c.name+"."+id] = tmpl
		}
		for name, tmpl := range templates {
			got := normalize(t, tmpl)
			path := filepath.Join("testdata", name+".template.json")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, got, 0o644))
				continue
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no golden template: run go test ./test -run TestGoldenTemplates -update")
			if !bytes.Equal(want, got) {
				t.Fatalf("%s differs from the synthesized template (%s).\nIf the change is intended, run: go test ./test -run TestGoldenTemplates -update\nand review the diff.", path, firstDifference(string(want), string(got)))
			}
		}
	})
}

func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ": golden " + strings.TrimSpace(wl) + " | now " + strings.TrimSpace(gl)
		}
	}
	return "no line differs"
}
