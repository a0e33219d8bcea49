package nginx

import (
	"fmt"
	"strconv"
	"strings"
)

// SyntaxError is an upstream file zdd cannot parse. The file is left as it is.
type SyntaxError struct {
	// Line is the 1-based line of the problem.
	Line int
	// Msg says what was wrong.
	Msg string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("nginx: parse upstream file: line %d: %s", e.Line, e.Msg)
}

// File is a parsed upstream file. It keeps the original bytes: rendering
// changes only the weight, down and backup parameters of the servers it
// changes (and, in a sticky file, zdd's role comment after them; see
// sticky.go), so comments, spacing and every other parameter (max_fails,
// resolve...) stay as they were.
type File struct {
	src []byte
	// Upstreams are the upstream blocks in file order.
	Upstreams []*Upstream
}

// Upstream is one upstream block.
type Upstream struct {
	// Name is the upstream's name.
	Name string
	// Line is where the block starts.
	Line int
	// Servers are the block's server directives in order.
	Servers []*Server
}

// Server is one server directive of an upstream block.
type Server struct {
	// Addr is the address as written (unquoted), e.g. 127.0.0.1:18081.
	Addr string
	// Line is where the directive starts.
	Line int
	// Weight is the weight parameter, 1 when absent.
	Weight int
	// Down and Backup report the flags of the same name.
	Down, Backup bool

	hasWeight   bool
	addrEnd     int    // offset just after the address token
	lastEnd     int    // offset just after the last parameter token
	weightSpan  [2]int // the weight=N token
	downSpans   [][2]int
	backupSpans [][2]int
	params      [][2]int // every parameter token after the address
	semiEnd     int      // offset just after the directive's ";"
	mark        roleMark // the role marker zdd wrote after the ";" (sticky files, see sticky.go)
}

type tokKind int

const (
	tWord tokKind = iota
	tOpen
	tClose
	tSemi
	tEOF
)

type token struct {
	kind       tokKind
	val        string // unquoted value of a word
	start, end int
	line       int
}

type lexer struct {
	src  []byte
	pos  int
	line int
}

func (l *lexer) errf(line int, format string, args ...any) error {
	return &SyntaxError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// next returns the next token, skipping spaces and comments.
func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r':
			l.pos++
		case c == '#':
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		default:
			return l.token(c)
		}
	}
	return token{kind: tEOF, start: l.pos, end: l.pos, line: l.line}, nil
}

func (l *lexer) token(c byte) (token, error) {
	t := token{start: l.pos, line: l.line}
	switch c {
	case '{', '}', ';':
		l.pos++
		t.end = l.pos
		t.kind = map[byte]tokKind{'{': tOpen, '}': tClose, ';': tSemi}[c]
		return t, nil
	case '"', '\'':
		return l.quoted(t, c)
	}
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' || c == '{' || c == '}' {
			break
		}
		if c == '$' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '{' {
			j := l.pos + 2
			for j < len(l.src) && l.src[j] != '}' && l.src[j] != '\n' {
				j++
			}
			if j >= len(l.src) || l.src[j] != '}' {
				return t, l.errf(l.line, "unterminated ${ variable")
			}
			b.Write(l.src[l.pos : j+1])
			l.pos = j + 1
			continue
		}
		if c == '\\' && l.pos+1 < len(l.src) && l.src[l.pos+1] != '\n' {
			b.WriteByte(c)
			l.pos++
			c = l.src[l.pos]
		}
		b.WriteByte(c)
		l.pos++
	}
	t.kind, t.val, t.end = tWord, b.String(), l.pos
	return t, nil
}

func (l *lexer) quoted(t token, q byte) (token, error) {
	var b strings.Builder
	l.pos++
	for {
		if l.pos >= len(l.src) {
			return t, l.errf(t.line, "unterminated quoted string")
		}
		c := l.src[l.pos]
		if c == '\\' && l.pos+1 < len(l.src) && (l.src[l.pos+1] == q || l.src[l.pos+1] == '\\') {
			b.WriteByte(l.src[l.pos+1])
			l.pos += 2
			continue
		}
		if c == '\n' {
			l.line++
		}
		l.pos++
		if c == q {
			break
		}
		b.WriteByte(c)
	}
	if l.pos < len(l.src) {
		switch l.src[l.pos] {
		case ' ', '\t', '\r', '\n', ';', '{', '}':
		default:
			return t, l.errf(l.line, "unexpected %q after quoted string", l.src[l.pos])
		}
	}
	t.kind, t.val, t.end = tWord, b.String(), l.pos
	return t, nil
}

