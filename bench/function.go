package main

import (
	"cmp"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scopegate/scopegate/internal/testkit/dynalitetest"
	"github.com/scopegate/scopegate/internal/testkit/faultproxy"
	"github.com/scopegate/scopegate/local/lambdart"
	"github.com/scopegate/scopegate/routetable"
)

var functionLimit = flag.Duration("function-limit", 10*time.Minute, "bound on the whole function section (processes are stopped when it passes)")

// The function section's sizes and settings.
const (
	fnWarmup     = 20  // invocations before each timed series, not timed
	fnRuns       = 300 // timed GETs, POSTs, refused requests, direct dynalite calls
	fnReplayRuns = 100 // timed POSTs that repeat one Idempotency-Key
	fnSeedEvents = 20  // events in the table while GET is timed
	fnFaultRuns  = 10  // GETs and as many POSTs per fault mode
	fnColdStarts = 10  // fresh processes for the cold start
	// fnOutageRequests is how many refused requests one process sees in the
	// storage-down rows, past the 50 that spend the SDK's retry quota.
	fnOutageRequests = 70
	fnInvokeLimit    = 5 * time.Second
	fnFaultLimit     = 3 * time.Second // the invocation deadline under faults
	fnStorageLimit   = time.Second     // STORAGE_TIMEOUT_MS
	// fnBootstrapBefore is the bootstrap's size in BENCHMARKS.md before the
	// function got its storage deadlines and idempotency keys (commit
	// 7799cb7), and fnLoadedBefore its loaded segments' bytes (the same
	// build of 7799cb7, measured as loadedBytes does).
	fnBootstrapBefore = 7_733_374
	fnLoadedBefore    = 7_695_332
)

// functionRows runs the weather-events function as Lambda runs it (its
// bootstrap behind a local Runtime API, local/lambdart) against dynalite
// behind a proxy that can hang or refuse (internal/faultproxy), and measures
// its latency, its answers under storage faults, its cold start and the size
// of its arm64 bootstrap. Every process it starts is stopped before it
// returns, on errors, on Ctrl-C and when -function-limit passes too.
func functionRows() []row {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeoutCause(ctx, *functionLimit, fmt.Errorf("the section ran past -function-limit %v", *functionLimit))
	defer cancel()
	rows, err := measureFunction(ctx)
	if err != nil {
		fail("function: " + err.Error())
	}
	return rows
}

func measureFunction(ctx context.Context) ([]row, error) {
	var rows []row
	size, err := bootstrapSizeRow(ctx)
	if err != nil {
		return nil, err
	}
	rows = append(rows, size)

	dir, err := filepath.Abs(filepath.Join(*outDir, "function"))
	if err != nil {
		return nil, err
	}
	binary, err := lambdart.Build(ctx, "./lambda/weatherevents", dir)
	if err != nil {
		return nil, err
	}
	routes := filepath.Join(dir, "routes.json")
	if err := os.WriteFile(routes, routetable.Table{
		{Method: "GET", Path: "/", Scopes: []string{"weather-api/get"}},
		{Method: "POST", Path: "/", Scopes: []string{"weather-api/post"}},
		{Method: "GET", Path: "/{id}", Scopes: []string{"weather-api/get"}},
		{Method: "DELETE", Path: "/{id}", Scopes: []string{"weather-api/delete"}},
	}.Encode(), 0o644); err != nil {
		return nil, err
	}

	dynalite, err := dynalitetest.Start()
	if err != nil {
		return nil, err
	}
	defer dynalite.Stop()
	proxy, err := faultproxy.Start(strings.TrimPrefix(dynalite.Endpoint, "http://"))
	if err != nil {
		return nil, err
	}
	defer proxy.Close()

	env := &fnEnv{dynalite: dynalite, proxy: proxy, binary: binary, routes: routes}
	latency, err := env.latencyRows(ctx)
	if err != nil {
		return nil, err
	}
	rows = append(rows, latency...)
	faults, err := env.faultRows(ctx)
	if err != nil {
		return nil, err
	}
	rows = append(rows, faults...)
	cold, err := env.coldStartRow(ctx)
	if err != nil {
		return nil, err
	}
	suspend, err := env.suspensionRow(ctx)
	if err != nil {
		return nil, err
	}
	return append(rows, cold, suspend), nil
}

