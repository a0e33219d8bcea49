package releasecmd

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/saitodrom/zdd/deployer"
)

func waitingEvent(now time.Time, waited time.Duration, left time.Duration) deployer.Event {
	d := now.Add(left)
	return deployer.Event{Schema: 1, Time: now, Type: deployer.EventWaiting, Step: 3, Kind: "deploy",
		Message: "deploy of /app##002 on n1", Waited: waited.Seconds(), Deadline: &d}
}

func TestWaitingEventsArePrinted(t *testing.T) {
	now := time.Date(2026, 12, 1, 20, 30, 0, 0, time.UTC)
	var text bytes.Buffer
	sink := deployer.TextSink(&text)
	sink.Emit(waitingEvent(now, 4*time.Second, 116*time.Second))
	sink.Emit(waitingEvent(now.Add(4*time.Second), 8*time.Second, 112*time.Second))
	assert.Equal(t, 2, bytes.Count(text.Bytes(), []byte("\n")), "waiting lines are not throttled like progress: %s", text.String())
	assert.Contains(t, text.String(), "[3 deploy] waiting for deploy of /app##002 on n1: 4s so far, until 20:31:56 (1m56s left)")

	var term bytes.Buffer
	bars := newBarSink(&term)
	bars.Emit(waitingEvent(now, 4*time.Second, 16*time.Second))
	bars.Emit(waitingEvent(now.Add(4*time.Second), 8*time.Second, 12*time.Second))
	bars.close()
	assert.Contains(t, term.String(), "waiting for deploy of /app##002 on n1")
	assert.Contains(t, term.String(), "(4/20)", "a bar of the seconds waited out of the wait's bound")
}
