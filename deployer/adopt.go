package deployer

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// ValidVersion checks that v is a version zdd can name: a valid Tomcat version
// (tomcatmgr.ValidateVersion) made of exactly width digits.
func ValidVersion(v string, width int) error {
	if err := tomcatmgr.ValidateVersion(v); err != nil {
		return outcome.Classify(outcome.ErrPreflight, err)
	}
	ok := len(v) == width
	for _, c := range v {
		ok = ok && c >= '0' && c <= '9'
	}
	if !ok {
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
			fmt.Errorf("deployer: version %q is not %d digits (app.version_width)", v, width)),
			"give the version as `zdd status` shows it, e.g. "+fmt.Sprintf("%0*d", width, 1))
	}
	return nil
}

// missingOn returns the first node (in order) where version v of the application is not
// running, or "" when it runs on every node.
func (e *Engine) missingOn(st *plan.ClusterState, v string) string {
	for _, n := range e.Spec.NodeNames() {
		a, ok := findApp(st.Apps[n], e.app(v))
		if !ok || a.State != tomcatmgr.StateRunning {
			return n
		}
	}
	return ""
}

// whereRuns describes what each node has of the application: "n1: 001,002; n2: 001".
func (e *Engine) whereRuns(st *plan.ClusterState) string {
	var parts []string
	for _, n := range e.Spec.NodeNames() {
		var vs []string
		for _, a := range st.Apps[n] {
			s := a.Version
			if a.State != tomcatmgr.StateRunning {
				s += " (" + a.State + ")"
			}
			vs = append(vs, s)
		}
		sort.Strings(vs)
		if len(vs) == 0 {
			vs = []string{"nothing"}
		}
		parts = append(parts, n+": "+strings.Join(vs, ","))
	}
	return strings.Join(parts, "; ")
}

// Unregistered returns the newest version that runs on every node when zdd has no WAR for it
// (no checksum in the history, or its WAR is not in the store), or "": the first rollback after
// releasing over it could only be `--hard`. It changes nothing.
func (e *Engine) Unregistered(st *plan.ClusterState) (string, error) {
	vs := st.Versions()
	for i := len(vs) - 1; i >= 0; i-- {
		if e.missingOn(st, vs[i]) != "" {
			continue
		}
		hist, err := e.Journal.History()
		if err != nil {
			return "", err
		}
		sha := state.SHAOf(hist, nil, e.Spec.App, vs[i])
		if sha == "" {
			return vs[i], nil
		}
		if e.Store != nil {
			if _, err := e.Store.Get(sha); err != nil {
				return vs[i], nil
			}
		}
		return "", nil
	}
	return "", nil
}

// CheckPrevious validates `--previous-version v --previous-war path` against the observed
// state, changing nothing: v is digits of the configured width and runs on every node, path is
// a WAR whose checksum is not one `zdd rollback` took away. It returns the WAR's description.
func (e *Engine) CheckPrevious(st *plan.ClusterState, v, path string) (plan.WARInfo, error) {
	if v == "" || path == "" {
		return plan.WARInfo{}, outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"deployer: --previous-war and --previous-version go together (got war %q, version %q)", path, v))
	}
	if err := ValidVersion(v, e.Spec.VersionWidth); err != nil {
		return plan.WARInfo{}, err
	}
	if n := e.missingOn(st, v); n != "" {
		return plan.WARInfo{}, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"deployer: --previous-version %s does not run on %s (%s)", v, n, e.whereRuns(st))),
			"name the version that runs on every node (`zdd status`)")
	}
	war, err := InspectWAR(path, PreviousWARHint)
	if err != nil {
		return plan.WARInfo{}, err
	}
	hist, err := e.Journal.History()
	if err != nil {
		return plan.WARInfo{}, err
	}
	if err := refuseBadSHA(hist, nil, war, "--previous-war"); err != nil {
		return plan.WARInfo{}, err
	}
	if sha := state.SHAOf(hist, nil, e.Spec.App, v); sha != "" && sha != war.SHA256 {
		return plan.WARInfo{}, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"deployer: --previous-war %s (sha256 %s) is not the code of %s: the history records sha256 %s for it",
			path, plan.ShortSum(war.SHA256), v, plan.ShortSum(sha))), "give the WAR that was deployed as "+v)
	}
	return war, nil
}

// refuseBadSHA refuses a WAR given as the previous code when its checksum is the bad version's
// (bad, when set) or one a rollback took away.
func refuseBadSHA(hist []state.HistoryEntry, bad *state.RolledBack, war plan.WARInfo, flag string) error {
	if bad != nil && bad.SHA256 != "" && bad.SHA256 == war.SHA256 {
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"deployer: %s %s has the checksum of %s (sha256 %s), the version being rolled back; nothing was changed",
			flag, war.Path, bad.Version, plan.ShortSum(war.SHA256))), "give the WAR of the previous code")
	}
	for _, h := range hist {
		if h.RolledBack != nil && h.RolledBack.SHA256 == war.SHA256 {
			return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
				"deployer: %s %s (sha256 %s) is code that %s rolled back (as version %s); nothing was changed",
				flag, war.Path, plan.ShortSum(war.SHA256), h.ID, h.RolledBack.Version)), "give the WAR of the previous code")
		}
	}
	return nil
}

// RegisterPrevious records war as the code of version v, which runs but which zdd did not
// deploy: the WAR goes into the store (by checksum) and a KindAdopt entry into the history, so
// that LastGood finds it. Call it under the release lease, after CheckPrevious.
func (e *Engine) RegisterPrevious(v string, war plan.WARInfo, who state.Lease) (state.HistoryEntry, error) {
	if e.Store == nil {
		return state.HistoryEntry{}, outcome.Classify(outcome.ErrPreflight, fmt.Errorf("deployer: registering %s needs the release store", v))
	}
	stored, err := e.Store.Put(war.Path)
	if err != nil {
		return state.HistoryEntry{}, outcome.Classify(outcome.ErrPreflight, err)
	}
	if stored.SHA256 != war.SHA256 {
		return state.HistoryEntry{}, outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
			"store: %s changed since it was checked (sha256 %s, now %s)", war.Path, plan.ShortSum(war.SHA256), plan.ShortSum(stored.SHA256)))
	}
	now := time.Now().UTC()
	h := state.HistoryEntry{ID: v + "-adopt-" + now.Format("20060102T150405Z"), Kind: state.KindAdopt, App: e.Spec.App, To: v,
		SHA256: stored.SHA256, Status: state.StatusDone, Started: now, Finished: now, Holder: who.Holder, Host: who.Host,
		Command: who.Command, Note: fmt.Sprintf("registered %s (%d bytes) as the code of %s, deployed before zdd", filepath.Base(war.Path), stored.Size, v)}
	if err := e.Journal.AppendEntry(h); err != nil {
		return state.HistoryEntry{}, outcome.Classify(outcome.ErrPreflight, fmt.Errorf("journal: %w", err))
	}
	e.emit(Event{Type: EventWarning, Message: fmt.Sprintf("registered the WAR %s (sha256 %s) as the code of %s: `zdd rollback` can now go back to it without losing sessions",
		war.Path, plan.ShortSum(stored.SHA256), v)})
	return h, nil
}
