// Package cloudassembly reads a synthesized cloud assembly (cdk.out) as
// CloudFormation will get it: the manifest's stacks (stages included), each
// stack's template and the templates of its nested stacks, with what links a
// nested template to its parent. It imports nothing but the standard library,
// so that the synth-time checks (apiguard) and the deploy-time tools
// (bin/verify -preflight) read an assembly the same way.
package cloudassembly

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Assembly is a synthesized cloud assembly: its stacks and, for each, its
// template and the templates of its nested stacks.
//
// It follows the manifest (cloud assembly schema): "artifacts" of type
// aws:cloudformation:stack with properties.templateFile and
// requiresBootstrapStackVersion, and aws:cloud-assembly artifacts (stages)
// with properties.directoryName. A nested stack is an
// AWS::CloudFormation::Stack resource whose template file in the same
// directory is named by its Metadata "aws:asset:path" (what the CDK writes
// when the CLI asks for asset metadata) or, without it, by the file asset
// whose hash ends its TemplateURL ("<hash>.json") in the stack's assets
// manifest (<stack>.assets.json: files.<hash>.source.path).
type Assembly struct {
	Dir    string
	Stacks []*Stack
}

// Stack is one top-level stack artifact.
type Stack struct {
	// ID is the artifact id, StackName the name it deploys as.
	ID, StackName string
	// RequiresBootstrap is the manifest's requiresBootstrapStackVersion, or
	// failing that the lowest version the template's CheckBootstrapVersion
	// rule accepts; 0 when neither says.
	RequiresBootstrap int
	// BootstrapParameter is the SSM parameter holding the bootstrap
	// version, by default /cdk-bootstrap/hnb659fds/version.
	BootstrapParameter string
	// Templates is the stack's template, then its nested stacks' (depth
	// first).
	Templates []*Template
	// Dir is the directory of the stack's template and assets (a stage's
	// stacks are in a subdirectory of the assembly).
	Dir string
	// Metadata is the construct metadata of the stack's constructs, by
	// construct path ("/Stack/Construct/Resource"): the manifest's
	// artifact metadata and its additionalMetadataFile, merged.
	Metadata map[string][]MetadataEntry
	// Assets maps the stack's file assets' hashes to their paths in Dir
	// (<stack>.assets.json).
	Assets map[string]string
}

// AssetPath is the path, relative to Dir, of the asset a resource deploys:
// its "aws:asset:path" metadata (written when the CLI asks for asset
// metadata) or, without it, the file asset whose hash names the S3Key of
// its property (Code, Content: {"S3Key": "<hash>.zip"}). "" when neither
// says.
func (s *Stack) AssetPath(r Resource, property string) string {
	if p, ok := r.Metadata["aws:asset:path"].(string); ok {
		return p
	}
	code, _ := r.Properties[property].(map[string]any)
	key, _ := code["S3Key"].(string)
	return s.Assets[strings.TrimSuffix(key[strings.LastIndex(key, "/")+1:], ".zip")]
}

// MetadataEntry is one construct metadata entry (cloud assembly schema
// MetadataEntry).
type MetadataEntry struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// ConstructMetadata is the data of the first metadata entry of type typ on
// the construct that synthesized resource id of t: the construct at the
// resource's "aws:cdk:path" metadata or, in an assembly synthesized without
// path metadata (an app synthesized in-process rather than by the CLI), the
// construct whose "aws:cdk:logicalId" entry names id.
func (s *Stack) ConstructMetadata(t *Template, id, typ string) (any, bool) {
	path, _ := t.Resources[id].Metadata["aws:cdk:path"].(string)
	if path != "" {
		path = "/" + path
	} else {
		for p, entries := range s.Metadata {
			for _, e := range entries {
				if e.Type == "aws:cdk:logicalId" && e.Data == id {
					path = p
				}
			}
		}
	}
	if path == "" {
		return nil, false
	}
	for _, e := range s.Metadata[path] {
		if e.Type == typ {
			return e.Data, true
		}
	}
	return nil, false
}

// Template is one CloudFormation template of the assembly.
type Template struct {
	File       string
	Resources  map[string]Resource
	Rules      map[string]any
	Parameters map[string]any
	Outputs    map[string]Output
	// Parent is the template holding the AWS::CloudFormation::Stack
	// resource ParentID that deploys this one; nil for a top-level stack.
	Parent   *Template
	ParentID string
}

