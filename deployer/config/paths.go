package config

import (
	"fmt"
	"strings"
)

// PathField is one configuration key that names a file or directory on the machine running
// zdd, with a pointer to its value in a Config.
type PathField struct {
	// Key is the dotted key, e.g. "ssh.known_hosts".
	Key string
	// Value points at the key's value in the Config that Paths was called on.
	Value *string
}

// Paths returns every key of c that names a local file or directory: the password files,
// tomcat.ca_file, ssh.identity_file, ssh.known_hosts, migrations.dir and state.dir. The
// command that loads the configuration expands a leading "~/" in each of them, once; this
// package never does (it does not read the environment). The lb.hosts paths are not listed:
// they are on the load balancer's host and must be absolute.
func (c *Config) Paths() []PathField {
	return []PathField{
		{"tomcat.password_file", &c.Tomcat.PasswordFile},
		{"tomcat.ca_file", &c.Tomcat.CAFile},
		{"ssh.identity_file", &c.SSH.IdentityFile},
		{"ssh.known_hosts", &c.SSH.KnownHosts},
		{"database.password_file", &c.Database.PasswordFile},
		{"migrations.dir", &c.Migrations.Dir},
		{"state.dir", &c.State.Dir},
	}
}

// OtherUsersHome reports whether path starts with "~user" ("~bob/.ssh/id_ed25519"): another
// user's home directory, which zdd does not expand. "~" and "~/..." are not (they are the
// current user's home, expanded when the configuration is loaded).
func OtherUsersHome(path string) bool {
	return strings.HasPrefix(path, "~") && path != "~" && !strings.HasPrefix(path, "~/")
}

// validatePaths refuses a path key that names another user's home directory.
func (c *Config) validatePaths(v *validator) {
	for _, p := range c.Paths() {
		if OtherUsersHome(*p.Value) {
			user, _, _ := strings.Cut(strings.TrimPrefix(*p.Value, "~"), "/")
			v.add(p.Key, fmt.Sprintf("write the absolute path (e.g. /home/%s/...), or ~/ for your own home directory", user),
				"%q names another user's home directory (~%s/), which zdd does not expand", *p.Value, user)
		}
	}
}
