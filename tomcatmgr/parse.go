package tomcatmgr

import (
	"fmt"
	"html"
	"strconv"
	"strings"
)

// App states as the list command prints them (these words are not translated).
const (
	StateRunning = "running"
	StateStopped = "stopped"
)

// App is one line of the Manager's list output.
type App struct {
	// Context is the path and the real version (from the docBase, or from JMX when the docBase
	// does not reveal it).
	Context
	// State is StateRunning or StateStopped.
	State string
	// Sessions is the node's session count; with DeltaManager it includes replicated copies.
	// A stopped context always reports 0.
	Sessions int
	// DocBase is the fourth field: relative to appBase ("app##002", "app##002.war") or absolute.
	DocBase string
}

// SessionBucket is one histogram line of the sessions command.
type SessionBucket struct {
	// Idle is the idle-time range in minutes as Tomcat prints it: "<1", "1 - <2", ">=60".
	Idle string
	// Count is the number of sessions in that range.
	Count int
}

// SessionStats is the parsed answer of the sessions and expire commands.
type SessionStats struct {
	// DefaultTimeoutMinutes is the context's default maximum inactive interval.
	DefaultTimeoutMinutes int
	// Buckets is the idle-time histogram, in Tomcat's order.
	Buckets []SessionBucket
	// Unlimited counts sessions that never time out.
	Unlimited int
	// Active is the sum of all buckets and Unlimited.
	Active int
	// Expired is the number of sessions the expire command expired (0 for sessions).
	Expired int
}

// ServerInfo is the parsed answer of the serverinfo command.
type ServerInfo struct {
	TomcatVersion, OSName, OSVersion, OSArch, JVMVersion, JVMVendor string
}

// Bean is one MBean of a JMX proxy query.
type Bean struct {
	// Name is the ObjectName as the server printed it.
	Name string
	// Attrs maps attribute names to values as printed; an array attribute's value is
	// "Array[type] of length N" and its items are in Arrays.
	Attrs map[string]string
	// Arrays holds the items of array attributes, one string per item.
	Arrays map[string][]string
}

// result splits a Manager text answer: it returns the lines after an "OK - " first line, or an
// error of the right class quoting the first line.
func result(body string) ([]string, *Error) {
	lines := splitLines(body)
	first := ""
	if len(lines) > 0 {
		first = lines[0]
	}
	msg := truncate(html.UnescapeString(first))
	switch {
	case strings.HasPrefix(first, "OK - ") || first == "OK":
		return lines[1:], nil
	case strings.HasPrefix(first, "FAIL - ") || first == "FAIL":
		return nil, &Error{Message: msg, Kind: failKind(first)}
	case strings.HasPrefix(first, "Error - "):
		kind := ErrFailed
		if strings.Contains(first, "javax.management.InstanceNotFoundException") {
			kind = ErrNotFound
		}
		return nil, &Error{Message: msg, Kind: kind}
	}
	return nil, &Error{Message: fmt.Sprintf("answer is neither OK nor FAIL: %q", msg), Kind: ErrProtocol}
}

// failKind classifies an English FAIL line (the client always asks for English) by the fixed
// parts of Tomcat's LocalStrings.properties messages; anything else is ErrFailed.
func failKind(line string) error {
	switch {
	case strings.Contains(line, "already exists at path"):
		return ErrAlreadyExists
	case strings.Contains(line, "No context exists named"):
		return ErrNotFound
	case strings.Contains(line, "but context failed to start"), strings.Contains(line, "could not be started"):
		return ErrFailedToStart
	case strings.Contains(line, "is already being serviced"):
		return ErrBusy
	case strings.Contains(line, "Invalid context path"), strings.Contains(line, "Invalid version"),
		strings.Contains(line, "Unknown command"):
		return ErrInvalid
	}
	return ErrFailed
}

