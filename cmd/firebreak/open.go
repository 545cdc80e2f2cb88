package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/store"
)

// configFlag adds --config to a subcommand's flags.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "read the configuration from `FILE` (default: none; built-in defaults, SQLite at data/firebreak.db)")
}

// loadServeConfig reads the configuration for serve: every *_env secret it names must be
// set, and the message tells an unset variable from an empty one.
func loadServeConfig(path string) (config.Config, error) {
	return config.LoadEnv(path, os.LookupEnv)
}

// loadAdminConfig reads the configuration for the administration commands (migrate,
// token ...), which use no secret: an operator can run them without exporting the Slack or
// rollback-hook secrets that only serve needs.
func loadAdminConfig(path string) (config.Config, error) {
	return config.LoadWithoutSecrets(path, os.LookupEnv)
}

// createDatabase opens the configured database, creating and migrating it as needed; only
// serve and migrate may create one.
func createDatabase(ctx context.Context, cfg config.Config) (*store.DB, error) {
	return app.OpenDatabase(ctx, cfg)
}

// openExistingDatabase opens the configured database for a command that works on the data
// serve keeps (token ...). A SQLite file that does not exist is refused rather than
// created: run in the wrong folder, the command would otherwise make an empty database
// there, and a token created in it would never work.
func openExistingDatabase(ctx context.Context, cfg config.Config, cfgPath string) (*store.DB, error) {
	if cfg.Database.Driver == config.DriverSQLite {
		path, err := store.SQLitePath(cfg.Database.URL)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, missingDatabase(path, cfgPath)
		} else if err != nil {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
	}
	return app.OpenDatabase(ctx, cfg)
}

// missingDatabase says where the database was looked for and how to point at the right one.
func missingDatabase(path, cfgPath string) error {
	switch {
	case os.Getenv(config.EnvDatabaseURL) != "":
		return fmt.Errorf("no database at %s (from %s); run `firebreak serve` with it first or correct it", path, config.EnvDatabaseURL)
	case cfgPath != "":
		return fmt.Errorf("no database at %s (database.url in %s); run `firebreak serve --config %s` first or correct it", path, cfgPath, cfgPath)
	default:
		return fmt.Errorf("no database at %s; run `firebreak serve` first or pass --config", path)
	}
}
