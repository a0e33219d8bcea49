package nginx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/saitodrom/zdd/lb"
)

// FuzzParse checks that Parse never panics, that a parsed file renders back
// byte-identical, and that a rendered change parses again with the asked state.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			f.Add(b, uint16(3), true)
		}
	}
	f.Add([]byte("upstream a { server b; }"), uint16(1), false)
	f.Add([]byte("upstream a {\n server \"x y\" weight=2 down # c\n;}"), uint16(7), false)
	f.Fuzz(func(t *testing.T, src []byte, weight uint16, down bool) {
		p, err := Parse(src)
		if err != nil {
			return
		}
		if string(p.Bytes()) != string(src) {
			t.Fatal("Bytes differ from source")
		}
		same, err := p.Render(nil, nil)
		if err != nil || string(same) != string(src) {
			t.Fatalf("render without change: %v", err)
		}
		st, err := p.States(nil)
		if err != nil || len(st) == 0 {
			return
		}
		w := int(weight)%MaxWeight + 1
		change := map[string]lb.State{}
		for a := range st {
			change[a] = lb.State{Weight: w, Down: down}
		}
		out, err := p.Render(change, nil)
		if err != nil {
			t.Fatalf("render %v: %v", change, err)
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("rendered file does not parse: %v\n%s", err, out)
		}
		got, err := q.States(nil)
		if err != nil {
			t.Fatalf("rendered states: %v", err)
		}
		for a, want := range change {
			if got[a] != want {
				t.Fatalf("server %s rendered %v, want %v\n%s", a, got[a], want, out)
			}
		}
	})
}