// splitLines splits on \n, drops \r line ends and a final empty line.
func splitLines(s string) []string {
	s = strings.TrimRight(s, "\r\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// parseList parses the list command's body. Versions are taken from relative docBases only;
// rows whose version is unknown get an empty Version and are reported in needJMX.
func parseList(body string) (apps []App, needJMX []int, err *Error) {
	lines, err := result(body)
	if err != nil {
		return nil, nil, err
	}
	for _, line := range lines {
		if line == "" {
			continue
		}
		f := strings.SplitN(line, ":", 4)
		if len(f) != 4 || !strings.HasPrefix(f[0], "/") {
			return nil, nil, &Error{Message: fmt.Sprintf("unexpected list line %q", truncate(line)), Kind: ErrProtocol}
		}
		n, convErr := strconv.Atoi(f[2])
		if convErr != nil || n < 0 {
			return nil, nil, &Error{Message: fmt.Sprintf("bad session count in list line %q", truncate(line)), Kind: ErrProtocol}
		}
		a := App{Context: Context{Path: f[0]}, State: f[1], Sessions: n, DocBase: f[3]}
		if v, ok := versionFromDocBase(a.Path, a.DocBase); ok {
			a.Version = v
		} else {
			needJMX = append(needJMX, len(apps))
		}
		apps = append(apps, a)
	}
	return apps, needJMX, nil
}

// brackets returns the values between '[' and ']' in a line, in order.
func brackets(line string) []string {
	var out []string
	for {
		i := strings.IndexByte(line, '[')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(line[i+1:], ']')
		if j < 0 {
			return out
		}
		out = append(out, line[i+1:i+1+j])
		line = line[i+2+j:]
	}
}

// parseSessions parses the sessions/expire answer by its bracketed values only, so it works in
// every language: the first line after OK holds the default timeout, two-value lines are
// histogram buckets, except the expire line whose range starts with ">" but not ">=", and a
// later one-value line counts sessions without timeout.
func parseSessions(body string) (SessionStats, *Error) {
	var st SessionStats
	lines, err := result(body)
	if err != nil {
		return st, err
	}
	bad := func(l string) *Error {
		return &Error{Message: fmt.Sprintf("unexpected sessions line %q", truncate(l)), Kind: ErrProtocol}
	}
	seenDefault := false
	for _, l := range lines {
		b := brackets(l)
		switch {
		case l == "":
			continue
		case len(b) == 1 && !seenDefault:
			n, e := strconv.Atoi(b[0])
			if e != nil {
				return st, bad(l)
			}
			st.DefaultTimeoutMinutes, seenDefault = n, true
		case len(b) == 1:
			n, e := strconv.Atoi(b[0])
			if e != nil || n < 0 {
				return st, bad(l)
			}
			st.Unlimited += n
			st.Active += n
		case len(b) == 2:
			n, e := strconv.Atoi(b[1])
			if e != nil || n < 0 {
				return st, bad(l)
			}
			if strings.HasPrefix(b[0], ">") && !strings.HasPrefix(b[0], ">=") {
				st.Expired += n
				continue
			}
			st.Buckets = append(st.Buckets, SessionBucket{Idle: b[0], Count: n})
			st.Active += n
		default:
			return st, bad(l)
		}
	}
	return st, nil
}

// parseServerInfo takes the six bracketed values in Tomcat's fixed order.
func parseServerInfo(body string) (ServerInfo, *Error) {
	lines, err := result(body)
	if err != nil {
		return ServerInfo{}, err
	}
	var v []string
	for _, l := range lines {
		if b := brackets(l); len(b) == 1 {
			v = append(v, b[0])
		}
	}
	if len(v) < 6 {
		return ServerInfo{}, &Error{Message: fmt.Sprintf("serverinfo has %d values, want 6", len(v)), Kind: ErrProtocol}
	}
	return ServerInfo{TomcatVersion: v[0], OSName: v[1], OSVersion: v[2], OSArch: v[3], JVMVersion: v[4], JVMVendor: v[5]}, nil
}
