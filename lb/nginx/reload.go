package nginx

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/saitodrom/zdd/lb/remote"
)

// OldWorkerGrace bounds the wait, after a reload, for the old workers to exit. Until they
// have, a client may still be served by the old configuration on a connection it opened
// before; a long-lived connection (a download, a websocket) can keep an old worker longer.
const OldWorkerGrace = 2 * time.Second

// reloadScript runs the reload command on the host and waits there, polling, until the master
// has started a worker that did not exist before: the sign that the new configuration was
// applied (a master that keeps its old workers rejected it). It is one remote command, so a
// reload costs one round trip. Its first output line is "new", "timeout", "no-master" or
// "reload-failed"; the lines after it are [emerg]/[alert]/[crit] lines the reload logged.
func reloadScript(h Host, timeout, poll time.Duration) string {
	tries := max(1, int(timeout/poll))
	graceTries := max(1, int(OldWorkerGrace/poll))
	pollS := strconv.FormatFloat(poll.Seconds(), 'f', 3, 64)
	logSize, logErrs := `off=0`, `:`
	if h.ErrorLog != "" {
		q := remote.Quote(h.ErrorLog)
		logSize = `off=$(wc -c < ` + q + ` 2>/dev/null || echo 0)`
		logErrs = `tail -c +$((off+1)) -- ` + q + ` | grep -E '\[(emerg|alert|crit)\]' | tail -n 5 || true`
	}
	return fmt.Sprintf(`p=$(cat -- %s) && kill -0 "$p" || { echo no-master; exit 0; }
before=" $(ps -o pid= --ppid "$p" | tr -s ' \n' '  ') "
%s
if ! out=$( { %s; } 2>&1 ); then echo reload-failed; echo "$out" | tail -n 5; exit 0; fi
i=0
while [ "$i" -lt %d ]; do
  for w in $(ps -o pid= --ppid "$p"); do
    case "$before" in *" $w "*) ;; *) new=1;; esac
  done
  if [ -n "${new:-}" ]; then
    # The old workers close their listening sockets and idle connections, finish what they
    # serve and exit: wait for that (up to %d polls; a long-lived connection may keep one).
    j=0
    while [ "$j" -lt %d ]; do
      old=""; for w in $before; do kill -0 "$w" 2>/dev/null && old=1; done
      [ -z "$old" ] && break
      sleep %s; j=$((j+1))
    done
    echo new; %s; exit 0
  fi
  sleep %s; i=$((i+1))
done
echo timeout; %s`, remote.Quote(h.PidFile), logSize, h.ReloadCommand, tries, graceTries, graceTries, pollS, logErrs, pollS, logErrs)
}

// reload reloads Nginx on h and confirms that the new configuration took effect.
func (b *Balancer) reload(ctx context.Context, h Host) error {
	ctx, cancel := context.WithTimeout(ctx, b.opts.ReloadTimeout+10*time.Second)
	defer cancel()
	out, err := h.Runner.Run(ctx, reloadScript(h, b.opts.ReloadTimeout, b.opts.PollInterval), nil)
	if err != nil {
		return commandError("run the reload command `"+h.ReloadCommand+"` and wait for new workers", "", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	logged := strings.TrimSpace(strings.Join(lines[1:], "\n"))
	switch lines[0] {
	case "new":
		if logged != "" {
			return fmt.Errorf("reload logged errors: %s", logged)
		}
		return nil
	case "no-master":
		return fmt.Errorf("find the nginx master from %s: not running", h.PidFile)
	case "reload-failed":
		return fmt.Errorf("the reload command `%s` failed: %s", h.ReloadCommand, logged)
	case "timeout":
		if logged == "" {
			logged = "nothing in the error log"
		}
		return fmt.Errorf("reload did not take effect within %v (the master kept its workers; the configuration was probably rejected): %s",
			b.opts.ReloadTimeout, logged)
	}
	return fmt.Errorf("reload on %s: unexpected output %q", h.Name, out)
}
