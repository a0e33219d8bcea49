package zddcmd

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNewCommandsSuggest: a mistyped release or incident command, subcommand or flag is a usage
// error (exit 2) with a "did you mean" hint and the usage of the command it reached.
func TestNewCommandsSuggest(t *testing.T) {
	tests := []struct {
		args     []string
		hint     string
		usageFor string
	}{
		{[]string{"deplyo", "app.war"}, "did you mean `zdd deploy`?", "zdd <command>"},
		{[]string{"promot"}, "did you mean `zdd promote`?", "zdd <command>"},
		{[]string{"rollbak"}, "did you mean `zdd rollback`?", "zdd <command>"},
		{[]string{"rollbak", "--yes"}, "did you mean `zdd rollback`?", "zdd <command>"},
		{[]string{"deplyo", "--lock-wait", "1m", "app.war"}, "did you mean `zdd deploy`?", "zdd <command>"},
		{[]string{"pln", "app.war"}, "did you mean `zdd plan`?", "zdd <command>"},
		{[]string{"statsu"}, "did you mean `zdd status`?", "zdd <command>"},
		{[]string{"drian"}, "did you mean `zdd drain`?", "zdd <command>"},
		{[]string{"resmue"}, "did you mean `zdd resume`?", "zdd <command>"},
		{[]string{"histroy"}, "did you mean `zdd history`?", "zdd <command>"},
		{[]string{"lock", "relase"}, "did you mean `zdd lock release`?", "zdd lock [flags]"},
		{[]string{"deploy", "app.war", "--lock-wiat", "1m"}, "did you mean --lock-wait?", "zdd deploy APP.war [flags]"},
		{[]string{"deploy", "app.war", "--outptu", "json"}, "did you mean --output?", "zdd deploy APP.war [flags]"},
		{[]string{"plan", "app.war", "--verison", "002"}, "did you mean --version?", "zdd plan APP.war [flags]"},
		{[]string{"promote", "--timout", "1m"}, "did you mean --timeout?", "zdd promote [flags]"},
		{[]string{"rollback", "--hrad"}, "did you mean --hard?", "zdd rollback [flags]"},
		{[]string{"rollback", "--lock-wait", "1m"}, "run `zdd rollback --help` for the flags", "zdd rollback [flags]"},
		{[]string{"history", "--limt", "3"}, "did you mean --limit?", "zdd history [flags]"},
		{[]string{"lock", "release", "--froce"}, "did you mean --force?", "zdd lock release [flags]"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := zdd(t, "", tt.args...)
			assert.Equal(t, 2, r.code, r.errOut)
			assert.Empty(t, r.out, "usage goes to stderr")
			lines := strings.Split(r.errOut, "\n")
			assert.True(t, strings.HasPrefix(lines[0], "zdd: error: unknown "), r.errOut)
			if assert.Greater(t, len(lines), 1) {
				assert.Equal(t, "zdd: hint: "+tt.hint, lines[1])
			}
			assert.Contains(t, r.errOut, "Usage:\n  "+tt.usageFor)
		})
	}
}
