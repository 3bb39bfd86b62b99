// Package lambdart is a Lambda Runtime API on 127.0.0.1 that runs a function
// binary the way the Lambda service does: for make local (package local), tests
// and benchmarks.
//
// Start runs the built bootstrap binary (see Build) with the environment
// Lambda gives a provided.al2023 function and serves it the Runtime API
// (version 2018-06-01) on a free port of 127.0.0.1, so that what is tested is
// the real program: its main, its init, aws-lambda-go's runtime loop and the
// handler, not only the handler called as a Go function.
//
// One Function is one execution environment: Invoke sends it one event at a
// time (concurrent calls are serialized) and waits for its answer. Like
// Lambda, the environment is reset when an invocation does not end cleanly:
// if the function misses its deadline (ErrTimeout) or the caller's context
// ends, the process is killed, and if it exits (a panic, log.Fatal, an
// oversized response), the next Invoke starts a new process, which has a cold
// start of its own (see ColdStart).
//
// Not emulated: the client context and Cognito identity headers (never sent),
// memory limits, the extensions API beyond what aws-lambda-go's
// WithEnableSIGTERM needs, and response streaming (a streamed body is
// buffered and returned whole).
package lambdart

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/scopegate/scopegate/internal/gomod"
)

const (
	// TimeoutGrace is how long past an invocation's deadline Invoke still
	// waits for the function's answer before it reports ErrTimeout. A handler
	// that gives up exactly at its context's deadline is answered, not timed
	// out.
	TimeoutGrace = 100 * time.Millisecond

	// InitTimeout bounds the init phase, from exec to the first GET
	// /runtime/invocation/next: Lambda's 10 s limit for on-demand functions.
	InitTimeout = 10 * time.Second

	// MaxResponseSize is the largest response Lambda accepts from a
	// synchronously invoked function: "6 MB", which Lambda's own error
	// message spells as 6291556 bytes. A larger /response post is answered
	// 413 and Invoke returns an *InvocationError of type
	// Function.ResponseSizeTooLarge.
	MaxResponseSize = 6291556

	// ShutdownGrace is how long Stop waits, after SIGTERM, for a function that
	// registered an extension (aws-lambda-go's WithEnableSIGTERM) before it
	// kills it, as Lambda does. Other functions are killed at once.
	ShutdownGrace = 500 * time.Millisecond

	// maxOutputLines bounds Output, dropping the oldest lines.
	maxOutputLines = 100_000
	// tailLines is how much output errors quote.
	tailLines = 10

	apiPrefix       = "/2018-06-01/runtime"
	extensionPrefix = "/2020-01-01/extension"
	accountID       = "123456789012"

	headerRequestID          = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMS         = "Lambda-Runtime-Deadline-Ms"
	headerInvokedFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID            = "Lambda-Runtime-Trace-Id"
	headerFunctionErrorType  = "Lambda-Runtime-Function-Error-Type"
	headerFunctionErrorBody  = "Lambda-Runtime-Function-Error-Body"
	headerExtensionName      = "Lambda-Extension-Name"
	headerExtensionID        = "Lambda-Extension-Identifier"
)

var (
	// ErrTimeout is reported (wrapped) by Invoke when the function gave no
	// answer by its deadline plus TimeoutGrace, Lambda's "Task timed out".
	// The process has then been killed; the next Invoke starts a new one.
	ErrTimeout = errors.New("lambdart: task timed out")

	// ErrStopped is returned by Invoke after Stop.
	ErrStopped = errors.New("lambdart: function stopped")
)

