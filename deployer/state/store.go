package state

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/statedir"
)

// Store keeps every released WAR as <Dir>/<sha256>.war, so that `zdd rollback` can deploy the
// last good release again without the CI artifact. Dir is <state.dir>/releases, on the shared
// state storage.
type Store struct {
	// Dir is the directory of the WARs.
	Dir string
	// Keep is how many WARs Retain keeps besides the protected ones. Zero means 5.
	Keep int
	// Policy gives the modes of the WARs and of Dir; the zero value is private (see statedir).
	Policy statedir.Policy
}

// NewStore returns the store under the state directory stateDir.
func NewStore(stateDir string) *Store { return &Store{Dir: filepath.Join(stateDir, "releases")} }

// WithPolicy sets the store's mode policy (state.group_shared) and returns s.
func (s *Store) WithPolicy(p statedir.Policy) *Store {
	s.Policy = p
	return s
}

var shaRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Get returns the path of the WAR with checksum sha, or an error when the store does not hold it.
func (s *Store) Get(sha string) (string, error) {
	if !shaRE.MatchString(sha) {
		return "", fmt.Errorf("store: %q is not a sha256 checksum", sha)
	}
	p := filepath.Join(s.Dir, sha+".war")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("store: the WAR %s is not in %s: %w", sha[:12], s.Dir, err)
	}
	return p, nil
}

// Put copies the WAR at warPath into the store (once per checksum) and returns the stored copy:
// Path is in the store, SHA256 and Size describe it. The copy is written to a temporary file
// and renamed, so a crash never leaves a partial WAR under a checksum name.
func (s *Store) Put(warPath string) (plan.WARInfo, error) {
	if err := s.Policy.MkdirAll(s.Dir); err != nil {
		return plan.WARInfo{}, fmt.Errorf("store: create %s: %w", s.Dir, err)
	}
	in, err := os.Open(warPath)
	if err != nil {
		return plan.WARInfo{}, fmt.Errorf("store: %w", err)
	}
	defer in.Close()
	tmp, err := s.Policy.CreateTemp(s.Dir, ".incoming-*.war")
	if err != nil {
		return plan.WARInfo{}, fmt.Errorf("store: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), in)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return plan.WARInfo{}, fmt.Errorf("store: copy %s: %w", warPath, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst := filepath.Join(s.Dir, sum+".war")
	if _, err := os.Stat(dst); err == nil {
		now := time.Now()
		_ = os.Chtimes(dst, now, now) // stored again: it counts as recent for Retain
		return plan.WARInfo{Path: dst, SHA256: sum, Size: n}, nil
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return plan.WARInfo{}, fmt.Errorf("store: %w", err)
	}
	return plan.WARInfo{Path: dst, SHA256: sum, Size: n}, nil
}

// List returns the checksums of the stored WARs, newest first.
func (s *Store) List() ([]string, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	type item struct {
		sha string
		mod int64
	}
	var items []item
	for _, e := range entries {
		sha, ok := strings.CutSuffix(e.Name(), ".war")
		if !ok || !shaRE.MatchString(sha) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		items = append(items, item{sha, info.ModTime().UnixNano()})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].mod > items[j].mod })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.sha
	}
	return out, nil
}

// Retain deletes the oldest WARs beyond Keep, but never one that protect names (the last good
// release and the current one, see Protected). It returns the checksums deleted.
func (s *Store) Retain(protect ...string) ([]string, error) {
	keep := s.Keep
	if keep <= 0 {
		keep = 5
	}
	keepSet := map[string]bool{}
	for _, p := range protect {
		if p != "" {
			keepSet[p] = true
		}
	}
	all, err := s.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	kept := 0
	for _, sha := range all {
		if keepSet[sha] {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		if err := os.Remove(filepath.Join(s.Dir, sha+".war")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return removed, fmt.Errorf("store: %w", err)
		}
		removed = append(removed, sha)
	}
	return removed, nil
}

// Protected returns the checksums Retain must keep for app: the current release's (the newest
// entry of history) and the last good release before it, which `zdd rollback` would deploy.
func Protected(hist []HistoryEntry, app string) []string {
	var out []string
	cur := ""
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].App == app && hist[i].SHA256 != "" {
			cur = hist[i].SHA256
			break
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	if g := LastGood(hist, app, cur); g != nil {
		out = append(out, g.Entry.SHA256)
	}
	return out
}
