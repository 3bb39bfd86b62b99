// Command scaleapp is the scale test of make bench (and make bench-scale): one
// stack, "Scale", with the real constructs at a size given on the command
// line, so the bench can see how synth time and template size grow with
// clients and routes:
//
//	cdk synth --app bench/out/scaleapp -c scale:clients=1000 -c scale:routes=300
//
// Clients are partner-0001, partner-0002, ..., each allowed two of the 50
// scopes s00..s49 of one resource server; routes are laid out like a real
// REST API, GET, POST and DELETE on each of /r0, /r1, ..., each needing one
// scope.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/jsii-runtime-go"

	"github.com/scopegate/scopegate/budget"
	"github.com/scopegate/scopegate/cdkapp"
	"github.com/scopegate/scopegate/constructs/golambda"
	"github.com/scopegate/scopegate/constructs/m2mauth"
	"github.com/scopegate/scopegate/constructs/scopedapi"
	"github.com/scopegate/scopegate/lambda/weatherevents/weather"
)

const scopeCount = 50

func main() {
	cdkapp.UseKernelNodeFlags()
	if err := run(); err != nil {
		// One line, so the bench can put it in its table: the props' errors
		// are joined with newlines and jsii's carry a JavaScript stack.
		fmt.Fprintln(os.Stderr, "scaleapp:", oneLine(err))
		os.Exit(1)
	}
}

func run() (err error) {
	if path := os.Getenv("SCALEAPP_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	defer jsii.Close()
	// The constructs panic on bad props, and jsii turns errors on the Node.js
	// side (such as too many resources in a stack) into panics too.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	app := cdkapp.NewApp(nil)
	clients, err := contextInt(app, "scale:clients", 1)
	if err != nil {
		return err
	}
	routes, err := contextInt(app, "scale:routes", 10)
	if err != nil {
		return err
	}
	stack := awscdk.NewStack(app, jsii.String("Scale"), &awscdk.StackProps{
		Description: jsii.String(fmt.Sprintf("scopegate scale test: %d clients, %d routes", clients, routes)),
	})

	api := m2mauth.NewResourceServer("scale-api", "Scale test API")
	scopes := make([]m2mauth.Scope, scopeCount)
	for i := range scopes {
		scopes[i] = api.AddScope(fmt.Sprintf("s%02d", i), fmt.Sprintf("scope s%02d", i))
	}
	var clientProps []m2mauth.ClientProps
	for j := 1; j <= clients; j++ {
		clientProps = append(clientProps, m2mauth.ClientProps{
			Name:   fmt.Sprintf("partner-%04d", j),
			Scopes: []m2mauth.Scope{scopes[j%scopeCount], scopes[(j+1)%scopeCount]},
		})
	}
	auth := m2mauth.NewAuthServer(stack, "Auth", &m2mauth.AuthServerProps{
		ResourceServers: []*m2mauth.ResourceServer{api},
		Clients:         clientProps,
		Disposable:      true,
	})

	// The same service as stacks/service.go builds, so the function, its role
	// and the table weigh what they do in the real stacks.
	table := awsdynamodb.NewTable(stack, jsii.String("Events"), &awsdynamodb.TableProps{
		PartitionKey:       &awsdynamodb.Attribute{Name: jsii.String("id"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:        awsdynamodb.BillingMode_PAY_PER_REQUEST,
		DeletionProtection: jsii.Bool(false),
		RemovalPolicy:      awscdk.RemovalPolicy_DESTROY,
	})
	root := repoRoot()
	fn := golambda.NewGoFunction(stack, "Service", &golambda.GoFunctionProps{
		Entry:       filepath.Join(root, "lambda", "weatherevents"),
		ModuleDir:   root,
		Description: "weather-events service behind the scale test API",
		Environment: map[string]string{"TABLE_NAME": *table.TableName()},
		Disposable:  true,
	})
	table.Grant(fn.Role, *jsii.Strings(weather.DynamoActions...)...)

	methods := []string{"GET", "POST", "DELETE"}
	var routeList []scopedapi.Route
	for i := range routes {
		routeList = append(routeList, scopedapi.Route{
			Method: methods[i%3],
			Path:   fmt.Sprintf("/r%d", i/3),
			Scopes: []m2mauth.Scope{scopes[i%scopeCount]},
		})
	}
	scopedapi.NewScopedAPI(stack, "Api", &scopedapi.ScopedAPIProps{
		Auth:       auth,
		Handler:    fn.Function,
		Routes:     routeList,
		Disposable: true,
	})

	assembly := app.Synth(nil)
	// The CDK itself stops at 500 resources and 200 outputs per template;
	// the budget also catches the limits only a deploy would hit (template
	// bytes, role policy size, a function's environment and policy).
	return budget.CheckDir(*assembly.Directory(), budget.DefaultLimits(), nil)
}

// contextInt reads a positive whole number from the context: -c on the
// command line gives a string, cdk.json a number.
func contextInt(app awscdk.App, key string, def int) (int, error) {
	v := app.Node().TryGetContext(jsii.String(key))
	var n int
	switch v := v.(type) {
	case nil:
		return def, nil
	case float64:
		n = int(v)
		if float64(n) != v {
			return 0, fmt.Errorf("context %s: %v is not a whole number", key, v)
		}
	case string:
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			return 0, fmt.Errorf("context %s: %q is not a whole number", key, v)
		}
	default:
		return 0, fmt.Errorf("context %s: %v is not a whole number", key, v)
	}
	if n < 1 {
		return 0, fmt.Errorf("context %s: %d must be at least 1", key, n)
	}
	return n, nil
}

// repoRoot is the module's directory, found from the working directory as
// stacks/service.go does (make bench runs this app from the repository's
// root), so the function builds with -trimpath too.
func repoRoot() string {
	dir, err := golambda.FindModuleDir("github.com/scopegate/scopegate")
	if err != nil {
		panic(fmt.Sprintf("scaleapp: cannot find the scopegate module: %v. Run it from inside the scopegate module, as make bench does", err))
	}
	return dir
}

// oneLine joins an error's lines with "; ", leaving out JavaScript stack
// frames ("    at ...").
func oneLine(err error) string {
	var parts []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "at ") {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}
