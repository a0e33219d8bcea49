package state

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// This file is the lease's holder liveness check: whether the process a lease names is known
// to be gone. Only Linux answers it (/proc); elsewhere a holder is never known to be dead and its
// lease ends by expiry.

// procRoot is where the process table is read; tests never change it.
const procRoot = "/proc"

// bootID returns this kernel's boot id (a new one after each reboot), or "" when unreadable.
func bootID() string {
	b, err := os.ReadFile(procRoot + "/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// procStat is what the lease needs from /proc/PID/stat.
type procStat struct {
	// State is field 3 (R, S, D, Z, X, ...).
	State string
	// StartTime is field 22: when the process started, in clock ticks since boot.
	StartTime uint64
}

// readProcStat reads /proc/pid/stat. It fails with an error matching os.ErrNotExist when there is
// no such process.
func readProcStat(pid int) (procStat, error) {
	if pid <= 0 {
		return procStat{}, fmt.Errorf("pid %d: %w", pid, os.ErrNotExist)
	}
	b, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// parseProcStat parses a /proc/PID/stat line. The command name (field 2) is in parentheses and
// may itself contain spaces and parentheses, so the fields are counted after the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errors.New("proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field 22 (starttime) is f[19].
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("proc stat: %d fields after the command name, want at least 20", len(f))
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return procStat{}, fmt.Errorf("proc stat: starttime %q: %w", f[19], err)
	}
	return procStat{State: f[0], StartTime: st}, nil
}

// stampProcess records in me the identity of its process (me.PID, on this host): the boot id
// and the process start time, unless the caller set them. A PID that does not exist here leaves
// them empty, and such a lease is never taken for dead.
func stampProcess(me *Lease) {
	if me.PID <= 0 || me.StartTime != 0 {
		return
	}
	st, err := readProcStat(me.PID)
	if err != nil {
		return
	}
	me.StartTime = st.StartTime
	if me.BootID == "" {
		me.BootID = bootID()
	}
}

// HolderDead tells whether the lease's holder is known to be gone, and why. It is only ever
// true for a holder on this host (the same host name and kernel boot id as this process) whose
// pid no longer exists, is a zombie, or now belongs to a process that started at another time
// (a reused pid is never taken for the holder). A holder elsewhere, on this host before a reboot,
// or recorded without a start time is not known to be dead: its lease ends by expiry. Two
// machines that share a host name have different boot ids; containers on one kernel share its
// boot id, so they must not share a host name (each has its own by default).
func (l *Lease) HolderDead() (bool, string) {
	if l == nil || l.PID <= 0 || l.StartTime == 0 || l.BootID == "" {
		return false, ""
	}
	if host, err := os.Hostname(); err != nil || host != l.Host || bootID() != l.BootID {
		return false, ""
	}
	st, err := readProcStat(l.PID)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return true, fmt.Sprintf("its process %d on %s is gone", l.PID, l.Host)
	case err != nil:
		return false, ""
	case st.StartTime != l.StartTime:
		return true, fmt.Sprintf("its process %d on %s is gone (the pid now belongs to a process started at tick %d, the holder started at tick %d)",
			l.PID, l.Host, st.StartTime, l.StartTime)
	case st.State == "Z" || st.State == "X":
		return true, fmt.Sprintf("its process %d on %s has exited", l.PID, l.Host)
	}
	return false, ""
}

// Active tells whether the lease binds at now: it has not expired and its holder is not known
// to be dead (HolderDead).
func (l *Lease) Active(now time.Time) bool {
	if !l.Live(now) {
		return false
	}
	dead, _ := l.HolderDead()
	return !dead
}
