package wiring

import (
	"context"
	"fmt"
	"strings"

	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/schema"
)

// dialDatabase wires the schema migrator (NewMigrations) and the database checks into
// c when database.dsn is set: the release runs the expand and contract migrations, preflight
// proves the connection reaches the writer, and `zdd status` shows the writer and the level.
func dialDatabase(cfg *config.Config, c *Cluster) error {
	if cfg.Database.DSN == "" {
		return nil
	}
	m, err := NewMigrations(cfg, c.Managers, nil)
	if err != nil {
		return err
	}
	c.Migrator = m
	c.CheckDB = m.CheckWriter
	c.DBStatus = func(ctx context.Context) (DatabaseStatus, error) {
		r, err := m.Status(ctx)
		if err != nil {
			return DatabaseStatus{}, err
		}
		return databaseStatus(r), r.WriterErr
	}
	return nil
}

// databaseStatus summarises a schema report: the writer, the last applied migration of each
// phase, and what is pending.
func databaseStatus(r *schema.Report) DatabaseStatus {
	st := DatabaseStatus{Writer: r.Server.String()}
	var levels []string
	for _, p := range r.Phases {
		last := ""
		for _, it := range p.Items {
			switch it.State {
			case schema.StateApplied:
				last = it.Name
			case schema.StatePending:
				st.Pending = append(st.Pending, string(p.Phase)+"/"+it.Name)
			default:
				st.Pending = append(st.Pending, fmt.Sprintf("%s/%s (%s)", p.Phase, it.Name, it.State))
			}
		}
		if last != "" {
			levels = append(levels, string(p.Phase)+" "+last)
		}
	}
	st.Level = strings.Join(levels, ", ")
	return st
}
