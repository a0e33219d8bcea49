package tomcatmgr

import (
	"fmt"
	"path"
	"strings"
)

// maxVersionLen bounds a version so that file names stay short.
const maxVersionLen = 64

// Context names one deployed web application: a context path and a parallel-deployment version.
type Context struct {
	// Path is the context path with a leading slash, "/app". ROOT is "/".
	Path string
	// Version is the parallel-deployment version, "002", or empty for an unversioned context.
	Version string
}

// Name returns Tomcat's display name of the context, "/app##002" ("/##002" for a versioned
// ROOT, "/app" without a version). It is the name in Manager messages and in the
// context= key of the session manager's MBean.
func (c Context) Name() string {
	root := c.Path == "/" || c.Path == ""
	switch {
	case c.Version == "" && root:
		return "/"
	case c.Version == "":
		return c.Path
	case root:
		return "/##" + c.Version
	}
	return c.Path + "##" + c.Version
}

// BaseName returns the file base name Tomcat uses in appBase: "app##002", "ROOT##002",
// "a#b##002" for path "/a/b".
func (c Context) BaseName() string {
	var b strings.Builder
	if c.Path == "/" || c.Path == "" {
		b.WriteString("ROOT")
	} else {
		b.WriteString(strings.ReplaceAll(strings.TrimPrefix(c.Path, "/"), "/", "#"))
	}
	if c.Version != "" {
		b.WriteString("##")
		b.WriteString(c.Version)
	}
	return b.String()
}

// String returns Name.
func (c Context) String() string { return c.Name() }

// Validate checks Path with ValidatePath and, when set, Version with ValidateVersion.
func (c Context) Validate() error {
	if err := ValidatePath(c.Path); err != nil {
		return err
	}
	if c.Version == "" {
		return nil
	}
	return ValidateVersion(c.Version)
}

// ValidatePath checks a context path: "/" (ROOT) or one or more "/segment" parts made of ASCII
// letters, digits, '.', '_', '-' and '~', with no "..", "#", ":", spaces or control characters.
// The error wraps ErrInvalid and names the rule that was broken.
func ValidatePath(p string) error {
	bad := func(rule string) error {
		return &Error{Op: "validate", Context: fmt.Sprintf("%q", p), Message: "context path " + rule, Kind: ErrInvalid}
	}
	switch {
	case p == "/":
		return nil
	case p == "":
		return bad("is empty (use \"/\" for ROOT)")
	case p[0] != '/':
		return bad("must start with '/'")
	case strings.HasSuffix(p, "/"):
		return bad("must not end with '/'")
	case strings.Contains(p, "//"):
		return bad("must not contain an empty segment \"//\"")
	case strings.EqualFold(p, "/ROOT"):
		return bad("must be \"/\" for ROOT, not \"/ROOT\"")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return bad("must not contain a \".\" or \"..\" segment")
		}
	}
	return checkChars(p[1:], "/", bad)
}

// ValidateVersion checks a parallel-deployment version: 1 to 64 ASCII letters, digits, '.',
// '_' or '-', not "." or "..". ASCII-only keeps Go's byte order equal to Tomcat's String order.
// The error wraps ErrInvalid and names the rule that was broken.
func ValidateVersion(v string) error {
	bad := func(rule string) error {
		return &Error{Op: "validate", Context: fmt.Sprintf("%q", v), Message: "version " + rule, Kind: ErrInvalid}
	}
	switch {
	case v == "":
		return bad("is empty")
	case len(v) > maxVersionLen:
		return bad(fmt.Sprintf("is longer than %d characters", maxVersionLen))
	case strings.Contains(v, ".."):
		return bad("must not contain \"..\"")
	}
	return checkChars(v, "", bad)
}

// checkChars refuses any byte outside [A-Za-z0-9._~-] and the extra allowed bytes, naming it.
func checkChars(s, extra string, bad func(string) error) error {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
			continue
		case ch == '.' || ch == '_' || ch == '-' || ch == '~':
			continue
		case strings.IndexByte(extra, ch) >= 0:
			continue
		case ch == '#':
			return bad("must not contain '#' (it separates path and version)")
		case ch == '/':
			return bad("must not contain '/'")
		case ch == ' ':
			return bad("must not contain spaces")
		case ch < 0x20 || ch == 0x7f:
			return bad(fmt.Sprintf("must not contain control character %#02x", ch))
		case ch >= 0x80:
			return bad("must be ASCII (Tomcat orders by UTF-16 code unit, Go by byte)")
		default:
			return bad(fmt.Sprintf("must not contain %q (allowed: letters, digits, '.', '_', '-', '~')", ch))
		}
	}
	return nil
}

// ParseName parses a context name as Tomcat writes it: a display name "/app##002", a base name
// "app##002" or "a#b##002", a file name "app##002.war", "ROOT##002" or "/". The result is
// validated.
func ParseName(name string) (Context, error) {
	var c Context
	n := strings.TrimSuffix(name, ".war")
	if strings.HasPrefix(n, "/") {
		c.Path, c.Version, _ = strings.Cut(n, "##")
		if c.Path == "" {
			c.Path = "/"
		}
	} else {
		base, ver, _ := strings.Cut(n, "##")
		c.Version = ver
		if base == "ROOT" || base == "" {
			c.Path = "/"
		} else {
			c.Path = "/" + strings.ReplaceAll(base, "#", "/")
		}
	}
	if strings.Contains(name, "##") && c.Version == "" {
		return Context{}, &Error{Op: "validate", Context: fmt.Sprintf("%q", name), Message: "version is empty", Kind: ErrInvalid}
	}
	if err := c.Validate(); err != nil {
		return Context{}, err
	}
	return c, nil
}

// versionFromDocBase derives the version from a docBase relative to appBase ("app##002",
// "app##002.war"), checking that it names the given context path. ok is false for absolute
// docBases and for names that do not match: the caller must ask JMX.
func versionFromDocBase(ctxPath, docBase string) (string, bool) {
	if docBase == "" || strings.HasPrefix(docBase, "/") || strings.ContainsAny(docBase, `\:`) {
		return "", false
	}
	c, err := ParseName(path.Base(docBase))
	if err != nil || c.Path != ctxPath {
		return "", false
	}
	return c.Version, true
}

// CompareVersions orders two versions of the same context path as Tomcat does: plain string
// comparison, so "10" < "9" and "" (no version) sorts first. It returns -1, 0 or +1. For the
// ASCII versions ValidateVersion accepts, Go's byte order equals Java's String.compareTo.
func CompareVersions(a, b string) int { return strings.Compare(a, b) }

// IsNewest reports whether proposed would become the newest version among existing, i.e. it
// sorts strictly after every one of them (a version equal to an existing one is not newer).
func IsNewest(proposed string, existing []string) bool {
	for _, e := range existing {
		if CompareVersions(proposed, e) <= 0 {
			return false
		}
	}
	return true
}
