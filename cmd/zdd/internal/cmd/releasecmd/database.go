package releasecmd

import (
	"github.com/saitodrom/zdd/deployer/config"
)

// dialDatabase wires the schema migrator and the database checks into c when database.dsn is
// set. Until the migrator adapter (deployer/connect) is available, releases run without
// migrations and `zdd status` shows no database.
func dialDatabase(cfg *config.Config, c *Cluster) error {
	_ = cfg
	_ = c
	return nil
}