// InvocationError is a function error: the function posted to
// /runtime/invocation/{id}/error (a handler's error or panic), its response
// body failed while being sent, or Lambda itself refused its response.
type InvocationError struct {
	RequestID string
	// Type and Message are the errorType and errorMessage of the error
	// document. aws-lambda-go sets Type to the Go type name of the returned
	// error (e.g. "errorString"), or of the panic value.
	Type    string
	Message string
	// StackTrace is the error document's stackTrace as sent (aws-lambda-go
	// sends one for panics only), or nil.
	StackTrace json.RawMessage
	// FunctionErrorType is the Lambda-Runtime-Function-Error-Type header or
	// trailer, if any. aws-lambda-go never sends the header; it sends the
	// trailer on a /response whose body reader failed.
	FunctionErrorType string
	// Body is the error document as posted.
	Body []byte
}

func (e *InvocationError) Error() string {
	var b strings.Builder
	b.WriteString("lambdart: invocation error")
	if e.RequestID != "" {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	b.WriteString(": ")
	if e.Type != "" {
		b.WriteString(e.Type + ": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Invocation describes an invocation sent by Invoke.
type Invocation struct {
	RequestID string
	// Deadline is the deadline as sent in Lambda-Runtime-Deadline-Ms, so with
	// millisecond precision: what the handler's ctx.Deadline() returns.
	Deadline time.Time
	TraceID  string
	// Duration is the time from the event leaving GET /next to the arrival of
	// the function's answer, about what Lambda reports as Duration; zero if
	// no answer came.
	Duration time.Duration
	// ContentType is the Content-Type of the /response post.
	// aws-lambda-go sends application/octet-stream unless the handler's
	// result has a ContentType method.
	ContentType string
}

// Function is a function process served by a runtime API of its own.
type Function struct {
	binary string
	dir    string
	env    []string // all but AWS_LAMBDA_RUNTIME_API
	arn    string
	name   string

	invokeMu sync.Mutex // one invocation at a time

	mu        sync.Mutex
	p         *proc
	stopped   bool
	coldStart time.Duration
	last      Invocation

	out output
}

// Start starts a runtime API on 127.0.0.1 (free port), then the binary with
// env (plus AWS_LAMBDA_RUNTIME_API and the variables Lambda always sets:
// AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
// AWS_LAMBDA_FUNCTION_VERSION, AWS_REGION if not in env, _HANDLER=bootstrap,
// LAMBDA_TASK_ROOT), capturing its stdout and stderr lines.
//
// The process gets env and those variables only, not the caller's
// environment (pass os.Environ() in env to inherit it); a variable in env
// overrides Lambda's value, except AWS_LAMBDA_RUNTIME_API. Lambda's
// credentials variables are not set. Its working directory is the binary's
// directory, which is also LAMBDA_TASK_ROOT, as /var/task is in Lambda.
//
// Start returns once the function has finished its init, that is asked for
// its first event (GET /runtime/invocation/next). If instead it exits,
// posts /runtime/init/error, takes longer than InitTimeout or ctx ends, Start
// stops it and returns an error that quotes the last lines of its output.
// ctx bounds the start only: the process runs until Stop.
func Start(ctx context.Context, binary string, env []string) (*Function, error) {
	return StartEchoing(ctx, binary, env, nil)
}

// StartEchoing is Start, and also hands each line of the function's output
// to echo as it comes (make local prints them).
func StartEchoing(ctx context.Context, binary string, env []string, echo func(line string)) (*Function, error) {
	abs, err := filepath.Abs(binary)
	if err != nil {
		return nil, fmt.Errorf("lambdart: %w", err)
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("lambdart: %w", err)
	}
	f := &Function{binary: abs, dir: filepath.Dir(abs)}
	f.out.echo = echo
	f.env, f.name, f.arn = lambdaEnv(abs, env)
	if _, err := f.startProc(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// lambdaEnv returns env plus the variables Lambda sets that env lacks, the
// function name and its ARN.
func lambdaEnv(binary string, env []string) (full []string, name, arn string) {
	lookup := func(key string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
				return v, true
			}
		}
		return "", false
	}
	full = slices.Clone(env)
	set := func(key, value string) string {
		if v, ok := lookup(key); ok {
			return v
		}
		full = append(full, key+"="+value)
		return value
	}
	defaultName := strings.TrimSuffix(filepath.Base(binary), filepath.Ext(binary))
	if defaultName == "bootstrap" {
		defaultName = "function"
	}
	name = set("AWS_LAMBDA_FUNCTION_NAME", defaultName)
	set("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
	version := set("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
	region := set("AWS_REGION", "us-east-1")
	set("AWS_DEFAULT_REGION", region)
	set("_HANDLER", "bootstrap")
	set("LAMBDA_TASK_ROOT", filepath.Dir(binary))
	set("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
	set("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/"+name)
	set("AWS_LAMBDA_LOG_STREAM_NAME", time.Now().UTC().Format("2006/01/02")+"/["+version+"]"+randomHex(16))
	set("TZ", ":UTC")
	set("LANG", "en_US.UTF-8")
	set("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin")
	arn = "arn:aws:lambda:" + region + ":" + accountID + ":function:" + name
	return full, name, arn
}

// startProc starts a runtime API and a process, makes it the current one and
// waits for its init.
func (f *Function) startProc(ctx context.Context) (*proc, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lambdart: %w", err)
	}
	p := &proc{
		f:        f,
		ln:       ln,
		pending:  make(chan *invocation),
		ready:    make(chan struct{}),
		initFail: make(chan struct{}),
		exited:   make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", p.handleNext)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", p.handleResponse)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", p.handleError)
	mux.HandleFunc("POST "+apiPrefix+"/init/error", p.handleInitError)
	mux.HandleFunc("POST "+extensionPrefix+"/register", p.handleRegister)
	mux.HandleFunc("GET "+extensionPrefix+"/event/next", p.handleExtensionNext)
	p.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = p.srv.Serve(ln) }()

	stdout := &lineWriter{out: &f.out, tag: "stdout: "}
	stderr := &lineWriter{out: &f.out, tag: "stderr: "}
	p.cmd = exec.Command(f.binary)
	p.cmd.Dir = f.dir
	p.cmd.Env = append(slices.Clone(f.env), "AWS_LAMBDA_RUNTIME_API="+ln.Addr().String())
	p.cmd.Stdout = stdout
	p.cmd.Stderr = stderr
	p.cmd.WaitDelay = time.Second // in case a child process holds the pipes
	p.execAt = time.Now()
	if err := p.cmd.Start(); err != nil {
		_ = p.srv.Close()
		return nil, fmt.Errorf("lambdart: %w", err)
	}
	go func() {
		err := p.cmd.Wait()
		stdout.flush()
		stderr.flush()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()

	f.mu.Lock()
	stopped := f.stopped
	if !stopped {
		f.p = p
	}
	f.mu.Unlock()
	if stopped {
		p.stop()
		return nil, ErrStopped
	}

	timer := time.NewTimer(InitTimeout)
	defer timer.Stop()
	select {
	case <-p.ready:
		p.mu.Lock()
		cold := p.readyAt.Sub(p.execAt)
		p.mu.Unlock()
		f.mu.Lock()
		f.coldStart = cold
		f.mu.Unlock()
		return p, nil
	case <-p.initFail:
		p.stop()
		p.mu.Lock()
		ie := p.initErr
		p.mu.Unlock()
		return nil, fmt.Errorf("lambdart: init error: %s: %s%s", ie.Type, ie.Message, f.tail())
	case <-p.exited:
		p.stop()
		return nil, fmt.Errorf("lambdart: function exited during init (%v)%s", p.exitErr(), f.tail())
	case <-timer.C:
		p.stop()
		return nil, fmt.Errorf("lambdart: init timed out after %v%s", InitTimeout, f.tail())
	case <-ctx.Done():
		p.stop()
		return nil, fmt.Errorf("lambdart: start: %w%s", context.Cause(ctx), f.tail())
	}
}

// live returns the current process, starting one if there is none alive.
func (f *Function) live(ctx context.Context) (*proc, error) {
	f.mu.Lock()
	p, stopped := f.p, f.stopped
	f.mu.Unlock()
	if stopped {
		return nil, ErrStopped
	}
	if p != nil {
		select {
		case <-p.exited:
			p.stop()
		default:
			return p, nil
		}
	}
	return f.startProc(ctx)
}

// Invoke sends one event and waits for the function's answer, giving it
// timeout as the invocation's deadline (Lambda-Runtime-Deadline-Ms = now +
// timeout, taken when the function is ready to take the event, so a restart's
// init does not count). An empty event is sent as {}.
//
// If no answer comes before the deadline plus TimeoutGrace, Invoke reports
// ErrTimeout (wrapped), like Lambda's "Task timed out", and kills the
// process. An /error post is returned as an *InvocationError, as is a
// response larger than MaxResponseSize. An init error or the process exiting
// is an error that includes the last lines of its output. If ctx ends during
// the invocation, the process is killed and Invoke returns ctx's error.
//
// After the process was killed or exited, Invoke starts a new one (and waits
// for its init, bounded by ctx and InitTimeout) before sending the event, as
// Lambda resets an execution environment. A process that exits just after
// answering (aws-lambda-go exits after reporting a panic) is replaced
// before the next event is sent.
func (f *Function) Invoke(ctx context.Context, event []byte, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		return nil, fmt.Errorf("lambdart: invoke: timeout %v is not positive", timeout)
	}
	if len(event) == 0 {
		event = []byte("{}")
	}
	f.invokeMu.Lock()
	defer f.invokeMu.Unlock()

	inv := &invocation{
		id:      newRequestID(),
		traceID: newTraceID(),
		event:   event,
		done:    make(chan result, 1),
	}
	var (
		p     *proc
		timer *time.Timer
	)
	for attempt := 0; ; attempt++ {
		var err error
		if p, err = f.live(ctx); err != nil {
			return nil, err
		}
		inv.deadline = time.UnixMilli(time.Now().Add(timeout).UnixMilli())
		f.mu.Lock()
		f.last = Invocation{RequestID: inv.id, Deadline: inv.deadline, TraceID: inv.traceID}
		f.mu.Unlock()
		timer = time.NewTimer(time.Until(inv.deadline) + TimeoutGrace)
		defer timer.Stop()
		select {
		case p.pending <- inv:
		case <-p.exited:
			// Exiting after its last answer, as after a panic: restart once.
			p.stop()
			if attempt == 0 {
				continue
			}
			return nil, fmt.Errorf("lambdart: function exited before taking the event (%v)%s", p.exitErr(), f.tail())
		case <-timer.C:
			p.stop()
			return nil, fmt.Errorf("%w after %v: the function did not ask for the event", ErrTimeout, timeout)
		case <-ctx.Done():
			return nil, fmt.Errorf("lambdart: invoke: %w", context.Cause(ctx))
		}
		break
	}

	select {
	case r := <-inv.done:
		return f.finish(p, inv, r)
	case <-p.exited:
		// The answer, if any, was queued before the reply that let the
		// process go on and exit.
		select {
		case r := <-inv.done:
			return f.finish(p, inv, r)
		default:
		}
		p.stop()
		return nil, fmt.Errorf("lambdart: function exited during the invocation (%v)%s", p.exitErr(), f.tail())
	case <-timer.C:
		p.stop()
		return nil, fmt.Errorf("%w after %v (request %s)", ErrTimeout, timeout, inv.id)
	case <-ctx.Done():
		p.stop()
		return nil, fmt.Errorf("lambdart: invoke: %w", context.Cause(ctx))
	}
}

func (f *Function) finish(p *proc, inv *invocation, r result) ([]byte, error) {
	p.mu.Lock()
	d := r.at.Sub(inv.dispatched)
	p.mu.Unlock()
	f.mu.Lock()
	if f.last.RequestID == inv.id {
		f.last.Duration = d
		f.last.ContentType = r.contentType
	}
	f.mu.Unlock()
	return r.body, r.err
}

// LastInvocation describes the last invocation Invoke sent, or is sending.
func (f *Function) LastInvocation() Invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// ColdStart is the time from exec to the function's first GET /next: its
// init, as Lambda's Init Duration. After a restart it is the new process's.
func (f *Function) ColdStart() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.coldStart
}

// Output returns the lines the process wrote so far, of all the processes
// if it was restarted: stdout and stderr in one slice, each line prefixed
// "stdout: " or "stderr: ", in the order they were read from the two pipes
// (so in order within each stream; between streams, as they arrived). Lines
// arrive asynchronously: what a handler wrote may show up only after its
// Invoke returned (see WaitOutput); all of a process's output is there once
// Invoke or Start reported its exit, including a last line without a
// newline. Only the last 100,000 lines are kept.
func (f *Function) Output() []string {
	return f.out.snapshot()
}

// WaitOutput waits until the process has written a line that contains s
// and returns that line (with its "stdout: " or "stderr: " prefix), or
// returns ctx's error. Output reaches Output through pipes, so a line that a
// handler wrote may arrive only after its Invoke has returned: a test that
// looks for it should wait for it with WaitOutput, not read Output at once.
func (f *Function) WaitOutput(ctx context.Context, s string) (string, error) {
	o := &f.out
	for {
		o.mu.Lock()
		for _, l := range o.lines {
			if strings.Contains(l, s) {
				o.mu.Unlock()
				return l, nil
			}
		}
		if o.wake == nil {
			o.wake = make(chan struct{})
		}
		wake := o.wake
		o.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return "", fmt.Errorf("lambdart: no output line contains %q: %w", s, context.Cause(ctx))
		}
	}
}

// Stop kills the process and closes the server. A function that registered
// an extension (aws-lambda-go's WithEnableSIGTERM) first gets SIGTERM and
// ShutdownGrace to exit, as in Lambda. Stop can be called more than once and
// concurrently with Invoke, which then fails.
func (f *Function) Stop() error {
	f.mu.Lock()
	f.stopped = true
	p := f.p
	f.mu.Unlock()
	if p != nil {
		p.stop()
	}
	return nil
}

// Pid is the id of the function's current process, 0 when it has none
// (stopped, or not restarted since it exited).
func (f *Function) Pid() int {
	f.mu.Lock()
	p := f.p
	f.mu.Unlock()
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	select {
	case <-p.exited:
		return 0
	default:
		return p.cmd.Process.Pid
	}
}

// tail formats the last lines of output for an error message.
func (f *Function) tail() string {
	lines := f.out.snapshot()
	if len(lines) == 0 {
		return "; no output"
	}
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return "; last output:\n\t" + strings.Join(lines, "\n\t")
}

// proc is one function process and the runtime API that serves it. Each
// process gets a server of its own so that a killed process's requests
// cannot reach its successor.
type proc struct {
	f       *Function
	ln      net.Listener
	srv     *http.Server
	cmd     *exec.Cmd
	execAt  time.Time
	pending chan *invocation // Invoke → GET /next

	ready    chan struct{} // closed at the first GET /next
	initFail chan struct{} // closed at POST /init/error
	exited   chan struct{} // closed once the process exited and its output was read
	stopOnce sync.Once

	mu        sync.Mutex
	readyAt   time.Time
	initErr   *InvocationError
	cur       *invocation
	extension bool
	waitErr   error
}

type invocation struct {
	id, traceID string
	event       []byte
	deadline    time.Time
	done        chan result // buffered: at most one answer
	answered    bool        // proc.mu
	dispatched  time.Time   // proc.mu
}

type result struct {
	body        []byte
	contentType string
	err         error
	at          time.Time
}

func (p *proc) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr == nil {
		return errors.New("exit status 0")
	}
	return p.waitErr
}

// stop kills the process unless it has exited, waits for it and closes the
// server.
func (p *proc) stop() {
	p.stopOnce.Do(func() {
		select {
		case <-p.exited:
		default:
			p.mu.Lock()
			ext := p.extension
			p.mu.Unlock()
			if ext && p.cmd.Process.Signal(syscall.SIGTERM) == nil {
				t := time.NewTimer(ShutdownGrace)
				select {
				case <-p.exited:
				case <-t.C:
				}
				t.Stop()
			}
			_ = p.cmd.Process.Kill()
		}
		<-p.exited
		_ = p.srv.Close()
		_ = p.ln.Close() // in case Serve has not run yet
	})
}

func (p *proc) handleNext(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	if p.readyAt.IsZero() {
		p.readyAt = time.Now()
		close(p.ready)
	}
	p.mu.Unlock()
	select {
	case inv := <-p.pending:
		p.mu.Lock()
		p.cur = inv
		inv.dispatched = time.Now()
		p.mu.Unlock()
		h := w.Header()
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadlineMS, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerInvokedFunctionARN, p.f.arn)
		h.Set(headerTraceID, inv.traceID)
		h.Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(inv.event)
	case <-r.Context().Done():
	}
}

// answer delivers the answer to request id, if it is the one in progress and
// not yet answered.
func (p *proc) answer(id string, r result) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	inv := p.cur
	if inv == nil || inv.id != id || inv.answered {
		return false
	}
	inv.answered = true
	r.at = time.Now()
	inv.done <- r
	return true
}

