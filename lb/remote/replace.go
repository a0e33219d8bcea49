package remote

import (
	"path"
	"strings"
)

// Replace is the one shell recipe zdd uses to replace a file on a load-balancer host
// atomically: the new content is read from the command's stdin into a temporary file beside
// Path (same directory, so the final rename never crosses a file system), Steps run on it
// ($t names the temporary file), and it is renamed over Path. Readers see the old or the new
// content, never a partial file; on any failure, and on an early `exit` of a step, an EXIT
// trap removes the temporary file and Path is untouched.
//
// Path must have passed CheckPath; Steps are shell commands the caller wrote (quote every
// value with Quote).
type Replace struct {
	// Path is the file to replace.
	Path string
	// Steps run between writing the temporary file and renaming it, in order; in Group form
	// each must be one simple command (wrap a list in { ...; }).
	Steps []string
}

// commands are the recipe's commands in order.
func (r Replace) commands() []string {
	dir, base := path.Split(r.Path)
	cmds := []string{`t=$(mktemp ` + Quote(dir+"."+base+".zdd-XXXXXX") + `)`, `trap 'rm -f "$t"' EXIT`, `cat > "$t"`}
	cmds = append(cmds, r.Steps...)
	return append(cmds, `mv -f "$t" `+Quote(r.Path), `trap - EXIT`)
}

// Script is the recipe as a whole script: "set -e; " and the commands separated by "; ", so
// the first command that fails ends it with its status.
func (r Replace) Script() string { return "set -e; " + strings.Join(r.commands(), "; ") }

// Group is the recipe as one brace group joined by " && ", for a longer command that tells
// its failure apart (`<group> || { echo failed; exit 1; }; next`): set -e would be ignored
// there.
func (r Replace) Group() string { return "{ " + strings.Join(r.commands(), " && ") + "; }" }
