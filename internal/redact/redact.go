// Package redact removes credentials from text zdd prints, logs or writes to its state
// directory: the user information of URLs (a --watch URL may carry user:password@) and the
// values of settings whose names say they are secrets. It is the one implementation that the
// command line, the load generator and the Manager client use.
package redact

import (
	"net/url"
	"strings"
)

// Text replaces a removed secret.
const Text = "<redacted>"

// URL removes the user information (user name and password) from s when s looks like a URL
// (it has "://"); other strings are returned unchanged. The user information is found by
// net/url, so a password holding '@' or ':' is removed whole. When net/url finds none but an
// '@' follows "://" (a URL that does not parse, or a password holding '/', '?' or '#' that
// net/url reads as a path), everything up to the last '@' is replaced by Text: a message
// loses a little too much rather than a password.
func URL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	if u, err := url.Parse(s); err == nil && u.User != nil {
		u.User = nil
		return u.String()
	}
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		return scheme + "://" + Text + "@" + rest[i+1:]
	}
	return s
}

// SecretName reports whether a flag or configuration key names a secret: it contains
// "password", "passwd", "dsn", "secret" or "token", in any case.
func SecretName(name string) bool {
	k := strings.ToLower(name)
	for _, w := range []string{"password", "passwd", "dsn", "secret", "token"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Secrets replaces every occurrence of each non-empty secret in s by Text.
func Secrets(s string, secrets ...string) string {
	for _, v := range secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, Text)
		}
	}
	return s
}