func (p *proc) handleResponse(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseSize+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	if len(body) > MaxResponseSize {
		msg := fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", MaxResponseSize)
		p.answer(id, result{err: &InvocationError{RequestID: id, Type: "Function.ResponseSizeTooLarge", Message: msg}})
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", msg)
		return
	}
	res := result{body: body, contentType: r.Header.Get("Content-Type")}
	// aws-lambda-go streams the body and, if the handler's reader fails,
	// ends it early and reports the error in trailers.
	if t := r.Trailer.Get(headerFunctionErrorType); t != "" {
		ie := &InvocationError{RequestID: id, Type: t, FunctionErrorType: t}
		if doc, err := base64.StdEncoding.DecodeString(r.Trailer.Get(headerFunctionErrorBody)); err == nil {
			ie.Body = doc
			ie.parse(doc)
		}
		res = result{err: ie, contentType: res.contentType}
	}
	if !p.answer(id, res) {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+id+" in progress")
		return
	}
	accepted(w)
}

func (p *proc) handleError(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ie, err := readError(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	ie.RequestID = id
	if !p.answer(id, result{err: ie}) {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation "+id+" in progress")
		return
	}
	accepted(w)
}

func (p *proc) handleInitError(w http.ResponseWriter, r *http.Request) {
	ie, err := readError(r)
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	p.mu.Lock()
	if p.initErr != nil || !p.readyAt.IsZero() {
		p.mu.Unlock()
		apiError(w, http.StatusForbidden, "InvalidStateTransition", "init error after init")
		return
	}
	p.initErr = ie
	close(p.initFail)
	p.mu.Unlock()
	accepted(w)
}

// handleRegister registers an extension, which is all aws-lambda-go's
// WithEnableSIGTERM does with the extensions API.
func (p *proc) handleRegister(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if r.Header.Get(headerExtensionName) == "" {
		apiError(w, http.StatusBadRequest, "InvalidRequest", "missing "+headerExtensionName)
		return
	}
	p.mu.Lock()
	p.extension = true
	p.mu.Unlock()
	w.Header().Set(headerExtensionID, newRequestID())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"functionName":    p.f.name,
		"functionVersion": "$LATEST",
		"handler":         "bootstrap",
	})
}