// Output is one output of a template.
type Output struct {
	Value  any
	Export *struct{ Name any }
}

// Resource is one resource of a template.
type Resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
}

// Read reads the assembly in dir. With stacks, only those (by
// artifact id or stack name) are kept, and one that is missing is an error.
func Read(dir string, stacks []string) (*Assembly, error) {
	a := &Assembly{Dir: dir}
	if err := a.read(dir); err != nil {
		return nil, err
	}
	if len(stacks) > 0 {
		var kept []*Stack
		for _, want := range stacks {
			i := slices.IndexFunc(a.Stacks, func(s *Stack) bool { return s.ID == want || s.StackName == want })
			if i < 0 {
				return nil, fmt.Errorf("cloudassembly: the assembly in %s has no stack %s", dir, want)
			}
			kept = append(kept, a.Stacks[i])
		}
		a.Stacks = kept
	}
	if len(a.Stacks) == 0 {
		return nil, fmt.Errorf("cloudassembly: the assembly in %s has no stacks", dir)
	}
	return a, nil
}

type manifest struct {
	Artifacts map[string]struct {
		Type        string `json:"type"`
		DisplayName string `json:"displayName"`
		Properties  struct {
			TemplateFile                      string `json:"templateFile"`
			StackName                         string `json:"stackName"`
			RequiresBootstrapStackVersion     int    `json:"requiresBootstrapStackVersion"`
			BootstrapStackVersionSsmParameter string `json:"bootstrapStackVersionSsmParameter"`
			DirectoryName                     string `json:"directoryName"`
		} `json:"properties"`
		Metadata               map[string][]MetadataEntry `json:"metadata"`
		AdditionalMetadataFile string                     `json:"additionalMetadataFile"`
	} `json:"artifacts"`
}

func (a *Assembly) read(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return fmt.Errorf("cloudassembly: no cloud assembly (run make synth first): %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("cloudassembly: %s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	ids := make([]string, 0, len(m.Artifacts))
	for id := range m.Artifacts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		art := m.Artifacts[id]
		switch art.Type {
		case "aws:cloud-assembly": // a stage: its own assembly in a subdirectory
			if art.Properties.DirectoryName != "" {
				if err := a.read(filepath.Join(dir, art.Properties.DirectoryName)); err != nil {
					return err
				}
			}
		case "aws:cloudformation:stack":
			s := &Stack{ID: id, StackName: art.Properties.StackName,
				RequiresBootstrap:  art.Properties.RequiresBootstrapStackVersion,
				BootstrapParameter: art.Properties.BootstrapStackVersionSsmParameter}
			if s.StackName == "" {
				s.StackName = id
			}
			s.Dir = dir
			if err := s.readMetadata(dir, art.Metadata, art.AdditionalMetadataFile); err != nil {
				return err
			}
			if s.BootstrapParameter == "" {
				s.BootstrapParameter = "/cdk-bootstrap/hnb659fds/version"
			}
			assets, err := readAssets(dir, art.Properties.TemplateFile)
			if err != nil {
				return err
			}
			s.Assets = assets
			if err := s.readTemplate(dir, art.Properties.TemplateFile, nil, "", assets); err != nil {
				return err
			}
			if s.RequiresBootstrap == 0 {
				s.RequiresBootstrap = ruleMinimum(s.Templates[0].Rules)
			}
			a.Stacks = append(a.Stacks, s)
		}
	}
	return nil
}

// readMetadata merges the artifact's metadata and its additional metadata
// file (where the CDK writes it when the manifest would grow too large).
func (s *Stack) readMetadata(dir string, inline map[string][]MetadataEntry, file string) error {
	s.Metadata = map[string][]MetadataEntry{}
	for path, entries := range inline {
		s.Metadata[path] = append(s.Metadata[path], entries...)
	}
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return fmt.Errorf("cloudassembly: stack %s: %w", s.ID, err)
	}
	var more map[string][]MetadataEntry
	if err := json.Unmarshal(data, &more); err != nil {
		return fmt.Errorf("cloudassembly: %s: %w", filepath.Join(dir, file), err)
	}
	for path, entries := range more {
		s.Metadata[path] = append(s.Metadata[path], entries...)
	}
	return nil
}

