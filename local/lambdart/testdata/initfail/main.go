// Command initfail is a test function for package lambdart: it fails its init
// (log.Fatal before lambda.Start), as a function missing its configuration
// does.
package main

import (
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	log.Print("initfail: reading configuration")
	if os.Getenv("INITFAIL_SETTING") == "" {
		log.Fatal("initfail: required setting INITFAIL_SETTING is missing")
	}
	lambda.Start(func() (string, error) { return "ok", nil })
}
