package testenv

import (
	"context"
	"time"

	"bufio"
	"fmt"
	"github.com/saitodrom/zdd/deployer/wait"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// checkFree fails when addr (host:port) is already taken, naming the port and what holds it.
// A socket whose process has just exited can linger for a moment: it waits up to 3 s for that.
func checkFree(addr, forWhat string) error {
	err := wait.Until(context.Background(), 100*time.Millisecond, 3*time.Second, addr+" to be free", func(context.Context) (bool, error) {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return false, wait.Reason(err)
		}
		return true, l.Close()
	})
	if err == nil {
		return nil
	}
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	return fmt.Errorf("testenv: port %s for %s is already in use by %s\nhint: stop that process, or run `zdd testenv down` if it is a testenv left from another state directory",
		addr, forWhat, portHolder(port))
}

// portHolder names the process listening on a TCP port, from /proc (best effort).
func portHolder(port int) string {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		file, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" { // 0A = LISTEN
				continue
			}
			local := fields[1]
			if i := strings.LastIndexByte(local, ':'); i >= 0 {
				if p, err := strconv.ParseInt(local[i+1:], 16, 32); err == nil && int(p) == port {
					inodes["socket:["+fields[9]+"]"] = true
				}
			}
		}
		file.Close()
	}
	if len(inodes) == 0 {
		return "an unknown process"
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range procs {
		target, err := os.Readlink(fd)
		if err != nil || !inodes[target] {
			continue
		}
		pidDir := filepath.Dir(filepath.Dir(fd))
		cmd, _ := os.ReadFile(filepath.Join(pidDir, "cmdline"))
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		return fmt.Sprintf("pid %s (%s)", filepath.Base(pidDir), strings.Join(args[:min(len(args), 4)], " "))
	}
	return "an unknown process"
}
