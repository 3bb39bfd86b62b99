package local

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// listen opens 127.0.0.1:port (0: a free port). A port already in use is
// an error naming it and, when /proc tells, the process holding it.
func listen(port int, what string) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err == nil {
		return ln, nil
	}
	if holder := portHolder(port); holder != "" {
		return nil, fmt.Errorf("local: port %d for %s is held by %s (stop it, or move every port with -port-base)", port, what, holder)
	}
	return nil, fmt.Errorf("local: port %d for %s: %v (move every port with -port-base)", port, what, err)
}

// portHolder names the process listening on a TCP port: the socket's inode
// from /proc/net/tcp and /proc/net/tcp6 (proc(5)), then the process whose
// /proc/<pid>/fd links to it. "" when Linux's /proc does not tell (another
// user's process, another system).
func portHolder(port int) string {
	inodes := map[string]bool{}
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fields[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inodes[fields[9]] = true
			}
		}
		f.Close()
	}
	if len(inodes) == 0 {
		return ""
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		target, err := os.Readlink(fd)
		if err != nil || !strings.HasPrefix(target, "socket:[") {
			continue
		}
		if inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] {
			pid := strings.Split(fd, "/")[2]
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			return fmt.Sprintf("pid %s (%s)", pid, strings.TrimSpace(string(comm)))
		}
	}
	return "another process (its pid is not visible here)"
}
