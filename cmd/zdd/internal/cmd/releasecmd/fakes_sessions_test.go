package releasecmd

import (
	"context"
	"time"

	"github.com/saitodrom/zdd/tomcatmgr"
)

// The fake nodes hold no sessions: the readmission gate finds nothing to compare.

func (m *fakeManager) SessionIDs(context.Context, tomcatmgr.Context) ([]string, error) {
	return nil, nil
}

func (m *fakeManager) LastAccessed(context.Context, tomcatmgr.Context, string) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

func (m *fakeManager) ResyncSessions(context.Context, tomcatmgr.Context) error { return nil }
