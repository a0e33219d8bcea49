package pipelinecheck

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// A shell token: a word (raw, quotes kept) or an operator.
type token struct {
	word string
	op   string
}

// lexShell splits a POSIX shell script into words and operators. It understands quotes,
// ${...}, $(...), comments, line continuations and redirections (a redirection and its target
// become the single operator "redir"). It is a checker's lexer, not a full shell parser.
func lexShell(script string) ([]token, error) {
	s := strings.ReplaceAll(script, "\\\n", " ")
	var toks []token
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			toks = append(toks, token{word: cur.String()})
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			i--
		case c == ' ' || c == '\t':
			flush()
		case c == '\n':
			flush()
			toks = append(toks, token{op: ";"})
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' at offset %d", i)
			}
			cur.WriteString(s[i : i+end+2])
			inWord = true
			i += end + 1
		case c == '"':
			j, err := skipDouble(s, i)
			if err != nil {
				return nil, err
			}
			cur.WriteString(s[i : j+1])
			inWord = true
			i = j
		case c == '\\' && i+1 < len(s):
			cur.WriteString(s[i : i+2])
			inWord = true
			i++
		case c == '$' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '('):
			j, err := skipGroup(s, i+1)
			if err != nil {
				return nil, err
			}
			cur.WriteString(s[i : j+1])
			inWord = true
			i = j
		case c == '>' || c == '<':
			if inWord && strings.Trim(cur.String(), "0123456789") == "" {
				cur.Reset() // 2> : the digits belong to the redirection
				inWord = false
			}
			flush()
			i++
			for i < len(s) && (s[i] == '>' || s[i] == '&') {
				i++
			}
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			// the target word
			start := i
			for i < len(s) && !strings.ContainsRune(" \t\n;|&()", rune(s[i])) {
				if s[i] == '"' {
					j, err := skipDouble(s, i)
					if err != nil {
						return nil, err
					}
					i = j
				}
				i++
			}
			if start == i {
				return nil, fmt.Errorf("redirection without a target at offset %d", start)
			}
			i--
			toks = append(toks, token{op: "redir"})
		case strings.IndexByte(";|&()", c) >= 0:
			flush()
			op := string(c)
			if i+1 < len(s) && (s[i+1] == c) && c != '(' && c != ')' {
				op += string(c)
				i++
			}
			toks = append(toks, token{op: op})
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return toks, nil
}

// skipDouble returns the index of the closing quote of the "..." starting at i.
func skipDouble(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j, nil
		case '$':
			if j+1 < len(s) && (s[j+1] == '{' || s[j+1] == '(') {
				k, err := skipGroup(s, j+1)
				if err != nil {
					return 0, err
				}
				j = k
			}
		}
	}
	return 0, fmt.Errorf("unterminated \" at offset %d", i)
}

// skipGroup returns the index of the bracket closing the { or ( at i, skipping quotes.
func skipGroup(s string, i int) (int, error) {
	open, closing := s[i], byte('}')
	if open == '(' {
		closing = ')'
	}
	depth := 0
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '\'':
			if open == '(' {
				end := strings.IndexByte(s[j+1:], '\'')
				if end < 0 {
					return 0, fmt.Errorf("unterminated ' at offset %d", j)
				}
				j += end + 1
			}
		case '"':
			k, err := skipDouble(s, j)
			if err != nil {
				return 0, err
			}
			j = k
		case open:
			depth++
		case closing:
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, fmt.Errorf("unterminated %c at offset %d", open, i)
}

var (
	assignment   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	plusExpand   = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*:\+(.*)\}$`)
	shellKeyword = map[string]bool{"if": true, "then": true, "else": true, "elif": true, "fi": true, "do": true,
		"done": true, "while": true, "until": true, "!": true, "{": true, "}": true, "exec": true, "time": true}
)

// invocation is one `zdd ...` command found in a script, with its arguments as the shell would
// pass them when every ${VAR:+...} is set.
type invocation struct {
	args []string
	line string
}

func (inv invocation) String() string { return "zdd " + strings.Join(inv.args, " ") }

// zddInvocations returns every command of script whose program is zdd (or a path ending in
// /zdd).
func zddInvocations(script string) ([]invocation, error) {
	toks, err := lexShell(script)
	if err != nil {
		return nil, err
	}
	var out []invocation
	var cmd []string
	end := func() error {
		words := cmd
		cmd = nil
		for len(words) > 0 && (shellKeyword[words[0]] || assignment.MatchString(words[0])) {
			words = words[1:]
		}
		if len(words) == 0 || path.Base(unquote(words[0])) != "zdd" {
			return nil
		}
		var args []string
		for _, w := range words[1:] {
			expanded, err := expandWord(w)
			if err != nil {
				return err
			}
			args = append(args, expanded...)
		}
		out = append(out, invocation{args: args, line: strings.Join(words, " ")})
		return nil
	}
	for _, t := range toks {
		switch {
		case t.op == "redir":
		case t.op != "":
			if err := end(); err != nil {
				return nil, err
			}
		default:
			cmd = append(cmd, t.word)
		}
	}
	return out, end()
}

// expandWord turns a raw word into arguments: quotes removed, ${VAR:+words} replaced by its
// words (the checker assumes VAR is set).
func expandWord(w string) ([]string, error) {
	if m := plusExpand.FindStringSubmatch(w); m != nil {
		toks, err := lexShell(m[1])
		if err != nil {
			return nil, err
		}
		var out []string
		for _, t := range toks {
			if t.op != "" {
				return nil, fmt.Errorf("operator %q inside %s", t.op, w)
			}
			out = append(out, unquote(t.word))
		}
		return out, nil
	}
	return []string{unquote(w)}, nil
}

// unquote removes shell quotes from a word, keeping $VAR references as text.
func unquote(w string) string {
	var b strings.Builder
	for i := 0; i < len(w); i++ {
		switch c := w[i]; c {
		case '\'':
			end := strings.IndexByte(w[i+1:], '\'')
			b.WriteString(w[i+1 : i+1+end])
			i += end + 1
		case '"':
		case '\\':
			if i+1 < len(w) {
				b.WriteByte(w[i+1])
				i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
