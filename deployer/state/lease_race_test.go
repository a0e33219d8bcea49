package state

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

// raceHelper contends for the lease (as resume does: an expired lease or a dead holder's is taken)
// once per "go N" line read from in, and answers one line: "won N GEN TOKEN WHY" (after appending
// the same to winners.log while holding the lease; WHY is "expired" or "dead"), "lost N"
// (outcome.ErrLocked) or "err N MESSAGE". The winner stops renewing without releasing, as a
// crashed holder would; the coordinator then makes its lease expired or its holder dead.
func raceHelper(dir, id string, in io.Reader, out io.Writer) int {
	l := raceLocker(dir)
	host, _ := os.Hostname()
	me := Lease{Holder: "racer-" + id, Host: host, PID: os.Getpid(), Command: "race"}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		round := strings.TrimPrefix(sc.Text(), "go ")
		h, err := l.AcquireWith(context.Background(), me, AcquireOptions{TakeOverDead: true})
		switch {
		case errors.Is(err, outcome.ErrLocked):
			fmt.Fprintf(out, "lost %s\n", round)
		case err != nil:
			fmt.Fprintf(out, "err %s %s\n", round, strings.ReplaceAll(err.Error(), "\n", " "))
		default:
			lease := h.Lease()
			why := "expired"
			if strings.HasPrefix(h.TakeoverReason(), "the holder is dead") {
				why = "dead"
			}
			line := fmt.Sprintf("won %s %d %s %s", round, lease.Generation, lease.Token, why)
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

// TestLeaseRace runs -lease.races rounds (1,000 by default) in which 8 processes contend for a
// lease left by a holder that stopped: expired in odd rounds, live but its holder dead (its pid
// recorded with another start time: a reused pid) in even rounds. It checks that each round has
// exactly one winner (the 7 others refused with ErrLocked), that the winners' own records
// (winners.log, appended while holding) show one holder per round, and that generations grow by
// one per round.
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
		want := map[bool]string{true: "expired", false: "dead"}[round%2 == 1]
		require.Equal(t, want, f[4], "round %d: what was taken over", round)
		// The winner stopped renewing: next round, its lease has expired (odd rounds), or its
		// process is recorded with another start time, so it is dead to the racers (even rounds).
		if round%2 == 0 {
			cur.Expires = time.Now().Add(-time.Second)
		} else {
			cur.StartTime++
		}
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
	t.Logf("lease race: %d rounds of %d processes (half for an expired lease, half for a dead holder's), %d winners (1 per round), generations 1..%d strictly increasing, in %s",
		*leaseRaces, procs, len(lines), prev, elapsed.Round(time.Millisecond))
}
