package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"firebreak/statuspage"
	"firebreak/web/serving"
)

// statusServerGrace bounds how long requests in flight may take after SIGTERM.
const statusServerGrace = 10 * time.Second

const statusServerUsage = `Usage: firebreak status-server [--config status.yaml]

Serves the public status page on its own, meant for another host than the platform: it
receives signed snapshots (POST /api/push), keeps the last one in data_dir and serves the
page, its history, feeds and Statuspage's v2 JSON from memory.

status.yaml (every key optional):
  listen: 127.0.0.1:8081               # address to serve on
  data_dir: status-data                # where the last snapshot is kept
  push_secret_env: STATUS_PUSH_SECRET  # environment variable holding the shared push secret
  title: Status                        # title until the first push brings one
  public_url: http://<listen>          # the page's address (Statuspage's page.url)

Flags:
`

// runStatusServer runs `firebreak status-server` until ctx is cancelled (SIGINT or
// SIGTERM). It opens nothing of the platform: its own config file, its own data folder.
// -h prints the usage to stdout and returns flag.ErrHelp.
func runStatusServer(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("status-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("config", "", "path to status.yaml (default: none, built-in defaults)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, statusServerUsage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see firebreak status-server -h)", fs.Args())
	}
	cfg, err := statuspage.LoadConfig(*cfgPath, os.Getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	publicURL := cfg.PublicURL
	if publicURL == "http://"+cfg.Listen {
		// The default: name the address actually bound (a port of 0 picks one).
		publicURL = "http://" + ln.Addr().String()
	}
	srv, err := statuspage.NewServer(statuspage.ServerOptions{
		DataDir:  cfg.DataDir,
		Secret:   cfg.PushSecret,
		Defaults: statuspage.Defaults{Title: cfg.Title, URL: publicURL},
		Logger:   slog.Default(),
	})
	if err != nil {
		ln.Close()
		return err
	}
	slog.Info("status-server serving", "addr", ln.Addr().String(), "public_url", publicURL, "data_dir", cfg.DataDir)

	// Health answers at once; pages and /-/ready wait for the saved snapshot. One that
	// cannot be read stops the server rather than show an empty page in its place.
	serveCtx, stop := context.WithCancel(ctx)
	defer stop()
	loaded := make(chan error, 1)
	go func() {
		err := srv.Load()
		if err != nil {
			stop()
		}
		loaded <- err
	}()
	err = serving.Serve(serveCtx, srv.App(), ln, statusServerGrace)
	stop()
	if lerr := <-loaded; lerr != nil {
		return lerr
	}
	return err
}
