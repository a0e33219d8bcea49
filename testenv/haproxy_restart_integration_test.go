//go:build integration

package testenv

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestHAProxyRestartsAtOnce stops and starts HAProxy back to back: the port of a process that
// has just exited can linger for a moment, which must not fail the start.
func TestHAProxyRestartsAtOnce(t *testing.T) {
	dir := t.TempDir()
	db := DB{HAProxyAddr: "127.0.0.1:13990", HAProxySocket: filepath.Join(dir, "haproxy", "admin.sock"), Backend: "mysql",
		Servers: []DBServer{{Name: "db1", Addr: "127.0.0.1:13991"}, {Name: "db2", Addr: "127.0.0.1:13992", ReadOnly: true}}}
	for i := 0; i < 8; i++ {
		if err := writeHAProxy(dir, db); err != nil {
			t.Fatal(err)
		}
		if err := startHAProxy(context.Background(), dir, db); err != nil {
			out, _ := exec.Command("sh", "-c", "ss -ltnp | grep 1399; ps aux | grep [h]aproxy").CombinedOutput()
			t.Fatalf("run %d: %v\n%s", i, err, out)
		}
		if err := haproxyProcess(dir).stop(context.Background(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}
