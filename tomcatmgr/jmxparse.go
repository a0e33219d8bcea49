package tomcatmgr

import (
	"fmt"
	"strconv"
	"strings"
)

// Attr returns an attribute's value and whether the bean has it.
func (b Bean) Attr(name string) (string, bool) {
	v, ok := b.Attrs[name]
	return v, ok
}

// parseQuery parses a JMX proxy qry answer: "OK - Number of results: N", a blank line, then per
// bean "Name: ..." and "attr: value" lines (CRLF-terminated), tab-indented array items, lines
// starting with a space continuing a wrapped value, and a blank line.
func parseQuery(body string) ([]Bean, *Error) {
	lines, err := result(body)
	if err != nil {
		return nil, err
	}
	want := -1
	if i := strings.LastIndex(firstLine(body), ": "); i >= 0 {
		if n, e := strconv.Atoi(strings.TrimSpace(firstLine(body)[i+2:])); e == nil {
			want = n
		}
	}
	var beans []Bean
	var cur *Bean
	last := ""
	for _, l := range lines {
		switch {
		case l == "":
			cur = nil
		case strings.HasPrefix(l, "Name: "):
			beans = append(beans, Bean{Name: l[len("Name: "):], Attrs: map[string]string{}, Arrays: map[string][]string{}})
			cur, last = &beans[len(beans)-1], ""
		case cur == nil:
			return nil, &Error{Message: fmt.Sprintf("jmx line outside a bean: %q", truncate(l)), Kind: ErrProtocol}
		case strings.HasPrefix(l, "\t") && last != "":
			cur.Arrays[last] = append(cur.Arrays[last], l[1:])
		case strings.HasPrefix(l, " ") && last != "":
			cur.Attrs[last] += l[1:]
		default:
			k, v, ok := strings.Cut(l, ":")
			if !ok || k == "" {
				return nil, &Error{Message: fmt.Sprintf("unexpected jmx line %q", truncate(l)), Kind: ErrProtocol}
			}
			last = k
			cur.Attrs[k] = strings.TrimPrefix(v, " ")
		}
	}
	if want >= 0 && want != len(beans) {
		return nil, &Error{Message: fmt.Sprintf("jmx query announced %d results, found %d", want, len(beans)), Kind: ErrProtocol}
	}
	return beans, nil
}

// firstLine returns the body's first line without its line end.
func firstLine(body string) string {
	l, _, _ := strings.Cut(body, "\n")
	return strings.TrimSuffix(l, "\r")
}

// parseGet parses "OK - Attribute get '<bean>' - <attr> = <value>"; the value may span lines.
func parseGet(body, attr string) (string, *Error) {
	if _, err := result(body); err != nil {
		return "", err
	}
	sep := "' - " + attr + " = "
	i := strings.Index(body, sep)
	if i < 0 {
		return "", &Error{Message: fmt.Sprintf("jmx get answer lacks %q: %q", sep, truncate(firstLine(body))), Kind: ErrProtocol}
	}
	return strings.TrimRight(body[i+len(sep):], "\r\n"), nil
}

// parseInvoke parses "OK - Operation <op> returned:" followed by the value lines, or
// "OK - Operation <op> without return value" (returned as "").
func parseInvoke(body string) (string, *Error) {
	lines, err := result(body)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(firstLine(body), ":") {
		return "", nil
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\r\n"), nil
}
