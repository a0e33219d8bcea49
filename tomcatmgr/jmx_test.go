package tomcatmgr

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueryManagerBean(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/", "jmx_qry_manager_002.txt")
	c := rp.client()
	cx := Context{Path: "/app", Version: "002"}
	m, err := c.SessionManager(context.Background(), cx)
	require.NoError(t, err)
	assert.Equal(t, SessionManager{ClassName: "org.apache.catalina.ha.session.DeltaManager", Clustered: true, StateName: "STARTED",
		ActiveSessions: 3, NoContextManagerReceived: true}, m)
	r := rp.requests()[0]
	assert.Equal(t, "Catalina:type=Manager,host=localhost,context=/app##002", r.URL.Query().Get("qry"))
	assert.Contains(t, r.URL.RawQuery, "%2Fapp%23%23002", "'#' must be sent as %23")

	beans, err := c.Query(context.Background(), c.ManagerBean(cx))
	require.NoError(t, err)
	require.Len(t, beans, 1)
	b := beans[0]
	assert.Equal(t, "Catalina:type=Manager,host=localhost,context=/app##002", b.Name)
	assert.Len(t, b.Attrs, 50, "every attribute line, CR stripped")
	v, ok := b.Attr("modelerType")
	assert.True(t, ok)
	assert.Equal(t, "org.apache.tomcat.util.modeler.BaseModelMBean", v)
	assert.Equal(t, "localhost#/app##002", b.Attrs["name"])
	assert.Equal(t, "Array[java.lang.String] of length 0", b.Attrs["invalidatedSessions"])
	for k, v := range b.Attrs {
		assert.NotContains(t, k+v, "\r")
	}
}

func TestQueryEmptyAndWebModules(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/", "jmx_qry_empty.txt")
	beans, err := rp.client().Query(context.Background(), "Catalina:type=Nothing,*")
	require.NoError(t, err)
	assert.Empty(t, beans)

	beans2, e := parseQuery(string(readTestdata(t, "jmx_qry_webmodule_002.txt")))
	require.Nil(t, e)
	require.Len(t, beans2, 1)
	assert.Equal(t, "002", beans2[0].Attrs["webappVersion"])
	assert.Equal(t, "true", beans2[0].Attrs["distributable"])
	assert.Equal(t, []string{
		"Catalina:j2eeType=Servlet,WebModule=//localhost/app##002,name=default,J2EEApplication=none,J2EEServer=none",
		"Catalina:j2eeType=Servlet,WebModule=//localhost/app##002,name=jsp,J2EEApplication=none,J2EEServer=none",
	}, beans2[0].Arrays["children"])
}

