package cloudassembly

import (
	"os"
	"path/filepath"
	"testing"
)

// Construct metadata is found by the resource's aws:cdk:path, whether the
// manifest holds it or its additionalMetadataFile does.
func TestConstructMetadata(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("manifest.json", `{"artifacts":{"S":{"type":"aws:cloudformation:stack","properties":{"templateFile":"S.template.json"},
		"metadata":{"/S/Inline/Resource":[{"type":"x:inline","data":"in manifest"}]},"additionalMetadataFile":"S.metadata.json"}}}`)
	write("S.metadata.json", `{"/S/Fn/Resource":[{"type":"aws:cdk:logicalId","data":"Fn"},{"type":"scopegate:function","data":{"entry":"/src/fn"}}]}`)
	write("S.template.json", `{"Resources":{
		"Fn":{"Type":"AWS::Lambda::Function","Metadata":{"aws:cdk:path":"S/Fn/Resource"}},
		"Inline":{"Type":"AWS::SNS::Topic","Metadata":{"aws:cdk:path":"S/Inline/Resource"}},
		"Bare":{"Type":"AWS::SNS::Topic"}}}`)
	a, err := Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := a.Stacks[0]
	if s.Dir != dir {
		t.Errorf("Dir = %q, want %q", s.Dir, dir)
	}
	tpl := s.Templates[0]
	data, ok := s.ConstructMetadata(tpl.Resources["Fn"], "scopegate:function")
	if m, _ := data.(map[string]any); !ok || m["entry"] != "/src/fn" {
		t.Errorf("Fn: got %v, %v; want the entry from the metadata file", data, ok)
	}
	if data, ok := s.ConstructMetadata(tpl.Resources["Inline"], "x:inline"); !ok || data != "in manifest" {
		t.Errorf("Inline: got %v, %v; want the manifest's entry", data, ok)
	}
	if _, ok := s.ConstructMetadata(tpl.Resources["Fn"], "x:inline"); ok {
		t.Error("Fn has no x:inline entry, but one was found")
	}
	if _, ok := s.ConstructMetadata(tpl.Resources["Bare"], "scopegate:function"); ok {
		t.Error("a resource without aws:cdk:path has no construct metadata")
	}
}
