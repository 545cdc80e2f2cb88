package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"firebreak/config"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/tokens"
	"firebreak/web"
)

// shutdownGrace bounds how long requests in flight may take after SIGTERM.
const shutdownGrace = 20 * time.Second

// runServe runs the platform until ctx is cancelled (SIGINT or SIGTERM), then stops taking
// requests, lets the ones in flight finish and closes the database.
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
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	auth, err := newTokenStore(ctx, db, cfg, stdout)
	if err != nil {
		return err
	}
	incs := incidents.NewManager(db, time.Now)
	srv := web.New(web.Deps{
		DB:              db,
		Incidents:       incs,
		Auth:            auth,
		Registry:        prometheus.NewRegistry(),
		Logger:          slog.Default(),
		MaxBodyBytes:    int(cfg.Server.MaxBodyBytes),
		MaxWebhookBytes: int(cfg.Alerts.MaxBodyBytes),
		ReadTimeout:     time.Duration(cfg.Server.ReadTimeout),
		WriteTimeout:    time.Duration(cfg.Server.WriteTimeout),
	})
	return listenUntilDone(ctx, srv, cfg.Listen, db)
}

// newTokenStore loads the bootstrap tokens of the config file and, when the database has no
// admin token yet, creates one and prints it once.
func newTokenStore(ctx context.Context, db *store.DB, cfg config.Config, stdout io.Writer) (*tokens.Store, error) {
	ts := tokens.NewStore(db, time.Now)
	for _, t := range cfg.Tokens {
		scopes, err := tokens.ParseScopes(t.Scopes)
		if err != nil {
			return nil, fmt.Errorf("token %q: %w", t.Name, err)
		}
		ts.AddStatic(t.Name, t.Token, scopes)
	}
	plain, created, err := ts.EnsureAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(stdout, "Generated an admin token; it is shown only this once:\n\n    %s\n\n", plain)
	}
	return ts, nil
}

func listenUntilDone(ctx context.Context, srv *web.Server, addr string, db *store.DB) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	slog.Info("firebreak serving", "addr", ln.Addr().String(), "database", db.Dialect)
	errc := make(chan error, 1)
	go func() { errc <- srv.App().Listener(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	slog.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-errc
	slog.Info("stopped")
	return nil
}
