package main

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/stretchr/testify/assert"

	"github.com/scopegate/scopegate/internal/verify"
)

type failingCloudFormation struct{}

func (failingCloudFormation) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	return nil, errors.New("ExpiredToken: the security token included in the request is expired")
}

// Exit status 2 means "could not verify", distinct from 1, "verified and
// found a mismatch" (covered by verify.Report.ExitCode's tests).
func TestExitStatusWhenTheStackCannotBeRead(t *testing.T) {
	v := &verify.Verifier{CloudFormation: failingCloudFormation{}}
	assert.Equal(t, 2, run(context.Background(), v, "WeatherEvents", false))
}
