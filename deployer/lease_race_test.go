package deployer

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/outcome"
)

// The lease tests run real OS processes: this test binary re-executed in a helper mode named by
// leaseHelperEnv, instead of the tests.
const (
	leaseHelperEnv = "ZDD_LEASE_TEST_HELPER" // "race" or "hold"
	leaseDirEnv    = "ZDD_LEASE_TEST_DIR"
	leaseIDEnv     = "ZDD_LEASE_TEST_ID"
)

var leaseRaces = flag.Int("lease.races", 1000, "rounds of TestLeaseRace (8 processes each)")

func TestMain(m *testing.M) {
	switch os.Getenv(leaseHelperEnv) {
	case "race":
		os.Exit(raceHelper(os.Getenv(leaseDirEnv), os.Getenv(leaseIDEnv), os.Stdin, os.Stdout))
	case "hold":
		os.Exit(holdHelper(os.Getenv(leaseDirEnv), os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// raceLocker is the Locker of the race: a long TTL, so that no renewal and no expiry happens
// within a round; the coordinator expires the lease between rounds.
func raceLocker(dir string) *Locker { return &Locker{Dir: dir, TTL: 10 * time.Minute} }

// raceHelper contends for the lease once per "go N" line read from in, and answers one line:
// "won N GEN TOKEN" (after appending the same to winners.log while holding the lease), "lost N"
// (outcome.ErrLocked) or "err N MESSAGE". The winner stops renewing without releasing, as a
// crashed holder would; the coordinator then expires its lease.
func raceHelper(dir, id string, in io.Reader, out io.Writer) int {
	l := raceLocker(dir)
	host, _ := os.Hostname()
	me := Lease{Holder: "racer-" + id, Host: host, PID: os.Getpid(), Command: "race"}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		round := strings.TrimPrefix(sc.Text(), "go ")
		h, err := l.Acquire(context.Background(), me, 0)
		switch {
		case errors.Is(err, outcome.ErrLocked):
			fmt.Fprintf(out, "lost %s\n", round)
		case err != nil:
			fmt.Fprintf(out, "err %s %s\n", round, strings.ReplaceAll(err.Error(), "\n", " "))
		default:
			lease := h.Lease()
			line := fmt.Sprintf("won %s %d %s", round, lease.Generation, lease.Token)
			if err := appendLine(filepath.Join(dir, "winners.log"), line); err != nil {
				fmt.Fprintf(out, "err %s %s\n", round, err)
				continue
			}
			stopRenewing(h)
			fmt.Fprintln(out, line)
		}
	}
	return 0
}

// holdHelper takes the lease (TTL one minute), prints "held GEN", and holds it until killed.
func holdHelper(dir string, in io.Reader, out io.Writer) int {
	host, _ := os.Hostname()
	h, err := (&Locker{Dir: dir, TTL: time.Minute}).Acquire(context.Background(),
		Lease{Holder: "victim", Host: host, PID: os.Getpid(), Command: "zdd deploy"}, 0)
	if err != nil {
		fmt.Fprintln(out, "err", err)
		return 1
	}
	fmt.Fprintln(out, "held", h.Lease().Generation)
	_, _ = io.Copy(io.Discard, in) // until stdin closes or the process is killed
	return 0
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	return errors.Join(err, f.Close())
}

// stopRenewing ends h's renewals without releasing the lease, as a process that stopped would.
func stopRenewing(h *Held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.released {
		h.released = true
		close(h.done)
	}
}

// helperCmd returns this test binary started in helper mode.
func helperCmd(t *testing.T, mode, dir, id string) *exec.Cmd {
	exe, err := os.Executable()
	require.NoError(t, err)
	c := exec.Command(exe, "-test.run=^$")
	c.Env = append(os.Environ(), leaseHelperEnv+"="+mode, leaseDirEnv+"="+dir, leaseIDEnv+"="+id)
	c.Stderr = os.Stderr
	return c
}

type racer struct {
	in  io.WriteCloser
	out *bufio.Scanner
}

// TestLeaseRace runs -lease.races rounds (1,000 by default) in which 8 processes contend for an
// expired lease, and checks that each round has exactly one winner (the 7 others refused with
// ErrLocked), that the winners' own records (winners.log, appended while holding) show one holder
// per round, and that generations grow by one per round.
func TestLeaseRace(t *testing.T) {
	const procs = 8
	dir := t.TempDir()
	racers := make([]racer, procs)
	for i := range racers {
		c := helperCmd(t, "race", dir, strconv.Itoa(i))
		in, err := c.StdinPipe()
		require.NoError(t, err)
		out, err := c.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, c.Start())
		t.Cleanup(func() { _ = in.Close(); _ = c.Wait() })
		racers[i] = racer{in: in, out: bufio.NewScanner(out)}
	}
	l := raceLocker(dir)
	// Round 0's lease: an expired one left by a holder that is gone.
	expired := Lease{Holder: "ghost", Host: "gone", PID: 1, Token: "ghost", Generation: 0,
		Started: time.Now().Add(-time.Hour), Expires: time.Now().Add(-time.Minute)}
	require.NoError(t, l.write(expired))
	start := time.Now()
	lastGen := int64(0)
	for round := 1; round <= *leaseRaces; round++ {
		for _, r := range racers {
			_, err := fmt.Fprintf(r.in, "go %d\n", round)
			require.NoError(t, err)
		}
		var winners []string
		for i, r := range racers {
			require.True(t, r.out.Scan(), "racer %d died in round %d", i, round)
			f := strings.Fields(r.out.Text())
			require.GreaterOrEqual(t, len(f), 2, "racer %d: %q", i, r.out.Text())
			require.Equal(t, strconv.Itoa(round), f[1], "racer %d answered another round", i)
			switch f[0] {
			case "won":
				winners = append(winners, r.out.Text())
			case "lost":
			default:
				t.Fatalf("round %d: racer %d failed: %s", round, i, r.out.Text())
			}
		}
		require.Len(t, winners, 1, "round %d: two holders at once: %v", round, winners)
		f := strings.Fields(winners[0])
		gen, err := strconv.ParseInt(f[2], 10, 64)
		require.NoError(t, err)
		require.Equal(t, lastGen+1, gen, "round %d: generation must grow by one per holder", round)
		lastGen = gen
		cur, err := l.Read()
		require.NoError(t, err)
		require.Equal(t, f[3], cur.Token, "round %d: the lease on file is not the winner's", round)
		// The winner stopped renewing; its lease expires (as a crashed holder's would).
		cur.Expires = time.Now().Add(-time.Second)
		require.NoError(t, l.write(*cur))
	}
	elapsed := time.Since(start)
	b, err := os.ReadFile(filepath.Join(dir, "winners.log"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, *leaseRaces, "winners.log: one holder per round")
	prev := int64(0)
	for i, line := range lines {
		f := strings.Fields(line)
		require.Equal(t, strconv.Itoa(i+1), f[1], "winners.log line %d", i+1)
		g, _ := strconv.ParseInt(f[2], 10, 64)
		require.Greater(t, g, prev, "winners.log line %d: generations strictly increase", i+1)
		prev = g
	}
	assert.EqualValues(t, *leaseRaces, prev)
	t.Logf("lease race: %d rounds of %d processes, %d winners (1 per round), generations 1..%d strictly increasing, in %s",
		*leaseRaces, procs, len(lines), prev, elapsed.Round(time.Millisecond))
}
