package testenvtest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/saitodrom/zdd/testenv"
)

// ManagerCall sends one command to node n's Manager text interface (raw HTTP, independent of
// the tomcatmgr package under test) and returns the answer.
func ManagerCall(t testing.TB, env *testenv.Env, n testenv.Node, method, cmd string, body []byte) string {
	t.Helper()
	req, err := http.NewRequest(method, n.ManagerURL+"/text/"+cmd, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(env.Manager.User, env.Manager.Password)
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("manager %s on %s: %v", cmd, n.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// DeploySample deploys the sample WAR as app##<opts.Version> on every node, one node at a
// time, and undeploys it when the test ends.
func DeploySample(t testing.TB, env *testenv.Env, opts testenv.WAROptions) {
	t.Helper()
	var war bytes.Buffer
	if err := testenv.BuildWAR(&war, opts); err != nil {
		t.Fatal(err)
	}
	q := "path=/" + env.App + "&version=" + opts.Version
	t.Cleanup(func() {
		for _, n := range env.Nodes {
			ManagerCall(t, env, n, http.MethodGet, "undeploy?"+q, nil)
		}
	})
	for _, n := range env.Nodes {
		// A version left by an earlier run (e.g. `make demo`) would make the deploy fail.
		ManagerCall(t, env, n, http.MethodGet, "undeploy?"+q, nil)
		if out := ManagerCall(t, env, n, http.MethodPut, "deploy?"+q, war.Bytes()); !strings.HasPrefix(out, "OK - ") {
			t.Fatalf("deploy %s on %s: %s", q, n.Name, out)
		}
	}
}
