package verify

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
)

// Assembly is what preflight needs of a synthesized cloud assembly
// (cdk.out): its stacks and, for each, its template and the templates of its
// nested stacks.
//
// The budget package reads the same directory but exports no reader of the
// manifest or of nested stacks (it globs *.template.json), so this one
// follows the manifest: cloud assembly schema, "artifacts" of type
// aws:cloudformation:stack with properties.templateFile and
// requiresBootstrapStackVersion, and aws:cloud-assembly artifacts (stages)
// with properties.directoryName. A nested stack is an
// AWS::CloudFormation::Stack resource whose Metadata "aws:asset:path" names
// its template file in the same directory (what the CDK writes for
// NestedStack).
type Assembly struct {
	Dir    string
	Stacks []*AssemblyStack
}

// AssemblyStack is one top-level stack artifact.
type AssemblyStack struct {
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
}

// Template is one CloudFormation template of the assembly.
type Template struct {
	File      string
	Resources map[string]Resource
	Rules     map[string]any
	// Parent is the template holding the AWS::CloudFormation::Stack
	// resource ParentID that deploys this one; nil for a top-level stack.
	Parent   *Template
	ParentID string
}

// Resource is one resource of a template.
type Resource struct {
	Type       string
	Properties map[string]any
	Metadata   map[string]any
}

// ReadAssembly reads the assembly in dir. With stacks, only those (by
// artifact id or stack name) are kept, and one that is missing is an error.
func ReadAssembly(dir string, stacks []string) (*Assembly, error) {
	a := &Assembly{Dir: dir}
	if err := a.read(dir); err != nil {
		return nil, err
	}
	if len(stacks) > 0 {
		var kept []*AssemblyStack
		for _, want := range stacks {
			i := slices.IndexFunc(a.Stacks, func(s *AssemblyStack) bool { return s.ID == want || s.StackName == want })
			if i < 0 {
				return nil, fmt.Errorf("verify: the assembly in %s has no stack %s", dir, want)
			}
			kept = append(kept, a.Stacks[i])
		}
		a.Stacks = kept
	}
	if len(a.Stacks) == 0 {
		return nil, fmt.Errorf("verify: the assembly in %s has no stacks", dir)
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
	} `json:"artifacts"`
}

func (a *Assembly) read(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return fmt.Errorf("verify: no cloud assembly (run make synth first): %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("verify: %s: %w", filepath.Join(dir, "manifest.json"), err)
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
			s := &AssemblyStack{ID: id, StackName: art.Properties.StackName,
				RequiresBootstrap:  art.Properties.RequiresBootstrapStackVersion,
				BootstrapParameter: art.Properties.BootstrapStackVersionSsmParameter}
			if s.StackName == "" {
				s.StackName = id
			}
			if s.BootstrapParameter == "" {
				s.BootstrapParameter = "/cdk-bootstrap/hnb659fds/version"
			}
			if err := s.readTemplate(dir, art.Properties.TemplateFile, nil, ""); err != nil {
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

func (s *AssemblyStack) readTemplate(dir, file string, parent *Template, parentID string) error {
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("verify: stack %s: %w", s.ID, err)
	}
	t := &Template{File: file, Parent: parent, ParentID: parentID}
	var raw struct {
		Resources map[string]Resource
		Rules     map[string]any
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("verify: %s: %w", path, err)
	}
	t.Resources, t.Rules = raw.Resources, raw.Rules
	s.Templates = append(s.Templates, t)
	for _, id := range t.ids() {
		r := t.Resources[id]
		if r.Type != "AWS::CloudFormation::Stack" {
			continue
		}
		nested, _ := r.Metadata["aws:asset:path"].(string)
		if nested == "" || filepath.Base(nested) != nested {
			continue // not a CDK nested stack of this assembly
		}
		if err := s.readTemplate(dir, nested, t, id); err != nil {
			return err
		}
	}
	return nil
}

func (t *Template) ids() []string {
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// resolve follows {"Ref": X} through nested stack parameters to the
// template and logical id of the resource it names; ok is false when v is
// not such a reference.
func (t *Template) resolve(v any) (*Template, string, bool) {
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
		return t.Parent.resolve(val)
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
