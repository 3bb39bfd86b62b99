//go:build unix

package cdkapp

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
)

// jsii-runtime-go starts the kernel as `node <dir>/bin/jsii-runtime.js`, a
// relay: it starts a second node, `node <its node options>
// --preserve-symlinks <dir>/lib/program.js`, the kernel proper, which reads
// requests from and writes responses to its file descriptor 3 (one socket);
// the relay copies its stdin to that socket and the socket to its stdout,
// and wraps each chunk the kernel writes to its own stdout or stderr in a
// line {"stdout":"<base64>"} or {"stderr":"<base64>"} on its stderr, which
// jsii-runtime-go decodes (jsii-runtime-go v1.139.0: bin/jsii-runtime.js,
// lib/program.js's SyncStdio on fd 3, internal/kernel/process's
// consumeStderr). relayKernel does the relay's work in this process instead
// of in a node: one start of node fewer (0.08 s) and no JavaScript stream
// in the middle of each of the app's jsii calls (BENCHMARKS.md, "The
// kernel's relay"). jsii's relay also prints a banner when node is a
// version jsii does not support; that banner is the one thing lost.

// kernelProgram returns the kernel proper that the relay at args would
// start, or "" when args are not a relay in the layout above (another jsii
// release), in which case the relay itself is started.
func kernelProgram(args []string) string {
	if len(args) != 1 || filepath.Base(args[0]) != "jsii-runtime.js" || filepath.Base(filepath.Dir(args[0])) != "bin" {
		return ""
	}
	program := filepath.Join(filepath.Dir(filepath.Dir(args[0])), "lib", "program.js")
	if info, err := os.Stat(program); err != nil || !info.Mode().IsRegular() {
		return ""
	}
	return program
}

// relayKernel starts node with nodeArgs and the kernel proper, relays
// between it and jsii-runtime-go (this process's stdin, stdout and stderr),
// and exits as the kernel exits. It returns only if the kernel cannot be
// started, with the reason.
func relayKernel(node string, nodeArgs []string, program string) error {
	// Not inherited by anything but the kernel (ExtraFiles), as the standard
	// library's own descriptors (SOCK_CLOEXEC is not on every unix).
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return err
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "kernel socket"), os.NewFile(uintptr(fds[1]), "kernel's socket")
	defer theirs.Close()
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return err
	}
	kernel := exec.Command(node, append(append(nodeArgs, "--preserve-symlinks"), program)...)
	kernel.ExtraFiles = []*os.File{theirs} // its fd 3
	stdout, err := kernel.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := kernel.StderrPipe()
	if err != nil {
		return err
	}
	// As jsii's relay, which passes on every signal it can catch.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	if err := kernel.Start(); err != nil {
		signal.Stop(signals)
		return err
	}
	theirs.Close()
	go func() {
		for s := range signals {
			kernel.Process.Signal(s)
		}
	}()

	var console sync.Mutex // one line at a time on stderr
	var output sync.WaitGroup
	for key, r := range map[string]io.Reader{"stdout": stdout, "stderr": stderr} {
		output.Add(1)
		go func() {
			defer output.Done()
			buf := make([]byte, 64<<10)
			for {
				n, err := r.Read(buf)
				if n > 0 {
					line, _ := json.Marshal(map[string][]byte{key: buf[:n]})
					console.Lock()
					os.Stderr.Write(append(line, '\n'))
					console.Unlock()
				}
				if err != nil {
					return
				}
			}
		}()
	}
	go func() {
		// jsii-runtime-go closing its end (jsii.Close) is the kernel's
		// signal to exit: it reads end of file.
		io.Copy(conn, os.Stdin)
		conn.(*net.UnixConn).CloseWrite()
	}()
	responses := make(chan struct{})
	go func() {
		io.Copy(os.Stdout, conn)
		close(responses)
	}()

	output.Wait()
	err = kernel.Wait()
	<-responses
	var exit *exec.ExitError
	switch {
	case err == nil:
		os.Exit(0)
	case errors.As(err, &exit):
		if status, ok := exit.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			os.Exit(128 + int(status.Signal()))
		}
		os.Exit(exit.ExitCode())
	}
	os.Stderr.WriteString("scopegate: jsii kernel: " + err.Error() + "\n")
	os.Exit(1)
	return nil
}