// bootstrapSizeRow builds the bootstrap the way golambda bundles it for
// Lambda and compares its size with the figure before.
func bootstrapSizeRow(ctx context.Context) (row, error) {
	out := filepath.Join(*outDir, "bootstrap-arm64")
	env := []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}
	args := []string{"go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-tags=lambda.norpc", "-o", out, "./lambda/weatherevents"}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return row{}, fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, b)
	}
	info, err := os.Stat(out)
	if err != nil {
		return row{}, err
	}
	n := info.Size()
	loaded, err := loadedBytes(out)
	if err != nil {
		return row{}, err
	}
	return row{"function: bootstrap (linux/arm64, as bundled for Lambda)",
		fmt.Sprintf("%.2f MB (%s bytes; %s against %s bytes before; target < 10 MB); loaded segments %s bytes, %s against %s before (the file grows in 64 KiB steps: each segment starts on a 64 KiB boundary)",
			float64(n)/1e6, thousands(n), change(n, fnBootstrapBefore), thousands(fnBootstrapBefore),
			thousands(loaded), change(loaded, fnLoadedBefore), thousands(fnLoadedBefore)),
		"GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -trimpath -ldflags=\"-s -w -buildid=\" -tags=lambda.norpc -o " + out + " ./lambda/weatherevents, then stat, and the sum of the PT_LOAD segments' file sizes (debug/elf)"}, nil
}

// loadedBytes sums the file sizes of an ELF file's loadable segments: the
// code and data, without the padding that aligns them.
func loadedBytes(path string) (int64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			n += int64(p.Filesz)
		}
	}
	return n, nil
}

func change(now, before int64) string {
	return fmt.Sprintf("%+.1f %%", 100*float64(now-before)/float64(before))
}

// fnEnv is what every function of the section shares: dynalite, the proxy in
// front of it, the host build of the bootstrap and the route table file.
type fnEnv struct {
	dynalite *dynalitetest.Server
	proxy    *faultproxy.Proxy
	binary   string
	routes   string
	tables   int
}

// fnFunction is one execution environment with tables of its own.
type fnFunction struct {
	*lambdart.Function
	events, keys string
}

// start creates an events table and a keys table and starts the function
// on them, with its storage behind the proxy. The caller must Stop it.
func (e *fnEnv) start(ctx context.Context) (*fnFunction, error) {
	e.tables++
	f := &fnFunction{events: fmt.Sprintf("bench-events-%d", e.tables), keys: fmt.Sprintf("bench-keys-%d", e.tables)}
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.dynalite.CreateTable(tctx, f.events, "id"); err != nil {
		return nil, fmt.Errorf("creating %s: %w", f.events, err)
	}
	if err := e.dynalite.CreateTable(tctx, f.keys, "key"); err != nil {
		return nil, fmt.Errorf("creating %s: %w", f.keys, err)
	}
	var err error
	f.Function, err = lambdart.Start(tctx, e.binary, e.fnVars(f))
	if err != nil {
		return nil, err
	}
	return f, nil
}

func (e *fnEnv) fnVars(f *fnFunction) []string {
	return []string{
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"TABLE_NAME=" + f.events, "IDEMPOTENCY_TABLE_NAME=" + f.keys,
		routetable.FileEnvVar + "=" + e.routes,
		"AWS_ENDPOINT_URL_DYNAMODB=" + e.proxy.URL(),
		"STORAGE_TIMEOUT_MS=" + strconv.FormatInt(fnStorageLimit.Milliseconds(), 10),
	}
}

