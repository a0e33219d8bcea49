package tomcatmgr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedTestdata adds every captured answer as a fuzz seed.
func seedTestdata(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
}

// okFirst reports whether the body's first line is an OK line, the only way to succeed.
func okFirst(body string) bool {
	l := firstLine(body)
	return strings.HasPrefix(l, "OK - ") || l == "OK"
}

func FuzzParseList(f *testing.F) {
	seedTestdata(f)
	f.Fuzz(func(t *testing.T, body string) {
		apps, need, err := parseList(body)
		if err != nil {
			if err.Kind == nil {
				t.Fatal("error without class")
			}
			return
		}
		if !okFirst(body) {
			t.Fatalf("success without an OK first line: %q", firstLine(body))
		}
		for _, a := range apps {
			if !strings.HasPrefix(a.Path, "/") || a.Sessions < 0 {
				t.Fatalf("bad app %+v", a)
			}
		}
		for _, i := range need {
			if i < 0 || i >= len(apps) || apps[i].Version != "" {
				t.Fatalf("bad needJMX index %d", i)
			}
		}
	})
}

func FuzzParseSessions(f *testing.F) {
	seedTestdata(f)
	f.Fuzz(func(t *testing.T, body string) {
		st, err := parseSessions(body)
		if err != nil {
			return
		}
		if !okFirst(body) {
			t.Fatalf("success without an OK first line: %q", firstLine(body))
		}
		sum := st.Unlimited
		for _, b := range st.Buckets {
			if b.Count < 0 {
				t.Fatalf("negative bucket %+v", b)
			}
			sum += b.Count
		}
		if sum != st.Active || st.Expired < 0 {
			t.Fatalf("inconsistent stats %+v", st)
		}
	})
}

func FuzzParseJMX(f *testing.F) {
	seedTestdata(f)
	f.Fuzz(func(t *testing.T, body string) {
		beans, err := parseQuery(body)
		if err == nil {
			if !okFirst(body) {
				t.Fatalf("success without an OK first line: %q", firstLine(body))
			}
			for _, b := range beans {
				if b.Attrs == nil || b.Arrays == nil {
					t.Fatal("bean without maps")
				}
			}
		}
		if _, err := parseGet(body, "className"); err == nil && !okFirst(body) {
			t.Fatal("get succeeded without OK")
		}
		if _, err := parseInvoke(body); err == nil && !okFirst(body) {
			t.Fatal("invoke succeeded without OK")
		}
		if _, err := parseServerInfo(body); err == nil && !okFirst(body) {
			t.Fatal("serverinfo succeeded without OK")
		}
		for _, l := range splitLines(body) {
			if m, ok := parseMember(l); ok && (m.Port <= 0 || m.Port > 65535 || m.Host == "") {
				t.Fatalf("bad member %+v", m)
			}
		}
	})
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"/app##002", "app##002.war", "ROOT##1", "/", "a#b##c", "/a/../b", "##", "/##x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseName(s)
		if err != nil {
			return
		}
		if c.Validate() != nil {
			t.Fatalf("ParseName(%q) returned invalid %+v", s, c)
		}
		back, err := ParseName(c.Name())
		if err != nil || back != c {
			t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", s, c, c.Name(), back, err)
		}
		back, err = ParseName(c.BaseName())
		if err != nil || back != c {
			t.Fatalf("base round trip of %q: %+v -> %q -> %+v, %v", s, c, c.BaseName(), back, err)
		}
	})
}
