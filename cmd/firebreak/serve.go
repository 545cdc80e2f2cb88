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

	"firebreak/alerts"
	"firebreak/config"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
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
	startDebugServer(ctx)

	auth, err := newTokenStore(ctx, db, cfg, stdout)
	if err != nil {
		return err
	}
	incs := incidents.NewManager(db, time.Now)
	// Concurrent webhooks share transactions: one fsync carries many. Closed after the HTTP
	// server has stopped (deferred calls run in reverse). On SQLite, with its one writer,
	// incident changes share them too; PostgreSQL commits those side by side faster alone.
	writes := newGroupCommitter(db)
	defer writes.Close()
	if db.Dialect == store.SQLite {
		incs.WriteThrough(writes.Do)
	}
	hooks := rollbackHooks(cfg)
	jobs := outbox.New(db, outbox.Options{MaxAttempts: cfg.Outbox.MaxAttempts, MaxBackoff: time.Duration(cfg.Outbox.MaxBackoff),
		Lease: leaseFor(hooks)})
	rollbacks := deploys.NewRollbacks(db, incs, jobs, hooks, cfg.PublicURL)
	rollbacks.HideEnv(secretVariables(cfg)...)
	tracker := deploys.NewTracker(db, incs, time.Duration(cfg.Deploys.CorrelationWindow), rollbacks)
	incs.OnChange(tracker.OnIncidentChange)

	// Deferred calls run in reverse: the HTTP server stops first (in listenUntilDone), then
	// the outbox finishes the jobs in hand, then queued writes commit, then the database
	// closes.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	workDone := make(chan struct{})
	go func() { jobs.Run(workCtx); close(workDone) }()
	defer func() { stopWork(); <-workDone }()
	ingester := alerts.NewIngester(db, incs, writes, alertOptions(cfg))
	srv := web.New(web.Deps{
		DB:              db,
		Incidents:       incs,
		Alerts:          ingester,
		Deploys:         tracker,
		Rollbacks:       rollbacks,
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
	go func() { errc <- srv.Serve(ln) }()
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

// newGroupCommitter batches concurrent webhook writes into few transactions: one writer for
// SQLite, which allows one; a few for PostgreSQL, which runs them side by side.
func newGroupCommitter(db *store.DB) *store.GroupCommitter {
	workers := 1
	if db.Dialect == store.Postgres {
		workers = 4
	}
	return store.NewGroupCommitter(db, workers, 128, 4096, slog.Default())
}

// alertOptions translates the alerts section of the config.
func alertOptions(cfg config.Config) alerts.Options {
	sevs := make(map[string]incidents.Severity, len(cfg.Alerts.SeverityMap))
	for label, sev := range cfg.Alerts.SeverityMap {
		sevs[label] = incidents.Severity(sev) // validated by config
	}
	return alerts.Options{
		ServiceLabels:     cfg.Alerts.ServiceLabels,
		EnvironmentLabels: cfg.Alerts.EnvironmentLabels,
		SeverityMap:       sevs,
		ReopenWindow:      time.Duration(cfg.Alerts.ReopenWindow),
		GroupBy:           cfg.Alerts.GroupBy,
	}
}

// rollbackHooks translates services.*.rollback of the config.
func rollbackHooks(cfg config.Config) map[string]deploys.Hook {
	hooks := map[string]deploys.Hook{}
	for name, svc := range cfg.Services {
		rb := svc.Rollback
		if rb == nil {
			continue
		}
		h := deploys.Hook{Policy: rb.Policy, MinSeverity: incidents.Severity(rb.MinSeverity), Command: rb.Command,
			Timeout: time.Duration(rb.Timeout)}
		if rb.Webhook != nil {
			h.WebhookURL, h.Secret, h.Timeout = rb.Webhook.URL, []byte(rb.Webhook.Secret), time.Duration(rb.Webhook.Timeout)
		}
		hooks[name] = h
	}
	return hooks
}

// secretVariables names every environment variable the config reads a secret from.
func secretVariables(cfg config.Config) []string {
	var names []string
	for _, t := range cfg.Tokens {
		names = append(names, t.TokenEnv)
	}
	for _, svc := range cfg.Services {
		if svc.Rollback != nil && svc.Rollback.Webhook != nil {
			names = append(names, svc.Rollback.Webhook.SecretEnv)
		}
	}
	if cfg.Slack != nil {
		names = append(names, cfg.Slack.BotTokenEnv, cfg.Slack.SigningSecretEnv)
	}
	if cfg.Statuspage != nil {
		for _, p := range cfg.Statuspage.Publish {
			names = append(names, p.SecretEnv)
		}
	}
	return names
}

// leaseFor is how long a claimed outbox job stays reserved: longer than the slowest hook may
// run, so no other worker or replica starts the same rollback while the first still runs.
func leaseFor(hooks map[string]deploys.Hook) time.Duration {
	lease := 5 * time.Minute
	for _, h := range hooks {
		if t := h.Timeout + time.Minute; t > lease {
			lease = t
		}
	}
	return lease
}
