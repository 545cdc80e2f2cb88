package main

import (
	"context"
	"flag"
	"io"

	"firebreak/cmd/firebreak/app"
)

var serveCommand = &command{
	path:    "serve",
	summary: "runs the platform: API, Alertmanager webhook, Slack endpoints, web UI and scheduler",
	about: `With no config: SQLite at data/firebreak.db, listening on 127.0.0.1:8080. It applies
pending migrations first. On a start where neither the config nor the database holds an
admin-scoped token, it generates one and writes it, before /-/ready answers, to the file
admin-token beside the SQLite database (in the working folder for PostgreSQL), readable by
its owner only; the log names the file. The token is never printed. SIGINT or SIGTERM
stops it cleanly: requests in flight and background work in hand finish first.`,
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		return func(ctx context.Context, _ io.Writer, _ []string) error {
			return runServe(ctx, *cfgPath)
		}
	},
}

// runServe runs the platform until ctx is cancelled (SIGINT or SIGTERM), then stops taking
// requests, lets the ones in flight and the background work in hand finish, and closes the
// database (app.App.Run).
func runServe(ctx context.Context, cfgPath string) error {
	cfg, err := loadServeConfig(cfgPath)
	if err != nil {
		return err
	}
	a, err := app.Build(ctx, cfg, app.Options{})
	if err != nil {
		return err
	}
	startDebugServer(ctx)
	return a.Run(ctx)
}