// handleExtensionNext blocks: an extension registered for no events, as
// aws-lambda-go's, never gets one.
func (p *proc) handleExtensionNext(_ http.ResponseWriter, r *http.Request) {
	<-r.Context().Done()
}

func readError(r *http.Request) (*InvocationError, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxResponseSize+1))
	if err != nil {
		return nil, err
	}
	ie := &InvocationError{Body: body, FunctionErrorType: r.Header.Get(headerFunctionErrorType)}
	if t := r.Trailer.Get(headerFunctionErrorType); t != "" {
		ie.FunctionErrorType = t
	}
	ie.parse(body)
	if ie.Type == "" {
		ie.Type = ie.FunctionErrorType
	}
	return ie, nil
}

// parse fills Type, Message and StackTrace from an error document; a body
// that is not one becomes the Message.
func (e *InvocationError) parse(doc []byte) {
	var d struct {
		ErrorMessage string          `json:"errorMessage"`
		ErrorType    string          `json:"errorType"`
		StackTrace   json.RawMessage `json:"stackTrace"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		e.Message = string(doc)
		return
	}
	e.Type, e.Message, e.StackTrace = d.ErrorType, d.ErrorMessage, d.StackTrace
}

func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"OK"}`)
}

func apiError(w http.ResponseWriter, code int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"errorType": typ, "errorMessage": msg})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newRequestID returns a random (version 4) UUID, as Lambda's request ids.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceID returns an X-Ray trace header, unsampled.
func newTraceID() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randomHex(12), randomHex(8))
}

