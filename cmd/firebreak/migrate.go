package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

var migrateCommand = &command{
	path:    "migrate",
	summary: "applies pending schema migrations (serve also does at start)",
	about: `Creates the database when it does not exist yet (a SQLite file, or the tables in an
empty PostgreSQL database) and prints the schema version reached.`,
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		return func(ctx context.Context, stdout io.Writer, _ []string) error {
			return runMigrate(ctx, *cfgPath, stdout)
		}
	},
}

// runMigrate applies pending schema migrations and reports the version reached.
func runMigrate(ctx context.Context, cfgPath string, stdout io.Writer) error {
	cfg, err := loadAdminConfig(cfgPath)
	if err != nil {
		return err
	}
	db, err := createDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.MigrationVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s is at schema version %d\n", cfg.Database.Driver, v)
	return nil
}
