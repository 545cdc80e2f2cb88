package main

import (
	"context"
	"flag"
	"os"

	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/store"
)

// configFlag adds --config to a subcommand's flags.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "", "path to firebreak.yaml (default: none, built-in defaults)")
}

// loadConfig reads the config file, or defaults when path is empty.
func loadConfig(path string) (config.Config, error) {
	cfg, err := config.Load(path, os.Getenv)
	if err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// openDatabase opens and migrates the configured database, as serve does.
func openDatabase(ctx context.Context, cfg config.Config) (*store.DB, error) {
	return app.OpenDatabase(ctx, cfg)
}
