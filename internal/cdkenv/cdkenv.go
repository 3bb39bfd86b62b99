// Package cdkenv names the environment variables of aws-cdk-lib that
// scopegate reads or sets, so that each name is written once.
package cdkenv

import "os"

// Validation is aws-cdk-lib's switch for its CloudFormation template
// validation ("CloudFormation Validate", run during synthesis): "false"
// turns it off, any other value or none leaves it on (aws-cdk-lib 2.270.0,
// core/lib/private/synthesis-validation.js, defaultValidationEnabled).
const Validation = "CDK_VALIDATION"

// ValidationOn tells whether aws-cdk-lib will validate the templates of a
// synthesis in this process, by the rule above.
func ValidationOn() bool { return os.Getenv(Validation) != "false" }