// fnRequest is an API Gateway proxy event as the Cognito authorizer passes
// it (the shape of lambda/weatherevents/binarytest's request).
func fnRequest(method, resource, path, scope, key, body string) []byte {
	headers := map[string][]string{"Authorization": {"Bearer t"}}
	if body != "" {
		headers["Content-Type"] = []string{"application/json"}
	}
	if key != "" {
		headers["Idempotency-Key"] = []string{`"` + key + `"`}
	}
	var params map[string]string
	if resource == "/{id}" {
		params = map[string]string{"id": strings.TrimPrefix(path, "/")}
	}
	data, err := json.Marshal(events.APIGatewayProxyRequest{
		HTTPMethod: method, Resource: resource, Path: path, MultiValueHeaders: headers, Body: body, PathParameters: params,
		RequestContext: events.APIGatewayProxyRequestContext{
			RequestID: "req", HTTPMethod: method, ResourcePath: resource, Stage: "weather", Path: "/weather" + path,
			Authorizer: map[string]any{"claims": map[string]any{"token_use": "access", "client_id": "bench-client", "scope": scope}},
		},
	})
	if err != nil {
		panic(err) // a fixed shape of strings and maps
	}
	return data
}

const fnEventBody = `{"name":"Storms Malik and Corrie","dateStart":"2022-01-29","dateEnd":"2022-01-31"}`

func fnGet() []byte { return fnRequest("GET", "/", "/", "weather-api/get", "", "") }
func fnPost(key string) []byte {
	return fnRequest("POST", "/", "/", "weather-api/post", key, fnEventBody)
}

// sample is one invocation: the wall time of Invoke, the Duration the
// runtime API saw (event handed out to answer in), and the answer.
type sample struct {
	wall, duration time.Duration
	resp           events.APIGatewayProxyResponse
	err            error
}

// invoke sends one event and times Invoke. A failed invocation is a sample
// with err set; only the section's own context ending is an error.
func (f *fnFunction) invoke(ctx context.Context, event []byte, timeout time.Duration) (sample, error) {
	ictx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
	defer cancel()
	begin := time.Now()
	out, err := f.Invoke(ictx, event, timeout)
	s := sample{wall: time.Since(begin), duration: f.LastInvocation().Duration}
	if err != nil {
		if ctx.Err() != nil {
			return s, context.Cause(ctx)
		}
		s.err = err
		return s, nil
	}
	if err := json.Unmarshal(out, &s.resp); err != nil {
		s.err = fmt.Errorf("answer is not an API Gateway proxy response: %v: %.200s", err, out)
	}
	return s, nil
}

// series invokes n times, the event made by the index, and checks each
// answer with ok (nil: any answer).
func (f *fnFunction) series(ctx context.Context, n int, event func(i int) []byte, timeout time.Duration, ok func(sample) error) (samples []sample, failures int, firstFailure error, err error) {
	for i := range n {
		s, err := f.invoke(ctx, event(i), timeout)
		if err != nil {
			return nil, 0, nil, err
		}
		if s.err == nil && ok != nil {
			s.err = ok(s)
		}
		if s.err != nil {
			failures++
			if firstFailure == nil {
				firstFailure = s.err
			}
		}
		samples = append(samples, s)
	}
	return samples, failures, firstFailure, nil
}

func wantStatus(code int) func(sample) error {
	return func(s sample) error {
		if s.resp.StatusCode != code {
			return fmt.Errorf("status %d, want %d: %.200s", s.resp.StatusCode, code, s.resp.Body)
		}
		return nil
	}
}

