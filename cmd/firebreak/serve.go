package main

import (
	"context"
	"flag"
	"io"

	"firebreak/cmd/firebreak/app"
)

// runServe runs the platform until ctx is cancelled (SIGINT or SIGTERM), then stops taking
// requests, lets the ones in flight and the background work in hand finish, and closes the
// database (app.App.Run).
func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	a, err := app.Build(ctx, cfg, app.Options{Stdout: stdout})
	if err != nil {
		return err
	}
	startDebugServer(ctx)
	return a.Run(ctx)
}
