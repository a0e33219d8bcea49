package config

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/saitodrom/zdd/internal/redact"
)

// RedactedText replaces a secret that is set in every printed form (redact.Text, the one
// marker of every redaction).
const RedactedText = redact.Text

// Secret is a password. Every printed form (String, GoString, YAML, JSON) is redacted: a set
// secret prints as RedactedText and an empty one as "". Reveal returns the value.
type Secret string

// Reveal returns the secret's value, for the one place that sends it to a server.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

// Redacted returns RedactedText if the secret is set, and "" otherwise.
func (s Secret) Redacted() string {
	if s == "" {
		return ""
	}
	return RedactedText
}

// String returns the redacted form.
func (s Secret) String() string { return s.Redacted() }

// GoString returns the redacted form, quoted, so %#v never shows the value.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.Redacted()) }

// MarshalYAML returns the redacted form.
func (s Secret) MarshalYAML() (any, error) { return s.Redacted(), nil }

// MarshalJSON returns the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.Redacted()) }

// Redacted returns a copy of c whose secrets hold RedactedText (or stay empty when unset) and
// whose DSN carries no password, safe to print or log in any form.
func (c Config) Redacted() Config {
	r := c
	r.Tomcat.Password = Secret(c.Tomcat.Password.Redacted())
	r.Database.Password = Secret(c.Database.Password.Redacted())
	r.Database.DSN = redactDSN(c.Database.DSN)
	r.Nodes = append([]Node(nil), c.Nodes...)
	r.LB.Hosts = append([]LBHost(nil), c.LB.Hosts...)
	if c.Database.HAProxy.Servers != nil {
		r.Database.HAProxy.Servers = make(map[string]int, len(c.Database.HAProxy.Servers))
		for k, v := range c.Database.HAProxy.Servers {
			r.Database.HAProxy.Servers[k] = v
		}
	}
	return r
}

// redactDSN removes a password from dsn. A DSN that does not parse is kept up to the last '@'
// replaced by RedactedText, since its password cannot be located.
func redactDSN(dsn string) string {
	if dsn == "" {
		return ""
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		if i := strings.LastIndex(dsn, "@"); i >= 0 {
			return RedactedText + dsn[i:]
		}
		return dsn
	}
	if cfg.Passwd == "" {
		return dsn
	}
	cfg.Passwd = RedactedText
	return cfg.FormatDSN()
}

// ReadSecretFiles reads tomcat.password_file and database.password_file into the passwords
// that are still empty. A password already set (from the file or ZDD_* variable) wins and the
// file is not read. Each file that cannot be read, or is empty, is a Problem. The paths are
// read as they are: "~/" was expanded when the configuration was loaded (see Paths).
func (c *Config) ReadSecretFiles() []Problem {
	var problems []Problem
	read := func(key string, file string, dst *Secret) {
		if file == "" || dst.IsSet() {
			return
		}
		data, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, Problem{Key: key + "_file",
				Message: fmt.Sprintf("cannot read %s: %v", file, unwrapPathError(err)),
				Hint:    fmt.Sprintf("fix the path, or set %s instead", EnvVar(key))})
			return
		}
		line, _, _ := strings.Cut(string(data), "\n")
		line = strings.TrimRight(line, "\r")
		if line == "" {
			problems = append(problems, Problem{Key: key + "_file",
				Message: fmt.Sprintf("%s is empty", file),
				Hint:    "write the password on the file's first line"})
			return
		}
		*dst = Secret(line)
	}
	read("tomcat.password", c.Tomcat.PasswordFile, &c.Tomcat.Password)
	if c.Database.DSN != "" {
		read("database.password", c.Database.PasswordFile, &c.Database.Password)
	}
	return problems
}

// unwrapPathError drops the path from err, which the caller already names.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
