package redact

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestURL(t *testing.T) {
	cases := map[string]string{
		"https://shop.example.com/app/":               "https://shop.example.com/app/",
		"https://alice:hunter2@shop.example.com/app/": "https://shop.example.com/app/",
		"https://alice@shop.example.com/app/?x=1":     "https://shop.example.com/app/?x=1",
		"http://bob:p%40ss@127.0.0.1:8080/":           "http://127.0.0.1:8080/",
		"http://bob:p@ss@127.0.0.1:8080/app/":         "http://127.0.0.1:8080/app/",
		"http://bob:a@b@c@127.0.0.1:8080/":            "http://127.0.0.1:8080/",
		"http://bob:pa/ss@127.0.0.1:8080/app/":        "http://<redacted>@127.0.0.1:8080/app/",
		"http://bob:pa?ss@127.0.0.1/":                 "http://<redacted>@127.0.0.1/",
		"http://bob:pa#ss@127.0.0.1/":                 "http://<redacted>@127.0.0.1/",
		"http://bob:pa%zz@127.0.0.1/":                 "http://<redacted>@127.0.0.1/",
		"not a url":                                   "not a url",
		"app.war":                                     "app.war",
		"user@host":                                   "user@host",
		"":                                            "",
		"http://bob:p%20w@[::1]:8080/x":               "http://[::1]:8080/x",
	}
	for in, want := range cases {
		got := URL(in)
		assert.Equal(t, want, got, in)
		for _, secret := range []string{"hunter2", "p@ss", "p%40ss", "pa/ss", "pa?ss", "pa#ss", "a@b@c", "pa%zz", "bob", "alice"} {
			if strings.Contains(in, secret) {
				assert.NotContains(t, got, secret, in)
			}
		}
	}
}

func TestSecretName(t *testing.T) {
	for _, k := range []string{"tomcat.password", "database.password_file", "database.dsn", "DB_PASSWD", "api-token", "client_secret"} {
		assert.True(t, SecretName(k), k)
	}
	for _, k := range []string{"strategy.canary_size", "watch", "version", "set", ""} {
		assert.False(t, SecretName(k), k)
	}
}

func TestSecrets(t *testing.T) {
	assert.Equal(t, "a <redacted> b <redacted>", Secrets("a pw1 b pw2", "pw1", "", "pw2"))
}
