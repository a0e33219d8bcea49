package cmdutil

import "fmt"

// ResultLine is the one line a text-mode command that ran steps prints on stdout at its end
// (deploy, promote, drain, rollback, resume, abort): head says what ran and how it ended
// ("success: app", "rollback: success"), change what changed ("001 -> 002"), then the duration,
// the exit code and, when a rollback or an expiry ended any, the sessions ended:
// "success: app 001 -> 002 in 12.3s (exit 0)".
func ResultLine(head, change string, seconds float64, exitCode, lostSessions int) string {
	line := fmt.Sprintf("%s %s in %.1fs (exit %d)", head, change, seconds, exitCode)
	if lostSessions > 0 {
		line += fmt.Sprintf(", %d sessions ended", lostSessions)
	}
	return line
}