// readAssets maps the file assets of the stack whose template is file to
// their files: <stack>.assets.json beside <stack>.template.json. None is no
// error (an assembly synthesized without asset manifests).
func readAssets(dir, file string) (map[string]string, error) {
	path := filepath.Join(dir, strings.TrimSuffix(file, ".template.json")+".assets.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cloudassembly: %w", err)
	}
	var m struct {
		Files map[string]struct {
			Source struct {
				Path string `json:"path"`
			} `json:"source"`
		} `json:"files"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("cloudassembly: %s: %w", path, err)
	}
	files := map[string]string{}
	for hash, f := range m.Files {
		files[hash] = f.Source.Path
	}
	return files, nil
}

// nestedTemplate is the file of a nested stack's template (see Assembly).
func nestedTemplate(r Resource, assets map[string]string) string {
	if p, ok := r.Metadata["aws:asset:path"].(string); ok {
		return p
	}
	var last string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			if strings.HasSuffix(v, ".json") {
				last = v
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(r.Properties["TemplateURL"])
	return assets[strings.TrimSuffix(last[strings.LastIndex(last, "/")+1:], ".json")]
}

func (s *Stack) readTemplate(dir, file string, parent *Template, parentID string, assets map[string]string) error {
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cloudassembly: stack %s: %w", s.ID, err)
	}
	t := &Template{File: file, Parent: parent, ParentID: parentID}
	var raw struct {
		Resources  map[string]Resource
		Rules      map[string]any
		Parameters map[string]any
		Outputs    map[string]Output
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("cloudassembly: %s: %w", path, err)
	}
	t.Resources, t.Rules, t.Parameters, t.Outputs = raw.Resources, raw.Rules, raw.Parameters, raw.Outputs
	s.Templates = append(s.Templates, t)
	for _, id := range t.IDs() {
		r := t.Resources[id]
		if r.Type != "AWS::CloudFormation::Stack" {
			continue
		}
		nested := nestedTemplate(r, assets)
		if nested == "" || filepath.Base(nested) != nested {
			continue // not a CDK nested stack of this assembly
		}
		if err := s.readTemplate(dir, nested, t, id, assets); err != nil {
			return err
		}
	}
	return nil
}

// IDs are the template's logical ids, sorted.
func (t *Template) IDs() []string {
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Resolve follows {"Ref": X} through nested stack parameters to the
// template and logical id of the resource it names; ok is false when v is
// not such a reference.
func (t *Template) Resolve(v any) (*Template, string, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, "", false
	}
	ref, ok := m["Ref"].(string)
	if !ok {
		return nil, "", false
	}
	if _, isResource := t.Resources[ref]; isResource {
		return t, ref, true
	}
	if t.Parent == nil {
		return nil, "", false
	}
	params, _ := t.Parent.Resources[t.ParentID].Properties["Parameters"].(map[string]any)
	if val, ok := params[ref]; ok {
		return t.Parent.Resolve(val)
	}
	return nil, "", false
}

// bootstrapVersions matches the versions the CDK's CheckBootstrapVersion
// rule refuses: {"Fn::Not":[{"Fn::Contains":[["1","2","3","4","5"],{"Ref":"BootstrapVersion"}]}]}.
var bootstrapVersions = regexp.MustCompile(`^[0-9]+$`)

// ruleMinimum is one more than the highest version the template's
// CheckBootstrapVersion rule refuses, 0 when there is no such rule.
func ruleMinimum(rules map[string]any) int {
	rule, ok := rules["CheckBootstrapVersion"]
	if !ok {
		return 0
	}
	data, _ := json.Marshal(rule)
	var r struct {
		Assertions []struct {
			Assert map[string][]map[string][]json.RawMessage
		}
	}
	if json.Unmarshal(data, &r) != nil {
		return 0
	}
	highest := 0
	for _, a := range r.Assertions {
		for _, not := range a.Assert["Fn::Not"] {
			for _, arg := range not["Fn::Contains"] {
				var list []string
				if json.Unmarshal(arg, &list) != nil {
					continue
				}
				for _, v := range list {
					if n, err := strconv.Atoi(v); err == nil && bootstrapVersions.MatchString(v) && n > highest {
						highest = n
					}
				}
			}
		}
	}
	if highest == 0 {
		return 0
	}
	return highest + 1
}
