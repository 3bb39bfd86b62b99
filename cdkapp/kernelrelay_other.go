//go:build !unix

package cdkapp

import "errors"

// UseKernelNodeFlags does nothing on Windows, so the kernel is never started
// through this binary there.
func kernelProgram([]string) string { return "" }

func relayKernel(string, []string, string) error {
	return errors.New("not supported on this platform")
}
