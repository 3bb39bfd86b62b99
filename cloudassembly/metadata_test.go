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
	write("S.metadata.json", `{"/S/NoPath/Resource":[{"type":"aws:cdk:logicalId","data":"NoPath"},{"type":"scopegate:function","data":"by logical id"}],"/S/Fn/Resource":[{"type":"aws:cdk:logicalId","data":"Fn"},{"type":"scopegate:function","data":{"entry":"/src/fn"}}]}`)
	write("S.template.json", `{"Resources":{
		"Fn":{"Type":"AWS::Lambda::Function","Metadata":{"aws:cdk:path":"S/Fn/Resource"}},
		"Inline":{"Type":"AWS::SNS::Topic","Metadata":{"aws:cdk:path":"S/Inline/Resource"}},
		"Bare":{"Type":"AWS::SNS::Topic"},
		"NoPath":{"Type":"AWS::Lambda::Function"}}}`)
	a, err := Read(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := a.Stacks[0]
	if s.Dir != dir {
		t.Errorf("Dir = %q, want %q", s.Dir, dir)
	}
	tpl := s.Templates[0]
	data, ok := s.ConstructMetadata(tpl, "Fn", "scopegate:function")
	if m, _ := data.(map[string]any); !ok || m["entry"] != "/src/fn" {
		t.Errorf("Fn: got %v, %v; want the entry from the metadata file", data, ok)
	}
	if data, ok := s.ConstructMetadata(tpl, "Inline", "x:inline"); !ok || data != "in manifest" {
		t.Errorf("Inline: got %v, %v; want the manifest's entry", data, ok)
	}
	if _, ok := s.ConstructMetadata(tpl, "Fn", "x:inline"); ok {
		t.Error("Fn has no x:inline entry, but one was found")
	}
	if _, ok := s.ConstructMetadata(tpl, "Bare", "scopegate:function"); ok {
		t.Error("a resource without aws:cdk:path or logical id entry has no construct metadata")
	}
	if data, ok := s.ConstructMetadata(tpl, "NoPath", "scopegate:function"); !ok || data != "by logical id" {
		t.Errorf("NoPath: got %v, %v; want the entry found through aws:cdk:logicalId", data, ok)
	}
}
