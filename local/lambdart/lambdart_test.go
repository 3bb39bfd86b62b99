package lambdart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// bins are the test functions' binaries by name, built once by TestMain.
var bins = map[string]string{}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lambdart-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// No deadline of our own: a cold build cache on a busy 2-core machine
	// can take minutes, and go test's own -timeout bounds the whole run.
	ctx := context.Background()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, name := range []string{"echo", "slow", "initfail"} {
		wg.Go(func() {
			bin, err := Build(ctx, "./local/lambdart/testdata/"+name, filepath.Join(dir, name))
			mu.Lock()
			defer mu.Unlock()
			bins[name] = bin
			errs = append(errs, err)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

func start(t *testing.T, name string, env ...string) *Function {
	t.Helper()
	f, err := Start(t.Context(), bins[name], env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("output:\n%s", strings.Join(f.Output(), "\n"))
		}
	})
	return f
}

type echoReply struct {
	Event        json.RawMessage `json:"event"`
	DeadlineMS   int64           `json:"deadline_ms"`
	RequestID    string          `json:"request_id"`
	FunctionARN  string          `json:"function_arn"`
	FunctionName string          `json:"function_name"`
	Memory       int             `json:"memory"`
	TraceID      string          `json:"trace_id"`
	Env          string          `json:"env"`
	TaskRoot     string          `json:"task_root"`
	Cwd          string          `json:"cwd"`
	Pid          int             `json:"pid"`
}

func invokeEcho(t *testing.T, f *Function, event string, timeout time.Duration) echoReply {
	t.Helper()
	body, err := f.Invoke(t.Context(), []byte(event), timeout)
	if err != nil {
		t.Fatal(err)
	}
	var r echoReply
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return r
}

func jsonEqual(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(w) != fmt.Sprint(g) {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	f := start(t, "echo", "ECHO_ENV=from-test", "AWS_LAMBDA_FUNCTION_NAME=echo-fn")
	cold := f.ColdStart()
	if cold <= 0 || cold > 5*time.Second {
		t.Errorf("ColdStart = %v, want in (0, 5s)", cold)
	}

	const event = `{"hello": "world", "n": [1, 2, 3], "s": "<&>\u00e9"}`
	const timeout = 3 * time.Second
	before := time.Now()
	r := invokeEcho(t, f, event, timeout)
	after := time.Now()
	last := f.LastInvocation()

	jsonEqual(t, []byte(event), r.Event)
	if r.RequestID == "" || r.RequestID != last.RequestID {
		t.Errorf("function saw request id %q, sent %q", r.RequestID, last.RequestID)
	}
	if r.DeadlineMS != last.Deadline.UnixMilli() {
		t.Errorf("function saw deadline %d, sent %d", r.DeadlineMS, last.Deadline.UnixMilli())
	}
	if lo, hi := before.Add(timeout).UnixMilli(), after.Add(timeout).UnixMilli(); r.DeadlineMS < lo-1 || r.DeadlineMS > hi {
		t.Errorf("deadline %d not in [%d, %d], now + timeout", r.DeadlineMS, lo, hi)
	}
	if r.TraceID == "" || r.TraceID != last.TraceID {
		t.Errorf("function saw trace id %q, sent %q", r.TraceID, last.TraceID)
	}
	if want := "arn:aws:lambda:us-east-1:123456789012:function:echo-fn"; r.FunctionARN != want {
		t.Errorf("function ARN %q, want %q", r.FunctionARN, want)
	}
	if r.FunctionName != "echo-fn" || r.Memory != 128 || r.Env != "from-test" {
		t.Errorf("function saw name %q, memory %d, ECHO_ENV %q", r.FunctionName, r.Memory, r.Env)
	}
	root, _ := filepath.EvalSymlinks(filepath.Dir(bins["echo"]))
	cwd, _ := filepath.EvalSymlinks(r.Cwd)
	if r.TaskRoot != filepath.Dir(bins["echo"]) || cwd != root {
		t.Errorf("LAMBDA_TASK_ROOT %q, cwd %q, want the binary's directory %q", r.TaskRoot, r.Cwd, root)
	}
	if last.Duration <= 0 || last.Duration > timeout {
		t.Errorf("Duration = %v", last.Duration)
	}
	if last.ContentType != "application/json" {
		t.Errorf("ContentType = %q", last.ContentType)
	}

	// The same process serves the next invocation: no restart.
	r2 := invokeEcho(t, f, `{}`, time.Second)
	if r2.Pid != r.Pid || r2.RequestID == r.RequestID || f.ColdStart() != cold {
		t.Errorf("second invocation: pid %d → %d, request id %s → %s, cold start %v → %v",
			r.Pid, r2.Pid, r.RequestID, r2.RequestID, cold, f.ColdStart())
	}

	// Lines come through pipes, so they may arrive after Invoke returned.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if l, err := f.WaitOutput(ctx, " echo: init"); err != nil || !strings.HasPrefix(l, "stderr: ") {
		t.Errorf("init log line: %q, %v", l, err)
	}
	for _, id := range []string{r.RequestID, r2.RequestID} {
		if l, err := f.WaitOutput(ctx, "echo: request "+id); err != nil || l != "stdout: echo: request "+id {
			t.Errorf("line of request %s: %q, %v", id, l, err)
		}
	}
}

func TestInvocationError(t *testing.T) {
	t.Parallel()
	f := start(t, "echo")
	pid := invokeEcho(t, f, `{}`, time.Second).Pid

	_, err := f.Invoke(t.Context(), []byte(`{"error": "bad input"}`), time.Second)
	var ie *InvocationError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an *InvocationError", err)
	}
	if ie.Message != "bad input" || ie.Type != "errorString" || ie.RequestID != f.LastInvocation().RequestID {
		t.Errorf("got %+v", ie)
	}
	// A returned error leaves the process serving.
	if r := invokeEcho(t, f, `{}`, time.Second); r.Pid != pid {
		t.Errorf("process restarted after a handler error: pid %d → %d", pid, r.Pid)
	}
}

