package deployertest

import (
	"context"
	"os"
	"slices"
	"strings"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// Manager is one node's Tomcat Manager; it implements deployer.Manager as tomcatmgr.Client
// does on Tomcat 10.1 (deployertest/conformance checks both): a node the cluster does not
// have is unreachable (tomcatmgr.ErrUnreachable), an invalid context or WAR is refused before
// anything changes (ErrInvalid), a second deploy of a deployed context is refused
// (ErrAlreadyExists), a context the node does not have is ErrNotFound, and a call whose
// context has ended reports tomcatmgr.ErrTimeout (the outcome of a change is then unknown).
type Manager struct {
	c    *Cluster
	node string
}

// do runs op on the node (see Cluster.call) after the checks every call makes: cx valid (when
// given), the node known.
func (m *Manager) do(ctx context.Context, op Op, cx *tomcatmgr.Context, f func() error) error {
	if cx != nil {
		if err := cx.Validate(); err != nil {
			return err
		}
	}
	return m.c.call(ctx, op, m.node, managerTimeout(op, m.node, cx), func() error {
		if m.c.Apps[m.node] == nil {
			return m.errorf(op, cx, tomcatmgr.ErrUnreachable, "no such node in the fake cluster")
		}
		return f()
	})
}

// errorf returns a *tomcatmgr.Error of class kind for op on the node.
func (m *Manager) errorf(op Op, cx *tomcatmgr.Context, kind error, msg string) error {
	e := &tomcatmgr.Error{Op: string(op), Node: m.node, Message: msg, Kind: kind}
	if cx != nil {
		e.Context = cx.Name()
	}
	return e
}

// List returns the node's applications, by name (Tomcat's order is arbitrary; this one is
// stable).
func (m *Manager) List(ctx context.Context) ([]tomcatmgr.App, error) {
	var out []tomcatmgr.App
	err := m.do(ctx, List, nil, func() error {
		for _, a := range m.c.Apps[m.node] {
			out = append(out, *a)
		}
		slices.SortFunc(out, func(a, b tomcatmgr.App) int { return strings.Compare(a.Name(), b.Name()) })
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Deploy checks the WAR as tomcatmgr.CheckWAR does, calls Cluster.OnDeploy, reports the WAR's
// size as sent, and adds the version, running, with the sessions a DeltaManager receives at
// start (see transferState). It records "deploy <node> <version>".
func (m *Manager) Deploy(ctx context.Context, cx tomcatmgr.Context, warPath string, progress func(int64, int64)) error {
	if err := cx.Validate(); err != nil {
		return err
	}
	size, err := tomcatmgr.CheckWAR(warPath)
	if err != nil {
		return err
	}
	if m.c.OnDeploy != nil {
		m.c.OnDeploy(m.node)
	}
	err = m.do(ctx, Deploy, &cx, func() error { return m.add(Deploy, cx) })
	if err == nil && progress != nil {
		progress(size/2, size)
		progress(size, size)
	}
	return err
}

// DeployFromServerPath deploys the WAR at serverPath, which must be an absolute path of an
// existing file ending in .war (the node's disk is this machine's), like Deploy.
func (m *Manager) DeployFromServerPath(ctx context.Context, cx tomcatmgr.Context, serverPath string) error {
	if err := cx.Validate(); err != nil {
		return err
	}
	if err := tomcatmgr.CheckServerPath(serverPath); err != nil {
		return err
	}
	if m.c.OnDeploy != nil {
		m.c.OnDeploy(m.node)
	}
	return m.do(ctx, DeployFromServerPath, &cx, func() error {
		if _, err := os.Stat(serverPath); err != nil {
			return m.errorf(DeployFromServerPath, &cx, tomcatmgr.ErrFailed, "FAIL - Failed to deploy application at context path ["+cx.Name()+"]")
		}
		return m.add(DeployFromServerPath, cx)
	})
}

// add deploys cx on the node, running, unless it is deployed already; c.mu must be held.
func (m *Manager) add(op Op, cx tomcatmgr.Context) error {
	if _, ok := m.c.Apps[m.node][cx.Version]; ok {
		return m.errorf(op, &cx, tomcatmgr.ErrAlreadyExists, "FAIL - Application already exists at path ["+cx.Name()+"]")
	}
	m.c.Apps[m.node][cx.Version] = &tomcatmgr.App{Context: cx, State: tomcatmgr.StateRunning}
	m.c.transferState(m.node, cx.Version)
	m.c.record("deploy %s %s", m.node, cx.Version)
	return nil
}

// app returns the node's application of cx, or ErrNotFound; c.mu must be held.
func (m *Manager) app(op Op, cx tomcatmgr.Context) (*tomcatmgr.App, error) {
	if a, ok := m.c.Apps[m.node][cx.Version]; ok && a.Context.Path == cx.Path {
		return a, nil
	}
	return nil, m.errorf(op, &cx, tomcatmgr.ErrNotFound, "FAIL - No context exists named ["+cx.Name()+"]")
}

// Stop stops the version; its sessions are gone. It records "stop <node> <version>".
func (m *Manager) Stop(ctx context.Context, cx tomcatmgr.Context) error {
	return m.do(ctx, Stop, &cx, func() error {
		a, err := m.app(Stop, cx)
		if err != nil {
			return err
		}
		a.State, a.Sessions = tomcatmgr.StateStopped, 0
		clear(m.c.sessionsOf(m.node, cx.Version))
		m.c.record("stop %s %s", m.node, cx.Version)
		return nil
	})
}

// Undeploy removes the version. It records "undeploy <node> <version>".
func (m *Manager) Undeploy(ctx context.Context, cx tomcatmgr.Context) error {
	return m.do(ctx, Undeploy, &cx, func() error {
		if _, err := m.app(Undeploy, cx); err != nil {
			return err
		}
		delete(m.c.Apps[m.node], cx.Version)
		delete(m.c.Sessions[m.node], cx.Version)
		m.c.record("undeploy %s %s", m.node, cx.Version)
		return nil
	})
}

// SessionManager is a DeltaManager that received its state, unless Plain or NoState say
// otherwise; a stopped context's is STOPPED and empty, as Tomcat keeps it (stateTransferred
// false, noContextManagerReceived true); ErrNotFound when cx is not deployed on the node.
func (m *Manager) SessionManager(ctx context.Context, cx tomcatmgr.Context) (tomcatmgr.SessionManager, error) {
	var sm tomcatmgr.SessionManager
	err := m.do(ctx, SessionManager, &cx, func() error {
		if !m.deployed(cx) {
			return m.noManager("jmx query", cx)
		}
		if !m.running(cx) {
			sm = tomcatmgr.SessionManager{ClassName: "org.apache.catalina.ha.session.DeltaManager", Clustered: true,
				StateName: "STOPPED", NoContextManagerReceived: true}
			return nil
		}
		if m.c.Plain[m.node] && m.c.isNew(m.node, cx.Version) {
			sm = tomcatmgr.SessionManager{ClassName: "org.apache.catalina.session.StandardManager", StateName: "STARTED"}
			return nil
		}
		noContext := m.c.noContext[m.node][cx.Version]
		sm = tomcatmgr.SessionManager{ClassName: "org.apache.catalina.ha.session.DeltaManager", Clustered: true, StateName: "STARTED",
			StateTransferred: !m.c.NoState[m.node] && !noContext, NoContextManagerReceived: noContext,
			ActiveSessions: m.c.Apps[m.node][cx.Version].Sessions}
		return nil
	})
	return sm, err
}

// HasSession reports whether the node holds session id of cx (see Cluster.SetSession and
// Prober.NewSession); ErrNotFound when cx is not deployed there.
func (m *Manager) HasSession(ctx context.Context, cx tomcatmgr.Context, id string) (bool, error) {
	if err := tomcatmgr.CheckSessionID(id); err != nil {
		return false, err
	}
	var ok bool
	err := m.do(ctx, HasSession, &cx, func() error {
		if !m.deployed(cx) {
			return m.noManager("jmx invoke getCreationTime", cx)
		}
		_, ok = m.c.sessionsOf(m.node, cx.Version)[id]
		return nil
	})
	return ok, err
}

// ExpireSession removes session id of cx from every node, as DeltaManager does; an unknown id
// is no error (Tomcat answers OK). ErrNotFound when cx is not deployed on the node.
func (m *Manager) ExpireSession(ctx context.Context, cx tomcatmgr.Context, id string) error {
	if err := tomcatmgr.CheckSessionID(id); err != nil {
		return err
	}
	return m.do(ctx, ExpireSession, &cx, func() error {
		if !m.deployed(cx) {
			return m.noManager("jmx invoke expireSession", cx)
		}
		for n := range m.c.Apps {
			delete(m.c.Sessions[n][cx.Version], id)
		}
		return nil
	})
}

// Expire ends every session of the version on every node and returns how many there were.
func (m *Manager) Expire(ctx context.Context, cx tomcatmgr.Context, _ int) (tomcatmgr.SessionStats, error) {
	var st tomcatmgr.SessionStats
	err := m.do(ctx, Expire, &cx, func() error {
		if _, err := m.app(Expire, cx); err != nil {
			return err
		}
		n := 0
		for node, apps := range m.c.Apps {
			if a, ok := apps[cx.Version]; ok {
				n = max(n, a.Sessions)
				a.Sessions = 0
				clear(m.c.Sessions[node][cx.Version])
			}
		}
		st = tomcatmgr.SessionStats{Expired: n}
		return nil
	})
	return st, err
}
