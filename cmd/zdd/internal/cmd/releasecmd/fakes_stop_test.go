package releasecmd

import (
	"context"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// Stop stops cx, keeping it deployed (deployer.Manager's contract); ErrNotFound when absent.
func (m *fakeManager) Stop(_ context.Context, cx tomcatmgr.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, a := range m.apps {
		if a.Context == cx {
			m.changes++
			m.apps[i].State = tomcatmgr.StateStopped
			m.apps[i].Sessions = 0
			return nil
		}
	}
	return tomcatmgr.ErrNotFound
}
