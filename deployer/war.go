package deployer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// PreviousWARHint is InspectWAR's hint for the WAR of the code a rollback goes back to.
const PreviousWARHint = "nothing was changed; give the WAR of the previous code (a zip archive with WEB-INF/web.xml)"

// InspectWAR checks that path is a WAR (tomcatmgr.CheckWAR) and returns its absolute path,
// checksum and size. Its errors are classified outcome.ErrPreflight; one that says path is no
// WAR ends with hint (none when hint is empty).
func InspectWAR(path, hint string) (plan.WARInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return plan.WARInfo{}, outcome.Classify(outcome.ErrPreflight, err)
	}
	size, err := tomcatmgr.CheckWAR(abs)
	if err != nil {
		return plan.WARInfo{}, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err), hint)
	}
	f, err := os.Open(abs)
	if err != nil {
		return plan.WARInfo{}, outcome.Classify(outcome.ErrPreflight, fmt.Errorf("war: %w", err))
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return plan.WARInfo{}, outcome.Classify(outcome.ErrPreflight, fmt.Errorf("war: read %s: %w", abs, err))
	}
	return plan.WARInfo{Path: abs, SHA256: hex.EncodeToString(h.Sum(nil)), Size: size}, nil
}
