package cdkapp

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"

	"github.com/aws/jsii-runtime-go"
)

// The jsii kernel, the Node.js process that runs aws-cdk-lib for a Go app,
// is started by jsii-runtime-go as `$JSII_NODE <runtime>` ("node" when
// JSII_NODE is unset), and it passes its own Node.js options on to the
// process it forks for the kernel proper. NODE_OPTIONS cannot carry V8's
// flags, and setting them at run time (v8.setFlagsFromString) crashed the
// kernel in a garbage collection, so the only way to give the kernel a V8
// flag is a JSII_NODE that adds it: UseKernelNodeFlags makes this very
// binary that JSII_NODE, which, started by jsii-runtime-go (kernelNodeEnv
// and jsii's JSII_AGENT set), starts the kernel proper with node and the
// flags below and relays to it itself (relayKernel, in place of jsii's relay
// in node), before any jsii call (init). Nothing is written to disk and no
// shell is needed.
//
// jsii-runtime-go reads JSII_NODE when it creates its client, which the
// first jsii package's init does, before main; UseKernelNodeFlags sets it
// and closes that client, so that the first jsii call creates another
// (the kernel starts at that call, not before).
//
// The flags, measured on the 2-core build machine (BENCHMARKS.md, "Synthesis
// cost per client"); JSII_NODE=node turns them off, for instance on a
// machine with many cores where they were not measured:
//
//   - --single-threaded-gc: V8's parallel and concurrent garbage collection
//     threads cost two cores more CPU than they save (the JavaScript mirror
//     of the default app used 6.3 s of CPU instead of 9.6 s with it, and
//     took 1.1-1.3 s less; the Go app's synth, with both flags, 2-3 s less).
//   - --liftoff-only: aws-cdk-lib's template validation runs a WebAssembly
//     engine once per synth, and V8's background optimizing compiler for it
//     (TurboFan) keeps working after the synth: the kernel took 0.45-0.8 s
//     to exit after its last request without the flag, 0.03-0.04 s with it,
//     and the validation itself took no longer.
var kernelNodeFlags = []string{"--single-threaded-gc", "--liftoff-only"}

// kernelNodeEnv marks a program that UseKernelNodeFlags has set up, and
// its JSII_NODE processes.
const kernelNodeEnv = "SCOPEGATE_JSII_NODE"

// jsiiAgentEnv is set by jsii-runtime-go in the environment of the process it
// starts as the kernel (JSII_AGENT=<go version>/<os>/<arch>), and by nothing
// else: it tells this binary started as JSII_NODE from the app itself.
const jsiiAgentEnv = "JSII_AGENT"

// jsii-runtime-go's choices of the kernel's node and of a whole runtime
// command (internal/kernel/process); a user's own value of either turns
// UseKernelNodeFlags off.
const (
	jsiiNodeEnv    = "JSII_NODE"
	jsiiRuntimeEnv = "JSII_RUNTIME"
)

func init() {
	if os.Getenv(kernelNodeEnv) == "" || os.Getenv(jsiiAgentEnv) == "" {
		return
	}
	node, err := exec.LookPath("node")
	if err == nil {
		// The jsii packages' init has already extracted jsii's runtime
		// into a temporary directory for a kernel this process will never
		// start; Close removes it.
		jsii.Close()
		os.Unsetenv(kernelNodeEnv)
		if program := kernelProgram(os.Args[1:]); program != "" {
			err = relayKernel(node, kernelNodeFlags, program)
		} else {
			args := append(append([]string{node}, kernelNodeFlags...), os.Args[1:]...)
			err = syscall.Exec(node, args, os.Environ())
		}
	}
	// Only reached when node cannot be started; jsii-runtime-go then reports
	// that the kernel did not start.
	os.Stderr.WriteString("scopegate: cannot start node for the jsii kernel: " + err.Error() + "\n")
	os.Exit(1)
}

// UseKernelNodeFlags makes this program's binary the jsii kernel's
// JSII_NODE, so that the kernel runs with kernelNodeFlags and with
// relayKernel between it and jsii-runtime-go. Call it first in main, before
// any jsii call: Main and MainWith do. It does nothing when the user chose
// the kernel's node (JSII_NODE) or runtime (JSII_RUNTIME), when it already
// ran, or on Windows (where it has no relay); when the binary cannot be
// found, the program goes on without the flags.
func UseKernelNodeFlags() {
	if runtime.GOOS == "windows" || os.Getenv(kernelNodeEnv) != "" ||
		os.Getenv(jsiiNodeEnv) != "" || os.Getenv(jsiiRuntimeEnv) != "" {
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	if info, err := os.Stat(self); err != nil || info.Mode()&0o111 == 0 {
		return
	}
	os.Setenv(kernelNodeEnv, "1")
	os.Setenv(jsiiNodeEnv, self)
	// The jsii packages' init created jsii's client, which read JSII_NODE
	// then and extracted jsii's runtime into a temporary directory; Close
	// drops both (no kernel has started yet), and the next jsii call creates
	// a client that reads the new JSII_NODE, as cdktest.Main does for its
	// settings.
	jsii.Close()
}
