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

// statusServerCommand is `firebreak status-server`.
var statusServerCommand = &command{
	path:    "status-server",
	summary: "serves the public status page on its own, meant for another host than the platform",
	about: `It receives signed snapshots from the platform (POST /api/push), keeps the last one in
data_dir and serves the page, its history, feeds and Statuspage's v2 JSON from memory; it
keeps serving when the platform is down. It opens nothing of the platform.

status.yaml (every key optional):
  listen: 127.0.0.1:8081               # address to serve on
  data_dir: status-data                # where the last snapshot is kept
  push_secret_env: STATUS_PUSH_SECRET  # environment variable holding the shared push secret
  title: Status                        # title until the first push brings one
  public_url: http://<listen>          # the page's address (Statuspage's page.url)`,
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := fs.String("config", "", "path to status.yaml (default: none, built-in defaults)")
		return func(ctx context.Context, _ io.Writer, _ []string) error {
			return serveStatusPage(ctx, *cfgPath)
		}
	},
}

// runStatusServer parses status-server's command line and runs it, returning its error
// (flag.ErrHelp after printing the usage to stdout for -h); the dispatcher does the same
// through statusServerCommand.
func runStatusServer(ctx context.Context, args []string, stdout io.Writer) error {
	fs, fn := statusServerCommand.flagSet()
	positional, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		statusServerCommand.printUsage(stdout)
	}
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return fmt.Errorf("unexpected arguments %q (see firebreak status-server -h)", positional)
	}
	return fn(ctx, stdout, nil)
}

// serveStatusPage runs the status-server until ctx is cancelled (SIGINT or SIGTERM).
func serveStatusPage(ctx context.Context, cfgPath string) error {
	cfg, err := statuspage.LoadConfig(cfgPath, os.Getenv)
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
