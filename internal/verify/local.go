package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/scopegate/scopegate/contract"
	"github.com/scopegate/scopegate/m2mclient"
)

// Local reads what make local wrote in its state directory, the stacks'
// outputs (contract.LocalOutputsFile) and the client secrets
// (contract.LocalSecretsFile), and answers the verifier's two AWS calls
// from them, so that bin/verify -local checks a local run as it checks a
// deployment.
type Local struct {
	outputs map[string]map[string]string
	secrets map[string]json.RawMessage
}

// ReadLocal reads the state directory dir.
func ReadLocal(dir string) (*Local, error) {
	l := &Local{}
	for file, into := range map[string]any{contract.LocalOutputsFile: &l.outputs, contract.LocalSecretsFile: &l.secrets} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, fmt.Errorf("verify: -local: %w (is make local running?)", err)
		}
		if err := json.Unmarshal(data, into); err != nil {
			return nil, fmt.Errorf("verify: -local: %s: %w", filepath.Join(dir, file), err)
		}
	}
	return l, nil
}

// DescribeStacks answers with the local outputs of the stack.
func (l *Local) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	name := aws.ToString(in.StackName)
	outputs, ok := l.outputs[name]
	if !ok {
		return nil, fmt.Errorf("stack %s is not in the local outputs", name)
	}
	stack := cfntypes.Stack{StackName: aws.String(name)}
	for k, v := range outputs {
		stack.Outputs = append(stack.Outputs, cfntypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{stack}}, nil
}

// GetSecretValue answers with the local secret at AWSCURRENT; a local
// secret has no other version.
func (l *Local) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	value, ok := l.secrets[aws.ToString(in.SecretId)]
	if !ok || (in.VersionStage != nil && *in.VersionStage != m2mclient.StageCurrent) {
		return nil, &smtypes.ResourceNotFoundException{Message: aws.String("no such local secret version")}
	}
	return &secretsmanager.GetSecretValueOutput{ARN: in.SecretId, SecretString: aws.String(string(value))}, nil
}
