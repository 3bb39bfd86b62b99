package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processGone: no such process, or a zombie nobody has reaped yet (the
// container's init may not reap re-parented processes).
func processGone(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] == "Z"
}

// onlyChild is the one child of pid (whichever of its threads started
// it), or 0.
func onlyChild(pid int) int {
	files, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var all []string
	for _, f := range files {
		data, _ := os.ReadFile(f)
		all = append(all, strings.Fields(string(data))...)
	}
	if len(all) != 1 {
		return 0
	}
	child, _ := strconv.Atoi(all[0])
	return child
}

// When the process that started bin/local dies without passing a signal on
// (what `go run` does with SIGTERM), bin/local stops by itself, and stops
// dynalite with it.
func TestStopsWhenItsParentDies(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"manifest.json": `{"artifacts": {"Tiny": {"type": "aws:cloudformation:stack", "properties": {"templateFile": "Tiny.template.json"}}}}`,
		"Tiny.template.json": `{"Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": {
			"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}}}}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// dynalite is found from the working directory upwards.
	wd, _ := os.Getwd()
	out := filepath.Join(dir, "out.txt")
	parent := exec.Command("sh", "-c", `"$0" -assembly "$1" -port-base 0 -quiet >"$2" 2>&1 & echo $!; wait`, bin, dir, out)
	parent.Dir = wd
	stdout, _ := parent.StdoutPipe()
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(line))
	t.Cleanup(func() {
		// SIGTERM, so that a bin/local still running stops dynalite too.
		if p, err := os.FindProcess(pid); err == nil && !processGone(pid) {
			_ = p.Signal(syscall.SIGTERM)
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !processGone(pid); time.Sleep(50 * time.Millisecond) {
			}
		}
	})
	var dynalite int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		data, _ := os.ReadFile(out)
		if strings.Contains(string(data), "ready in") {
			dynalite = onlyChild(pid)
			break
		}
	}
	if dynalite == 0 {
		data, _ := os.ReadFile(out)
		t.Fatalf("bin/local did not get ready with one child (dynalite):\n%s", data)
	}
	_ = parent.Process.Kill()
	_ = parent.Wait()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !(processGone(pid) && processGone(dynalite)); time.Sleep(100 * time.Millisecond) {
	}
	if !processGone(pid) || !processGone(dynalite) {
		t.Errorf("after its parent died: bin/local (pid %d) gone %v, dynalite (pid %d) gone %v", pid, processGone(pid), dynalite, processGone(dynalite))
	}
	if data, _ := os.ReadFile(out); !strings.Contains(string(data), "has gone; stopping") || !strings.Contains(string(data), "stopped") {
		t.Errorf("bin/local's output does not say why it stopped:\n%s", data)
	}
}
