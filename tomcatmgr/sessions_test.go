package tomcatmgr

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSessionIDs(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/?listSessionIds", "jmx_invoke_listsessionids_s2.txt")
	ids, err := rp.client().SessionIDs(context.Background(), Context{Path: "/app", Version: "002"})
	require.NoError(t, err)
	assert.Equal(t, []string{"C14251A388CE3A2B37BD09CBD2756025.s1", "27720968B63D5EFF81A5B425041A53C4.s1", "7C36BBEF371BA4AEC829CF09AEE652C3.s1"}, ids)
	assert.Equal(t, "Catalina:type=Manager,host=localhost,context=/app##002", rp.requests()[0].URL.Query().Get("invoke"))

	rp = newReplay(t)
	rp.file("GET /manager/jmxproxy/?listSessionIds", "jmx_get_nobean.txt")
	_, err = rp.client().SessionIDs(context.Background(), Context{Path: "/app", Version: "009"})
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestLastAccessed(t *testing.T) {
	cx := Context{Path: "/app", Version: "002"}
	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/?getLastAccessedTime", "jmx_invoke_lastaccessed_s2.txt")
	at, found, err := rp.client().LastAccessed(context.Background(), cx, "27720968B63D5EFF81A5B425041A53C4.s1")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, time.Date(2026, 11, 25, 19, 31, 10, 0, time.UTC), at.UTC())
	assert.Equal(t, "27720968B63D5EFF81A5B425041A53C4.s1", rp.requests()[0].URL.Query().Get("ps"))

	rp = newReplay(t)
	rp.file("GET /manager/jmxproxy/?getLastAccessedTime", "jmx_invoke_lastaccessed_missing.txt")
	_, found, err = rp.client().LastAccessed(context.Background(), cx, "NOSUCH.n1")
	require.NoError(t, err)
	assert.False(t, found, "an unknown id prints an empty result")

	_, _, err = rp.client().LastAccessed(context.Background(), cx, "a,b")
	assert.ErrorIs(t, err, ErrInvalid, "ids are checked before they reach a URL")
}

func TestParseJavaDate(t *testing.T) {
	a, err := ParseJavaDate("Tue Dec 01 20:10:43 CET 2026")
	require.NoError(t, err)
	b, err := ParseJavaDate("Tue Dec 01 20:10:44 CET 2026")
	require.NoError(t, err)
	assert.Equal(t, time.Second, b.Sub(a), "times of one zone compare even if Go does not know it")
	_, err = ParseJavaDate("1700000000000")
	assert.Error(t, err)
}

func TestResyncSessions(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/?getAllClusterSessions", "jmx_invoke_getallclustersessions.txt")
	require.NoError(t, rp.client().ResyncSessions(context.Background(), Context{Path: "/app", Version: "001"}))
	assert.Equal(t, "Catalina:type=Manager,host=localhost,context=/app##001", rp.requests()[0].URL.Query().Get("invoke"))

	rp = newReplay(t)
	rp.file("GET /manager/jmxproxy/?getAllClusterSessions", "jmx_invoke_noop.txt")
	assert.ErrorIs(t, rp.client().ResyncSessions(context.Background(), Context{Path: "/app", Version: "001"}), ErrFailed)
	assert.Len(t, rp.requests(), 1, "not retried")
}
