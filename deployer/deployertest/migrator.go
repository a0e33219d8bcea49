package deployertest

import (
	"context"
	"sync"
)

// Migrator is an in-memory deployer.Migrator: nothing is ever pending, and Up records the
// phases it was asked to apply, for tests that check a command runs its migration steps with
// the Migrator it was wired with. Safe for concurrent use.
type Migrator struct {
	mu  sync.Mutex
	ups []string
}

// Pending returns no migration.
func (m *Migrator) Pending(context.Context, string) ([]string, error) { return nil, nil }

// Up records phase.
func (m *Migrator) Up(_ context.Context, phase string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ups = append(m.ups, phase)
	return nil
}

// Take returns the phases applied since the last Take, oldest first, and forgets them.
func (m *Migrator) Take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.ups
	m.ups = nil
	return out
}
