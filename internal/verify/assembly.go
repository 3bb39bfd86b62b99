package verify

import "github.com/scopegate/scopegate/cloudassembly"

// The assembly preflight reads, as package cloudassembly reads it.
type (
	Assembly      = cloudassembly.Assembly
	AssemblyStack = cloudassembly.Stack
	Template      = cloudassembly.Template
	Resource      = cloudassembly.Resource
)

// ReadAssembly reads the assembly in dir (cloudassembly.Read).
func ReadAssembly(dir string, stacks []string) (*Assembly, error) {
	return cloudassembly.Read(dir, stacks)
}
