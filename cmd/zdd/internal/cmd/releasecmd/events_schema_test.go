package releasecmd

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
)

// jsonFields lists "Type.field" for every JSON field of t.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, t.Name()+"."+name)
		}
	}
	return out
}

// TestEventSchemaIsVersioned fails when a field of Event or Summary is removed or renamed
// without a new EventSchema (and a new golden file), and when a field is added without being
// listed and documented.
func TestEventSchemaIsVersioned(t *testing.T) {
	got := append(jsonFields(reflect.TypeOf(deployer.Event{})), jsonFields(reflect.TypeOf(deployer.Summary{}))...)
	golden := filepath.Join("testdata", fmt.Sprintf("event-fields-v%d.txt", deployer.EventSchema))
	b, err := os.ReadFile(golden)
	require.NoError(t, err, "EventSchema is %d: write %s with the fields of that schema", deployer.EventSchema, golden)
	want := strings.Fields(string(b))
	for _, f := range want {
		assert.Contains(t, got, f, "field %s of schema %d was removed or renamed: bump deployer.EventSchema and write a new golden file and docs/events.md", f, deployer.EventSchema)
	}
	for _, f := range got {
		assert.Contains(t, want, f, "new field %s: add it to %s and document it in docs/events.md", f, golden)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "..", "docs", "events.md"))
	require.NoError(t, err)
	assert.Contains(t, string(doc), fmt.Sprintf(`"schema": %d`, deployer.EventSchema))
	for _, f := range got {
		_, name, _ := strings.Cut(f, ".")
		assert.Contains(t, string(doc), "| `"+name+"`", "docs/events.md documents %s", f)
	}
	for _, typ := range []string{deployer.EventReleaseStarted, deployer.EventStepStarted, deployer.EventStepFinished,
		deployer.EventStepFailed, deployer.EventProgress, deployer.EventGate, deployer.EventWarning, deployer.EventWaiting,
		deployer.EventRollbackStarted, deployer.EventSummary} {
		assert.Contains(t, string(doc), "| `"+typ+"`", "docs/events.md documents the type %s", typ)
	}
}
