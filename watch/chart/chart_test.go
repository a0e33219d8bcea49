package chart

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/watch"
)

// recorded reads a release recorded on testenv: the report of `zdd testenv load --users 6
// -o json` (testdata/load-report.json) and the events of the `zdd deploy app-003.war -o json`
// it ran beside (testdata/release-events.jsonl), 001 and 002 running before.
func recorded(t testing.TB) (*watch.Report, []deployer.Event) {
	b, err := os.ReadFile("testdata/load-report.json")
	require.NoError(t, err)
	var r watch.Report
	require.NoError(t, json.Unmarshal(b, &r))
	f, err := os.Open("testdata/release-events.jsonl")
	require.NoError(t, err)
	defer f.Close()
	events, err := ReadEvents(f)
	require.NoError(t, err)
	return &r, events
}

// svg is a parsed chart: its root's attributes, the style of its first drawing, and the
// content of its text elements.
type svg struct {
	width, height string
	firstStyle    string
	texts         []string
}

func parseSVG(t *testing.T, b []byte) svg {
	var out svg
	d := xml.NewDecoder(bytes.NewReader(b))
	in := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err, "the chart is well-formed XML")
		switch tk := tok.(type) {
		case xml.StartElement:
			in = tk.Name.Local == "text"
			for _, a := range tk.Attr {
				switch {
				case tk.Name.Local == "svg" && a.Name.Local == "width":
					out.width = a.Value
				case tk.Name.Local == "svg" && a.Name.Local == "height":
					out.height = a.Value
				case tk.Name.Local == "path" && a.Name.Local == "style" && out.firstStyle == "":
					out.firstStyle = a.Value
				}
			}
		case xml.EndElement:
			in = false
		case xml.CharData:
			if in {
				out.texts = append(out.texts, strings.TrimSpace(string(tk)))
			}
		}
	}
}

// TestRenderRecordedRelease renders the recorded release and checks that the SVG parses and
// holds every series (legend entries), every lane of the release's steps, the axes' units and
// an opaque white background.
func TestRenderRecordedRelease(t *testing.T) {
	r, events := recorded(t)
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, FromReport("recorded release", r, events)))
	doc := parseSVG(t, buf.Bytes())
	assert.Equal(t, "900pt", doc.width)
	assert.Equal(t, "760pt", doc.height)
	assert.Contains(t, strings.ReplaceAll(doc.firstStyle, " ", ""), "fill:#FFFFFF", "an opaque white background first")
	vs := versions(r.Timeline)
	require.GreaterOrEqual(t, len(vs), 2, "the recording has sessions on the old and the new version")
	want := []string{"recorded release", "requests", "failed requests", "lost sessions",
		"requests / s", "new sessions / s", "per second", "time since the load started (s)",
		"preflight", "route", "deploy", "gate", "drain", "release (shaded)"}
	for _, v := range vs {
		want = append(want, "new sessions on "+v, "existing sessions on "+v)
	}
	for _, w := range want {
		assert.Contains(t, doc.texts, w)
	}
	assert.Contains(t, strings.Join(doc.texts, "\n"), thousands(r.Requests)+" requests", "the totals line")
	assert.Contains(t, buf.String(), "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")
}

func TestBands(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	ev := []deployer.Event{
		{Type: deployer.EventReleaseStarted, Time: at(0)},
		{Type: deployer.EventStepStarted, Step: 1, Kind: "route", Time: at(1)},
		{Type: deployer.EventGate, Step: 1, Kind: "readmit", Node: "n3", Time: at(1.5)},
		{Type: deployer.EventStepFinished, Step: 1, Kind: "route", Time: at(2)},
		{Type: deployer.EventStepStarted, Step: 2, Kind: "deploy", Time: at(2)},
		{Type: deployer.EventProgress, Step: 2, Kind: "deploy", Node: "n1", Time: at(2.1)},
		{Type: deployer.EventProgress, Step: 2, Kind: "deploy", Node: "n1", Time: at(2.2)},
		{Type: deployer.EventProgress, Step: 2, Kind: "deploy", Node: "n2", Time: at(3)},
		{Type: deployer.EventStepFailed, Step: 2, Kind: "deploy", Time: at(4)},
		{Type: deployer.EventRollbackStarted, Time: at(4)},
		{Type: deployer.EventStepStarted, Kind: "rollback route", Time: at(4)},
		{Type: deployer.EventStepFinished, Kind: "rollback route", Time: at(5)},
		{Type: deployer.EventStepStarted, Kind: "rollback undeploy", Time: at(5)},
	}
	assert.Equal(t, []Band{
		{Kind: "route", Label: "1 n3", Start: at(1), End: at(2)},
		{Kind: "deploy", Label: "2 n1,n2", Start: at(2), End: at(4), Failed: true},
		{Kind: "rollback", Label: "route", Start: at(4), End: at(5)},
		{Kind: "rollback", Label: "undeploy", Start: at(5)},
	}, Bands(ev))
	assert.Equal(t, []string{"route", "deploy", "rollback"}, lanes(Bands(ev)))
	assert.Empty(t, Bands(nil))
}

func TestReadEventsRefusesWhatIsNotAnEvent(t *testing.T) {
	ev, err := ReadEvents(strings.NewReader("\n" + `{"schema":1,"time":"2026-12-02T10:00:00Z","type":"step_started","step":1,"kind":"route"}` + "\n\n"))
	require.NoError(t, err)
	require.Len(t, ev, 1)
	assert.Equal(t, "route", ev[0].Kind)
	for _, bad := range []string{"success: app 001 -> 002 in 3s (exit 0)\n", `{"time":"2026-12-02T10:00:00Z"}` + "\n"} {
		_, err := ReadEvents(strings.NewReader(`{"schema":1,"time":"2026-12-02T10:00:00Z","type":"gate"}` + "\n" + bad))
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "line 2")
	}
}

func TestCheckWritableChangesNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	require.NoError(t, CheckWritable(filepath.Join(dir, "c.svg")))
	require.NoError(t, CheckWritable(file), "an existing file is replaced")
	for bad, why := range map[string]string{
		filepath.Join(dir, "missing", "c.svg"): "create the directory first",
		dir:                                    "is a directory",
		filepath.Join(file, "c.svg"):           "not a directory",
		"":                                     "no file named",
	} {
		err := CheckWritable(bad)
		if assert.Error(t, err, bad) {
			assert.Contains(t, err.Error(), why)
		}
	}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "no file left behind")
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "x", string(b), "the existing file is unchanged")
}

func TestWriteFileReplacesWhole(t *testing.T) {
	r, events := recorded(t)
	path := filepath.Join(t.TempDir(), "c.svg")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
	require.NoError(t, WriteFile(path, FromReport("c", r, events)))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), st.Mode().Perm())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	parseSVG(t, b)
	ents, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, ents, 1, "no temporary file left")
	assert.Error(t, WriteFile(filepath.Join(path, "x.svg"), FromReport("c", r, events)))
}

func TestRenderEmpty(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, Input{Title: "nothing recorded"}))
	doc := parseSVG(t, buf.Bytes())
	assert.Contains(t, doc.texts, "no step recorded")
	assert.Contains(t, doc.texts, "requests")
}

// BenchmarkRender10Minutes renders a 10-minute release (600 seconds, two versions, ten steps,
// a failure and a mark): issue 16 asks for under a second.
func BenchmarkRender10Minutes(b *testing.B) {
	in, _ := synthetic(600)
	b.ReportAllocs()
	for b.Loop() {
		if err := Render(io.Discard, in); err != nil {
			b.Fatal(err)
		}
	}
}
