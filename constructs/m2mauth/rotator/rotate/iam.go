package rotate

import "github.com/scopegate/scopegate/constructs/m2mauth/rotator/rotationiam"

// IAMActions are the actions the rotation function calls, by service
// (rotationiam.Actions, which the stack grants).
var IAMActions = rotationiam.Actions