func (e *fnEnv) latencyRows(ctx context.Context) (rows []row, err error) {
	f, err := e.start(ctx)
	if err != nil {
		return nil, err
	}
	defer f.Stop()

	// The events GET lists, stored through the function itself.
	for i := range fnSeedEvents {
		s, err := f.invoke(ctx, fnPost(fmt.Sprintf("seed-%d", i)), fnInvokeLimit)
		if err != nil {
			return nil, err
		}
		if s.err == nil {
			s.err = wantStatus(http.StatusCreated)(s)
		}
		if s.err != nil {
			return nil, fmt.Errorf("seeding event %d: %w", i, s.err)
		}
	}
	getOK := func(s sample) error {
		if err := wantStatus(http.StatusOK)(s); err != nil {
			return err
		}
		var page struct{ Events []json.RawMessage }
		if err := json.Unmarshal([]byte(s.resp.Body), &page); err != nil || len(page.Events) != fnSeedEvents {
			return fmt.Errorf("listed %d events (%v), want %d", len(page.Events), err, fnSeedEvents)
		}
		return nil
	}
	viaRuntime := fmt.Sprintf("time.Since around lambdart.Function.Invoke (timeout %v) of the host build of ./lambda/weatherevents (lambdart.Build), one process, storage: dynalite behind faultproxy in Pass mode, STORAGE_TIMEOUT_MS=%d", fnInvokeLimit, fnStorageLimit.Milliseconds())

	type series struct {
		what   string
		warmup int
		runs   int
		event  func(i int) []byte
		ok     func(sample) error
		detail string
	}
	measure := func(s series) error {
		if _, _, _, err := f.series(ctx, s.warmup, func(i int) []byte { return s.event(-1 - i) }, fnInvokeLimit, nil); err != nil {
			return err
		}
		samples, failures, first, err := f.series(ctx, s.runs, s.event, fnInvokeLimit, s.ok)
		if err != nil {
			return err
		}
		warm := fmt.Sprintf("after %d warm-up ones", s.warmup)
		if s.warmup == 0 {
			warm = "in the process warmed by the rows above"
		}
		rows = append(rows, latencyRow("function: "+s.what, samples, failures, first,
			fmt.Sprintf("%d invocations %s, %s; %s", s.runs, warm, s.detail, viaRuntime)))
		return nil
	}

	// The function alone: a request the route re-check refuses before any
	// storage call (a token with the post scope only on GET /).
	refused := fnRequest("GET", "/", "/", "weather-api/post", "", "")
	if err := measure(series{"GET / refused 403, no storage call (runtime API + function)", fnWarmup, fnRuns,
		func(int) []byte { return refused }, wantStatus(http.StatusForbidden),
		"a token with weather-api/post only on GET /, answered 403 by the route re-check"}); err != nil {
		return nil, err
	}
	if err := measure(series{fmt.Sprintf("GET / (%d events)", fnSeedEvents), fnWarmup, fnRuns,
		func(int) []byte { return fnGet() }, getOK,
		fmt.Sprintf("GET / after seeding %d events through the function: one Scan; each answer checked 200 with %d events", fnSeedEvents, fnSeedEvents)}); err != nil {
		return nil, err
	}
	// dynalite alone, the same Scan the GET makes, from this process
	// through the same proxy.
	client := dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(e.proxy.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	scan := func() error {
		c, cancel := context.WithTimeout(ctx, fnInvokeLimit)
		defer cancel()
		out, err := client.Scan(c, &dynamodb.ScanInput{TableName: aws.String(f.events), Limit: aws.Int32(50)})
		if err == nil && len(out.Items) != fnSeedEvents {
			err = fmt.Errorf("scanned %d items, want %d", len(out.Items), fnSeedEvents)
		}
		return err
	}
	if r, err := directRow(ctx, fmt.Sprintf("dynalite alone: Scan of the %d events (Limit 50, as GET)", fnSeedEvents), scan); err != nil {
		return nil, err
	} else {
		rows = append(rows, r)
	}
	if err := measure(series{"POST / with a fresh Idempotency-Key", fnWarmup, fnRuns,
		func(i int) []byte { return fnPost(fmt.Sprintf("post-%d", i)) }, wantStatus(http.StatusCreated),
		"each with a new key: two PutItems (claim the key, store the event); each answer checked 201"}); err != nil {
		return nil, err
	}
	put := func(i int) error {
		c, cancel := context.WithTimeout(ctx, fnInvokeLimit)
		defer cancel()
		_, err := client.PutItem(c, &dynamodb.PutItemInput{
			TableName: aws.String(f.events),
			Item: map[string]types.AttributeValue{
				"id":        &types.AttributeValueMemberS{Value: fmt.Sprintf("direct-%d", i)},
				"name":      &types.AttributeValueMemberS{Value: "Storms Malik and Corrie"},
				"dateStart": &types.AttributeValueMemberS{Value: "2022-01-29"},
				"dateEnd":   &types.AttributeValueMemberS{Value: "2022-01-31"},
				"createdBy": &types.AttributeValueMemberS{Value: "bench-client"},
				"createdAt": &types.AttributeValueMemberS{Value: time.Now().UTC().Format(time.RFC3339Nano)},
			},
			ConditionExpression: aws.String("attribute_not_exists(id)"),
		})
		return err
	}
	puts := 0
	if r, err := directRow(ctx, "dynalite alone: conditional PutItem of one event", func() error { puts++; return put(puts) }); err != nil {
		return nil, err
	} else {
		rows = append(rows, r)
	}

	// The replay path: the first POST with the key, then the same again.
	const replayKey = "replay"
	first, err := f.invoke(ctx, fnPost(replayKey), fnInvokeLimit)
	if err != nil {
		return nil, err
	}
	if first.err == nil {
		first.err = wantStatus(http.StatusCreated)(first)
	}
	if first.err != nil {
		return nil, fmt.Errorf("first POST with the replayed key: %w", first.err)
	}
	sameAnswer := func(s sample) error {
		if err := wantStatus(http.StatusCreated)(s); err != nil {
			return err
		}
		if s.resp.Body != first.resp.Body {
			return fmt.Errorf("replay answered %.200s, first answer %.200s", s.resp.Body, first.resp.Body)
		}
		return nil
	}
	if err := measure(series{"POST / replaying one Idempotency-Key", 0, fnReplayRuns,
		func(int) []byte { return fnPost(replayKey) }, sameAnswer,
		"the same key and body as one earlier POST: PutItem (condition fails), GetItem of the key, PutItem of the event (condition fails), GetItem of the event; each answer checked 201 with the first answer's body"}); err != nil {
		return nil, err
	}
	return rows, nil
}

// directRow times fnRuns calls of call after fnWarmup untimed ones.
func directRow(ctx context.Context, what string, call func() error) (row, error) {
	for range fnWarmup {
		if err := call(); err != nil {
			return row{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	var times []time.Duration
	for range fnRuns {
		begin := time.Now()
		if err := call(); err != nil {
			return row{}, fmt.Errorf("%s: %w", what, err)
		}
		times = append(times, time.Since(begin))
	}
	if err := ctx.Err(); err != nil {
		return row{}, err
	}
	value := fmt.Sprintf("p50 %s, p99 %s", ms(percentile(times, 50)), ms(percentile(times, 99)))
	fmt.Fprintf(os.Stderr, "bench: function: %s: %s\n", what, value)
	return row{"function: " + what, value,
		fmt.Sprintf("time.Since around the call from the bench's own aws-sdk-go-v2 DynamoDB client through the same proxy, %d calls after %d warm-up ones", fnRuns, fnWarmup)}, nil
}

func latencyRow(what string, samples []sample, failures int, first error, how string) row {
	walls := make([]time.Duration, len(samples))
	durations := make([]time.Duration, len(samples))
	for i, s := range samples {
		walls[i], durations[i] = s.wall, s.duration
	}
	value := fmt.Sprintf("p50 %s, p99 %s (runtime API's Duration: p50 %s, p99 %s)",
		ms(percentile(walls, 50)), ms(percentile(walls, 99)), ms(percentile(durations, 50)), ms(percentile(durations, 99)))
	value += failureNote(failures, len(samples), first)
	fmt.Fprintf(os.Stderr, "bench: %s: %s\n", what, value)
	return row{what, value, how}
}

func failureNote(failures, n int, first error) string {
	if failures == 0 {
		return fmt.Sprintf("; all %d answers as expected", n)
	}
	return fmt.Sprintf("; **%d of %d failed** (first: %s)", failures, n, oneLine(first))
}

// faultRows hangs and then refuses storage under a warm function and times
// its 503s.
func (e *fnEnv) faultRows(ctx context.Context) ([]row, error) {
	f, err := e.start(ctx)
	if err != nil {
		return nil, err
	}
	defer f.Stop()
	defer e.proxy.Set(faultproxy.Pass)
	// Warm: the SDK's connections are open when storage starts to fail.
	for _, ev := range [][]byte{fnGet(), fnPost("fault-warm")} {
		s, err := f.invoke(ctx, ev, fnInvokeLimit)
		if err != nil {
			return nil, err
		}
		if s.err != nil || s.resp.StatusCode >= 300 {
			return nil, fmt.Errorf("warm-up before the faults: %v %d %.200s", s.err, s.resp.StatusCode, s.resp.Body)
		}
	}
	unavailable := func(s sample) error {
		if s.resp.StatusCode != http.StatusServiceUnavailable {
			return fmt.Errorf("status %d, want 503: %.200s", s.resp.StatusCode, s.resp.Body)
		}
		if !strings.Contains(s.resp.Body, `"error":"storage_unavailable"`) {
			return fmt.Errorf("503 body %.200s lacks storage_unavailable", s.resp.Body)
		}
		retry := s.resp.Headers["Retry-After"]
		if v := s.resp.MultiValueHeaders["Retry-After"]; len(v) > 0 {
			retry = v[0]
		}
		if retry == "" {
			return errors.New("503 without Retry-After")
		}
		return nil
	}
	type modeResult struct {
		get, post []sample
		failures  int
		first     error // the first failed check, if any
	}
	run := func(mode faultproxy.Mode, label string) (modeResult, error) {
		var r modeResult
		e.proxy.Set(mode)
		get, getFailed, getFirst, err := f.series(ctx, fnFaultRuns, func(int) []byte { return fnGet() }, fnFaultLimit, unavailable)
		if err != nil {
			return r, err
		}
		post, postFailed, postFirst, err := f.series(ctx, fnFaultRuns, func(i int) []byte { return fnPost(fmt.Sprintf("%s-%d", label, i)) }, fnFaultLimit, unavailable)
		if err != nil {
			return r, err
		}
		r.get, r.post, r.failures, r.first = get, post, getFailed+postFailed, cmp.Or(getFirst, postFirst)
		return r, nil
	}
	walls := func(ss []sample) []time.Duration {
		out := make([]time.Duration, len(ss))
		for i, s := range ss {
			out[i] = s.wall
		}
		return out
	}
	how := func(mode string) string {
		return fmt.Sprintf("faultproxy.Set(%s) under a warm function (one GET and one POST answered first), then %d GET / and %d POST / (fresh Idempotency-Keys), time.Since around lambdart.Function.Invoke with a %v invocation timeout, STORAGE_TIMEOUT_MS=%d; each answer checked 503 with error storage_unavailable and Retry-After",
			mode, fnFaultRuns, fnFaultRuns, fnFaultLimit, fnStorageLimit.Milliseconds())
	}
	var rows []row

	hang, err := run(faultproxy.Hang, "hang")
	if err != nil {
		return nil, err
	}
	all := append(walls(hang.get), walls(hang.post)...)
	worst := slices.Max(all)
	met := hang.failures == 0 && worst-fnStorageLimit < time.Second && worst < fnFaultLimit
	verdict := "not met"
	if met {
		verdict = "met"
	}
	value := fmt.Sprintf("GET median %s, max %s; POST median %s, max %s; margin past the %v storage deadline: median %s, max %s; target (< 1 s past it and before the %v deadline, every answer a JSON 503): **%s**",
		ms(percentile(walls(hang.get), 50)), ms(slices.Max(walls(hang.get))),
		ms(percentile(walls(hang.post), 50)), ms(slices.Max(walls(hang.post))),
		fnStorageLimit, ms(percentile(all, 50)-fnStorageLimit), ms(worst-fnStorageLimit), fnFaultLimit, verdict)
	value += failureNote(hang.failures, len(all), hang.first)
	fmt.Fprintf(os.Stderr, "bench: function: storage hangs: %s\n", value)
	rows = append(rows, row{"function: time to a JSON 503 when storage hangs", value, how("faultproxy.Hang")})

	refuse, err := run(faultproxy.Refuse, "refuse")
	if err != nil {
		return nil, err
	}
	all = append(walls(refuse.get), walls(refuse.post)...)
	value = fmt.Sprintf("median %s (GET %s, POST %s), max %s",
		ms(percentile(all, 50)), ms(percentile(walls(refuse.get), 50)), ms(percentile(walls(refuse.post), 50)), ms(slices.Max(all)))
	value += failureNote(refuse.failures, len(all), refuse.first)
	fmt.Fprintf(os.Stderr, "bench: function: storage down: %s\n", value)
	rows = append(rows, row{"function: time to a 503 when storage is down (connections refused)", value, how("faultproxy.Refuse")})

	// A longer outage: the SDK's retry quota (a token bucket per client) may
	// run out, and then requests fail without retries (in well under 10 ms).
	more, failures, first, err := f.series(ctx, fnOutageRequests-len(all), func(int) []byte { return fnGet() }, fnFaultLimit, unavailable)
	if err != nil {
		return nil, err
	}
	outage := append(all, walls(more)...)
	half := len(outage) / 2
	unretried := 0
	for _, d := range outage {
		if d < 10*time.Millisecond {
			unretried++
		}
	}
	value = fmt.Sprintf("first %d refused requests: median %s; last %d: median %s, max %s; %d of %d answered in under 10 ms (no retry left)",
		half, ms(percentile(outage[:half], 50)), len(outage)-half, ms(percentile(outage[half:], 50)), ms(slices.Max(outage)), unretried, len(outage))
	value += failureNote(refuse.failures+failures, len(outage), cmp.Or(refuse.first, first))

	// Back up: the same process serves again.
	e.proxy.Set(faultproxy.Pass)
	s, err := f.invoke(ctx, fnGet(), fnInvokeLimit)
	if err != nil {
		return nil, err
	}
	if s.err == nil && s.resp.StatusCode == http.StatusOK {
		value += "; then 200 on the next GET with storage back (Pass)"
	} else {
		value += fmt.Sprintf("; **no 200 with storage back**: %v %d", s.err, s.resp.StatusCode)
	}
	fmt.Fprintf(os.Stderr, "bench: function: long outage: %s\n", value)
	rows = append(rows, row{"function: 503s through a longer outage (connections refused)", value,
		fmt.Sprintf("the row above continued with GET / until %d refused requests in the same process, each checked as above, then faultproxy.Set(faultproxy.Pass) and one GET checked 200; time.Since around lambdart.Function.Invoke", fnOutageRequests)})
	return rows, nil
}

// coldStartRow starts fresh processes and reads lambdart's exec-to-first-
// GET-/next time.
func (e *fnEnv) coldStartRow(ctx context.Context) (row, error) {
	f, err := e.start(ctx) // its tables; the init itself makes no storage call
	if err != nil {
		return row{}, err
	}
	f.Stop()
	var colds []time.Duration
	for range fnColdStarts {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		g, err := lambdart.Start(sctx, e.binary, e.fnVars(f))
		cancel()
		if err != nil {
			return row{}, err
		}
		colds = append(colds, g.ColdStart())
		g.Stop()
	}
	value := fmt.Sprintf("median %s (min %s, max %s)", ms(percentile(colds, 50)), ms(slices.Min(colds)), ms(slices.Max(colds)))
	fmt.Fprintf(os.Stderr, "bench: function: cold start: %s\n", value)
	return row{"function: cold start (exec to first GET /next)", value,
		fmt.Sprintf("lambdart.Start then ColdStart() then Stop, %d fresh processes of the host build (amd64, not stripped), binary in the page cache", fnColdStarts)}, nil
}

// percentile is the nearest-rank percentile: the smallest value with at
// least p % of the values at or below it.
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

func ms(d time.Duration) string {
	switch {
	case d < 0:
		return "-" + ms(-d)
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
}

func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func oneLine(err error) string {
	if err == nil {
		return ""
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return strings.ReplaceAll(line, "|", "\\|")
}
