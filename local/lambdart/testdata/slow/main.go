// Command slow is a test function for package lambdart: it sleeps as long as
// its event says, ignoring its deadline.
package main

import (
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type request struct {
	SleepMS int `json:"sleep_ms"`
}

func main() {
	lambda.Start(func(req request) (string, error) {
		time.Sleep(time.Duration(req.SleepMS) * time.Millisecond)
		return "slept", nil
	})
}