// Parse parses an upstream file. It accepts any nginx configuration syntax
// (other directives and blocks are kept as they are) and interprets the
// server directives of upstream blocks. An error is a *SyntaxError.
func Parse(src []byte) (*File, error) {
	p := &parser{lex: lexer{src: src, line: 1}, f: &File{src: src}}
	if err := p.block(0, nil); err != nil {
		return nil, err
	}
	return p.f, nil
}

type parser struct {
	lex lexer
	f   *File
}

// block parses directives until the closing brace (depth > 0) or EOF.
// up is the enclosing upstream block, if any.
func (p *parser) block(depth int, up *Upstream) error {
	var words []token
	for {
		t, err := p.lex.next()
		if err != nil {
			return err
		}
		switch t.kind {
		case tWord:
			words = append(words, t)
		case tSemi:
			if len(words) == 0 {
				return p.lex.errf(t.line, `unexpected ";"`)
			}
			if up != nil {
				if err := p.directive(up, words, t); err != nil {
					return err
				}
			}
			words = nil
		case tOpen:
			if err := p.open(depth, up, words, t); err != nil {
				return err
			}
			words = nil
		case tClose:
			if len(words) > 0 {
				return p.lex.errf(t.line, `unexpected "}" (missing ";" after %q)`, words[0].val)
			}
			if depth == 0 {
				return p.lex.errf(t.line, `unexpected "}"`)
			}
			return nil
		case tEOF:
			if len(words) > 0 {
				return p.lex.errf(words[0].line, `unexpected end of file, expecting ";" after %q`, words[0].val)
			}
			if depth > 0 {
				return p.lex.errf(t.line, `unexpected end of file, expecting "}"`)
			}
			return nil
		}
	}
}

func (p *parser) open(depth int, up *Upstream, words []token, t token) error {
	if len(words) == 0 {
		return p.lex.errf(t.line, `unexpected "{"`)
	}
	if up != nil {
		return p.lex.errf(t.line, "block %q inside upstream %s", words[0].val, up.Name)
	}
	if words[0].val != "upstream" {
		return p.block(depth+1, nil)
	}
	if len(words) != 2 || words[1].val == "" {
		return p.lex.errf(words[0].line, "upstream needs exactly one name")
	}
	for _, u := range p.f.Upstreams {
		if u.Name == words[1].val {
			return p.lex.errf(words[0].line, "duplicate upstream %q (first at line %d)", u.Name, u.Line)
		}
	}
	u := &Upstream{Name: words[1].val, Line: words[0].line}
	p.f.Upstreams = append(p.f.Upstreams, u)
	return p.block(depth+1, u)
}

// directive interprets a simple directive inside an upstream block.
func (p *parser) directive(up *Upstream, words []token, semi token) error {
	if words[0].val != "server" {
		return nil
	}
	if len(words) < 2 {
		return p.lex.errf(words[0].line, "server without an address in upstream %s", up.Name)
	}
	s := &Server{Addr: words[1].val, Line: words[0].line, Weight: 1,
		addrEnd: words[1].end, lastEnd: words[len(words)-1].end, semiEnd: semi.end}
	s.mark = parseMark(p.lex.src, semi.end)
	for _, w := range words[2:] {
		s.params = append(s.params, [2]int{w.start, w.end})
		switch {
		case w.val == "down":
			s.Down = true
			s.downSpans = append(s.downSpans, [2]int{w.start, w.end})
		case w.val == "backup":
			s.Backup = true
			s.backupSpans = append(s.backupSpans, [2]int{w.start, w.end})
		case strings.HasPrefix(w.val, "weight="):
			if s.hasWeight {
				return p.lex.errf(w.line, "duplicate weight for server %s in upstream %s", s.Addr, up.Name)
			}
			n, err := strconv.Atoi(strings.TrimPrefix(w.val, "weight="))
			if err != nil || n < 1 || w.val != p.raw(w) {
				return p.lex.errf(w.line, "invalid %q for server %s in upstream %s (weight must be 1 or more; use down to take a server out)", p.raw(w), s.Addr, up.Name)
			}
			s.Weight, s.hasWeight, s.weightSpan = n, true, [2]int{w.start, w.end}
		}
	}
	up.Servers = append(up.Servers, s)
	return nil
}

func (p *parser) raw(t token) string { return string(p.lex.src[t.start:t.end]) }
