package contract

// FunctionSourceMetadata is the construct metadata type constructs/golambda
// puts on each function's AWS::Lambda::Function: the function's main package
// and the module it is built in, as absolute directories. It lands in the
// cloud assembly's metadata (manifest.json or <stack>.metadata.json), not in
// the template, and make local reads it to build the function for the host
// instead of running the linux/arm64 asset.
const FunctionSourceMetadata = "scopegate:function"

// The keys of FunctionSourceMetadata's data.
const (
	FunctionSourceEntry     = "entry"
	FunctionSourceModuleDir = "moduleDir"
)