// output is the lines of a function's processes.
type output struct {
	mu    sync.Mutex
	lines []string
	wake  chan struct{} // closed at the next line, if not nil
	echo  func(line string)
}

func (o *output) add(line string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.echo != nil {
		o.echo(line)
	}
	o.lines = append(o.lines, line)
	if o.wake != nil {
		close(o.wake)
		o.wake = nil
	}
	if len(o.lines) >= 2*maxOutputLines {
		o.lines = slices.Clone(o.lines[len(o.lines)-maxOutputLines:])
	}
}

func (o *output) snapshot() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.lines) > maxOutputLines {
		return slices.Clone(o.lines[len(o.lines)-maxOutputLines:])
	}
	return slices.Clone(o.lines)
}

// lineWriter splits one stream into tagged lines. exec calls Write from one
// goroutine, and flush is called after Wait.
type lineWriter struct {
	out *output
	tag string
	buf []byte
}

const maxLine = 1 << 20

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.out.add(w.tag + strings.TrimSuffix(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) >= maxLine {
		w.flush()
	}
	if len(w.buf) == 0 {
		w.buf = nil
	}
	return len(b), nil
}

func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.out.add(w.tag + string(w.buf))
	}
	w.buf = nil
}

// Build builds a Go main package for the host (CGO_ENABLED=0, -tags
// lambda.norpc, -trimpath) into dir, as dir/bootstrap like a provided.al2023
// deployment package (so use one dir per function), and returns the binary's
// absolute path; tests use it to build the real function.
//
// pkg is an import path, an absolute directory, or a path relative to the
// root of the main module (the nearest go.mod above the working directory),
// such as "./lambda/weatherevents", wherever the calling test runs.
func Build(ctx context.Context, pkg, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("lambdart: build: %w", err)
	}
	out, err := filepath.Abs(filepath.Join(dir, "bootstrap"))
	if err != nil {
		return "", fmt.Errorf("lambdart: build: %w", err)
	}
	workdir := ""
	switch {
	case filepath.IsAbs(pkg):
		workdir, pkg = pkg, "."
	case pkg == "." || pkg == ".." || strings.HasPrefix(pkg, "./") || strings.HasPrefix(pkg, "../"):
		if workdir, err = moduleRoot(); err != nil {
			return "", err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, pkg)
	cmd.Dir = workdir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("lambdart: go build %s: %w\n%s", pkg, err, b)
	}
	return out, nil
}

// moduleRoot returns the directory of the nearest go.mod above the working
// directory.
func moduleRoot() (string, error) {
	dir, err := gomod.Root()
	if err != nil {
		return "", fmt.Errorf("lambdart: build: %w", err)
	}
	return dir, nil
}
