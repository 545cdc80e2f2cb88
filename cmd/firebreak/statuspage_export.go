package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"firebreak/cmd/firebreak/app"
)

// statuspageExportCommand is `firebreak statuspage export`.
var statuspageExportCommand = &command{
	path:     "statuspage export",
	summary:  "writes the status page as static files (HTML, Statuspage's v2 JSON, feeds) into a folder",
	required: []string{"out"},
	about: `Builds the page from the database serve uses, as a push to status-server would carry it,
and writes the files status-server would serve: index.html, incidents/{id}/index.html,
history/, history.atom, history.rss and api/v2/*.json. Any static host serves the folder
as is. Files already in the folder are overwritten, others left alone. It needs no secret
and pushes nothing; the config must have a statuspage section (statuspage.url makes the
links absolute).`,
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		out := fs.String("out", "", "write the site into `DIR` (created if missing)")
		return func(ctx context.Context, stdout io.Writer, _ []string) error {
			return runStatuspageExport(ctx, *cfgPath, *out, stdout)
		}
	},
}

// runStatuspageExport writes the status site of the configured database into dir.
func runStatuspageExport(ctx context.Context, cfgPath, dir string, stdout io.Writer) error {
	cfg, err := loadAdminConfig(cfgPath)
	if err != nil {
		return err
	}
	db, err := openExistingDatabase(ctx, cfg, cfgPath)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := app.Statuspage(ctx, db, cfg, slog.Default())
	if err != nil {
		return err
	}
	snap, err := svc.Export(ctx, dir)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote the status page to %s (components: %d, incidents: %d, maintenances: %d)\n",
		dir, len(snap.Components), len(snap.Incidents), len(snap.Maintenances))
	return err
}
