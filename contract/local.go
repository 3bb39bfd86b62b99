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

// The files make local writes in its state directory (default
// cdk.out/local) and bin/verify -local reads.
const (
	// LocalOutputsFile holds the stacks' outputs with local values, in the
	// shape `cdk deploy --outputs-file` writes: {"Stack": {"OutputKey": "value"}}.
	LocalOutputsFile = "outputs.json"
	// LocalSecretsFile holds each client secret's value by secret ARN, in
	// ClientSecret's shape: what Secrets Manager would hold.
	LocalSecretsFile = "secrets.json"
)