func TestSessionManagerNotDeployed(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/", "jmx_qry_empty.txt")
	_, err := rp.client().SessionManager(context.Background(), Context{Path: "/app", Version: "009"})
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestClusterMembers(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/", "jmx_qry_channel.txt")
	ms, err := rp.client().ClusterMembers(context.Background())
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, "127.0.0.1:14102", ms[0].Addr())
	assert.Contains(t, ms[0].Raw, "StaticMember[tcp://{127, 0, 0, 1}:14102")
	assert.Equal(t, "ClusterChannel:type=Channel,component=Channel,*", rp.requests()[0].URL.Query().Get("qry"))

	rp2 := newReplay(t)
	rp2.file("GET /manager/jmxproxy/", "jmx_qry_empty.txt")
	_, err = rp2.client().ClusterMembers(context.Background())
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestParseMember(t *testing.T) {
	for raw, want := range map[string]string{
		"org.apache.catalina.tribes.membership.StaticMember[tcp://{127, 0, 0, 1}:14102,{127, 0, 0, 1},14102, alive=1]": "127.0.0.1:14102",
		"MemberImpl[tcp://{-64, -88, 0, 7}:4000,{-64, -88, 0, 7},4000, alive=5]":                                       "192.168.0.7:4000",
		"MemberImpl[tcp://node-a:4001,node-a,4001, alive=5]":                                                           "node-a:4001",
	} {
		m, ok := parseMember(raw)
		require.True(t, ok, raw)
		assert.Equal(t, want, m.Addr())
	}
	for _, raw := range []string{"", "tcp://", "tcp://{1, 2}:4", "tcp://{1,2,3,4}:x", "tcp://h:99999", "tcp://{1,2,3,999}:4"} {
		_, ok := parseMember(raw)
		assert.False(t, ok, raw)
	}
}

func TestHasSession(t *testing.T) {
	cx := Context{Path: "/app", Version: "002"}
	for file, want := range map[string]bool{
		"jmx_invoke_creationtime_s2.txt":      true,
		"jmx_invoke_creationtime_missing.txt": false,
	} {
		rp := newReplay(t)
		rp.file("GET /manager/jmxproxy/?getCreationTime", file)
		ok, err := rp.client().HasSession(context.Background(), cx, "27720968B63D5EFF81A5B425041A53C4.s1")
		require.NoError(t, err)
		assert.Equal(t, want, ok, file)
		q := rp.requests()[0].URL.Query()
		assert.Equal(t, "Catalina:type=Manager,host=localhost,context=/app##002", q.Get("invoke"))
		assert.Equal(t, "27720968B63D5EFF81A5B425041A53C4.s1", q.Get("ps"))
	}
	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/?getCreationTime", "jmx_get_nobean.txt")
	_, err := rp.client().HasSession(context.Background(), cx, "ABC.s1")
	assert.ErrorIs(t, err, ErrNotFound, "InstanceNotFoundException")
}

func TestGetAndInvoke(t *testing.T) {
	ctx := context.Background()
	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/?listSessionIds", "jmx_invoke_listsessionids_s2.txt")
	rp.file("GET /manager/jmxproxy/?getSessionAttribute", "jmx_invoke_attr_s2.txt")
	rp.file("GET /manager/jmxproxy/?noSuchOp", "jmx_invoke_noop.txt")
	rp.file("GET /manager/jmxproxy/?expireSession", "jmx_invoke_attr_missing.txt")
	c := rp.client()
	bean := "Catalina:type=Manager,host=localhost,context=/app##002"
	ids, err := c.Invoke(ctx, bean, "listSessionIds")
	require.NoError(t, err)
	assert.Equal(t, "C14251A388CE3A2B37BD09CBD2756025.s1 27720968B63D5EFF81A5B425041A53C4.s1 7C36BBEF371BA4AEC829CF09AEE652C3.s1 ", ids)
	v, err := c.Invoke(ctx, bean, "getSessionAttribute", "27720968B63D5EFF81A5B425041A53C4.s1", "count")
	require.NoError(t, err)
	assert.Equal(t, "2", v)
	assert.Equal(t, "27720968B63D5EFF81A5B425041A53C4.s1,count", rp.requests()[1].URL.Query().Get("ps"))
	_, err = c.Invoke(ctx, bean, "noSuchOp")
	assert.ErrorIs(t, err, ErrFailed)
	assert.ErrorContains(t, err, "Error - java.lang.IllegalArgumentException: Cannot find operation [noSuchOp]")
	assert.NotContains(t, err.Error(), "\tat ", "no stack trace in the error")
	require.NoError(t, c.ExpireSession(ctx, Context{Path: "/app", Version: "002"}, "ABC.s1"))
	assert.Len(t, rp.requests(), 4, "operations are not retried")
}

func TestGet(t *testing.T) {
	for file, want := range map[string]string{
		"jmx_get_classname.txt":          "org.apache.catalina.ha.session.DeltaManager",
		"jmx_get_classname_standard.txt": "org.apache.catalina.session.StandardManager",
		"jmx_get_webappversion.txt":      "002",
	} {
		rp := newReplay(t)
		rp.file("GET /manager/jmxproxy/", file)
		attr := "className"
		if want == "002" {
			attr = "webappVersion"
		}
		v, err := rp.client().Get(context.Background(), "Catalina:x=y", attr)
		require.NoError(t, err)
		assert.Equal(t, want, v)
		assert.Equal(t, attr, rp.requests()[0].URL.Query().Get("att"))
	}
	assert.False(t, IsClusteredManager("org.apache.catalina.session.StandardManager"))
	assert.True(t, IsClusteredManager("org.apache.catalina.ha.session.BackupManager"))

	rp := newReplay(t)
	rp.file("GET /manager/jmxproxy/", "jmx_get_nobean.txt")
	_, err := rp.client().Get(context.Background(), "Catalina:type=Manager,host=localhost,context=/nope", "className")
	assert.ErrorIs(t, err, ErrNotFound)

	rp = newReplay(t)
	rp.page("GET /manager/jmxproxy/", "http403.html", http.StatusForbidden)
	_, err = rp.client().Get(context.Background(), "a:b=c", "x")
	assert.ErrorIs(t, err, ErrForbidden)
	assert.Contains(t, err.Error(), "manager-jmx")
}