func TestPanicRestarts(t *testing.T) {
	t.Parallel()
	f := start(t, "echo")
	pid := invokeEcho(t, f, `{}`, time.Second).Pid

	_, err := f.Invoke(t.Context(), []byte(`{"panic": "boom"}`), time.Second)
	var ie *InvocationError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an *InvocationError", err)
	}
	if ie.Message != "boom" || ie.Type != "string" || len(ie.StackTrace) == 0 {
		t.Errorf("got %+v", ie)
	}
	// aws-lambda-go exits after reporting a panic: the next invocation
	// gets a new process.
	if r := invokeEcho(t, f, `{}`, time.Second); r.Pid == pid {
		t.Errorf("same process %d after a panic", pid)
	}
}

func TestResponseSize(t *testing.T) {
	t.Parallel()
	f := start(t, "echo")
	// The answer is a JSON string: the bytes and two quotes.
	body, err := f.Invoke(t.Context(), fmt.Appendf(nil, `{"big": %d}`, MaxResponseSize-2), 5*time.Second)
	if err != nil || len(body) != MaxResponseSize {
		t.Fatalf("answer of %d bytes, %v; want %d bytes", len(body), err, MaxResponseSize)
	}
	_, err = f.Invoke(t.Context(), fmt.Appendf(nil, `{"big": %d}`, MaxResponseSize-1), 5*time.Second)
	var ie *InvocationError
	if !errors.As(err, &ie) || ie.Type != "Function.ResponseSizeTooLarge" {
		t.Fatalf("got %v, want a Function.ResponseSizeTooLarge *InvocationError", err)
	}
	// aws-lambda-go exits when its response is refused; Lambda starts anew.
	invokeEcho(t, f, `{}`, time.Second)
}

func TestResponseReadError(t *testing.T) {
	t.Parallel()
	f := start(t, "echo")
	_, err := f.Invoke(t.Context(), []byte(`{"read_error": "disk gone"}`), time.Second)
	var ie *InvocationError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an *InvocationError", err)
	}
	if ie.FunctionErrorType != "errorString" || ie.Message != "disk gone" {
		t.Errorf("got %+v", ie)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	f := start(t, "slow")
	if cold := f.ColdStart(); cold <= 0 || cold > 5*time.Second {
		t.Errorf("ColdStart = %v, want in (0, 5s)", cold)
	}
	const timeout = 300 * time.Millisecond
	begin := time.Now()
	_, err := f.Invoke(t.Context(), []byte(`{"sleep_ms": 5000}`), timeout)
	took := time.Since(begin)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if took < timeout-time.Millisecond || took > timeout+TimeoutGrace+300*time.Millisecond {
		t.Errorf("ErrTimeout after %v, want about %v + %v", took, timeout, TimeoutGrace)
	}

	// The timed-out process was killed; the next invocation gets a new one.
	body, err := f.Invoke(t.Context(), []byte(`{"sleep_ms": 10}`), 2*time.Second)
	if err != nil || string(body) != `"slept"` {
		t.Fatalf("after a timeout: %q, %v", body, err)
	}
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	f := start(t, "slow")
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := f.Invoke(ctx, []byte(`{"sleep_ms": 5000}`), 10*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want the context's error", err)
	}
	body, err := f.Invoke(t.Context(), []byte(`{}`), 2*time.Second)
	if err != nil || string(body) != `"slept"` {
		t.Fatalf("after a canceled invocation: %q, %v", body, err)
	}
}

func TestStopDuringInvoke(t *testing.T) {
	t.Parallel()
	f := start(t, "slow")
	errc := make(chan error, 1)
	go func() {
		_, err := f.Invoke(t.Context(), []byte(`{"sleep_ms": 5000}`), 10*time.Second)
		errc <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil || errors.Is(err, ErrTimeout) {
			t.Errorf("Invoke during Stop: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Invoke still running after Stop")
	}
	if _, err := f.Invoke(t.Context(), nil, time.Second); !errors.Is(err, ErrStopped) {
		t.Errorf("Invoke after Stop: %v, want ErrStopped", err)
	}
}

func TestSIGTERM(t *testing.T) {
	t.Parallel()
	f := start(t, "echo", "ECHO_SIGTERM=1")
	invokeEcho(t, f, `{}`, time.Second)
	if err := f.Stop(); err != nil {
		t.Fatal(err)
	}
	// Stop waited for the process, so its output is all there.
	out := strings.Join(f.Output(), "\n")
	if !strings.Contains(out, "stdout: echo: SIGTERM") || strings.Contains(out, "WARNING") {
		t.Errorf("output:\n%s", out)
	}
}

func TestInitFail(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	f, err := Start(t.Context(), bins["initfail"], nil)
	if err == nil {
		f.Stop()
		t.Fatal("Start succeeded")
	}
	if !strings.Contains(err.Error(), "initfail: required setting INITFAIL_SETTING is missing") {
		t.Errorf("error lacks the last output line: %v", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("Start failed after %v", took)
	}

	// Configured, the same binary starts and answers.
	f = start(t, "initfail", "INITFAIL_SETTING=1")
	body, err := f.Invoke(t.Context(), nil, time.Second)
	if err != nil || string(body) != `"ok"` {
		t.Fatalf("got %q, %v", body, err)
	}
}

func TestBuildError(t *testing.T) {
	t.Parallel()
	_, err := Build(t.Context(), "./local/lambdart/testdata/nosuchpkg", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "nosuchpkg") {
		t.Errorf("got %v, want a go build error", err)
	}
}
