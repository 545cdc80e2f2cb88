// Package app builds Firebreak from its configuration: it opens the database and wires every
// service (tokens, incidents, group commit, outbox, rollbacks, deploy tracking, alert
// ingestion, the web server, the scheduler), then runs them and stops them in order. It is
// the one place that knows how the parts fit; `firebreak serve`, the process tests and the
// benchmarks all start the platform through it. Each subsystem's wiring has a file of its
// own (wire_*.go).
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"firebreak/accounts"
	"firebreak/alerts"
	"firebreak/config"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/metrics"
	slacknotify "firebreak/notify/slack"
	"firebreak/outbox"
	"firebreak/scheduler"
	"firebreak/statuspage/publish"
	"firebreak/store"
	"firebreak/tokens"
	"firebreak/web"
)

// ShutdownGrace bounds how long requests in flight may take once Run's context ends.
const ShutdownGrace = 20 * time.Second

// Options are what the caller decides beyond the config file.
type Options struct {
	// WorkDir is where the generated admin token's file goes when the database is
	// PostgreSQL (with SQLite it goes beside the database file); the working folder when
	// empty.
	WorkDir string
	// Log is every service's logger; slog.Default() when nil.
	Log *slog.Logger
	// Now is every service's clock; time.Now when nil.
	Now func() time.Time
}

// App is the wired platform. Its fields are the services, for callers (tests, benchmarks)
// that drive or inspect one directly.
type App struct {
	Config    config.Config
	DB        *store.DB
	Registry  *prometheus.Registry
	Metrics   *metrics.Set // the series Firebreak reports about itself, on Registry
	Tokens    *tokens.Store
	Incidents *incidents.Manager
	// Writes batches concurrent writes into few transactions (group commit).
	Writes    *store.GroupCommitter
	Outbox    *outbox.Outbox
	Rollbacks *deploys.Rollbacks
	Tracker   *deploys.Tracker
	Alerts    *alerts.Ingester
	// Slack is the Slack integration; nil when the config has no slack section.
	Slack *slacknotify.Service
	Web   *web.Server
	// Accounts keeps the web UI's users and sessions.
	Accounts  *accounts.Store
	Scheduler *scheduler.Scheduler

	// Statuspage keeps and publishes the status page; nil without a statuspage section.
	Statuspage *publish.Service

	log       *slog.Logger
	ln        net.Listener
	closeOnce sync.Once
	closeErr  error
}

// Build opens and migrates the configured database and wires every service. Nothing runs
// yet: Run starts the background work and the listener. On error, whatever Build opened is
// closed again.
func Build(ctx context.Context, cfg config.Config, opts Options) (_ *App, err error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &App{Config: cfg, Registry: prometheus.NewRegistry(), log: opts.Log}
	a.Metrics = metrics.New(a.Registry, nil)
	if a.DB, err = OpenDatabase(ctx, cfg); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.Tokens, err = wireTokens(ctx, a.DB, cfg, opts); err != nil {
		return nil, err
	}
	a.Incidents = incidents.NewManager(a.DB, opts.Now)
	a.Incidents.AliasEnvironments(cfg.EnvironmentAliases())
	a.Writes = wireGroupCommit(a.DB, a.Incidents, a.Metrics, opts.Log)
	hooks := rollbackHooks(cfg)
	a.Outbox = wireOutbox(a.DB, cfg, a.Metrics, opts)
	a.Rollbacks, a.Tracker = wireDeploys(a.DB, a.Incidents, a.Outbox, hooks, a.Metrics, cfg)
	a.Alerts = wireAlerts(a.DB, a.Incidents, a.Writes, cfg, a.Metrics, opts.Log)
	if a.Slack, err = wireSlack(a, opts); err != nil {
		return nil, err
	}
	if a.Statuspage, err = wireStatuspage(ctx, a, opts.Log); err != nil {
		return nil, err
	}
	if a.Accounts, err = wireAccounts(a.DB, cfg, opts); err != nil {
		return nil, err
	}
	a.Web = wireWeb(a, opts.Log)
	if a.Scheduler, err = wireScheduler(a.DB, a.Registry, a.Tokens, cfg, opts.Log); err != nil {
		return nil, err
	}
	if err = scheduleStatuspage(a.Scheduler, a.Statuspage); err != nil {
		return nil, err
	}
	if err = scheduleSessionPurge(a.Scheduler, a.Accounts, opts.Log); err != nil {
		return nil, err
	}
	if err = wireJobs(a); err != nil {
		return nil, err
	}
	wireMetrics(a, opts.Now) // last: it reads what the others registered
	return a, nil
}

// Listen binds the configured listen address, if Run has not yet, and returns the bound
// address: with port 0 in the config, the port the kernel picked.
func (a *App) Listen() (net.Addr, error) {
	if a.ln == nil {
		ln, err := net.Listen("tcp", a.Config.Listen)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", a.Config.Listen, err)
		}
		a.ln = ln
	}
	return a.ln.Addr(), nil
}

// Run serves HTTP and runs the outbox and the scheduler until ctx ends or the server
// fails, then stops in dependency order: the HTTP server stops taking requests and
// finishes those in flight (at most ShutdownGrace); the scheduler and the outbox finish the
// runs and jobs in hand, whose results still need the database; queued writes commit; the
// database closes. Run closes the App; it returns nil after a clean stop.
func (a *App) Run(ctx context.Context) error {
	defer a.Close()
	addr, err := a.Listen()
	if err != nil {
		return err
	}
	// Background work gets contexts of its own, cancelled one at a time below, so it
	// outlives the HTTP server and never the writes it depends on.
	stopScheduler := a.start(a.Scheduler.Run)
	stopOutbox := a.start(a.Outbox.Run)
	stopRepeats := a.start(a.Alerts.RunFlusher)

	a.log.Info("firebreak serving", "addr", addr.String(), "database", a.DB.Dialect)
	serveErr := a.serve(ctx)
	stopScheduler()
	stopOutbox()
	stopRepeats() // after the last webhook was answered, before the writes close
	a.flushTokenUsage()
	if err := a.Close(); err != nil {
		return errors.Join(serveErr, err)
	}
	if serveErr == nil {
		a.log.Info("stopped")
	}
	return serveErr
}

// flushTokenUsage writes the tokens' last use gathered since the scheduled flush, so the
// requests of the last 30 s before a stop show in `firebreak token list`.
func (a *App) flushTokenUsage() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Tokens.FlushUsage(ctx); err != nil {
		a.log.Warn("shutdown: could not record the tokens' last use", "err", err)
	}
}

// start runs fn in a goroutine until the returned stop is called; stop waits for fn.
func (a *App) start(fn func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { fn(ctx); close(done) }()
	return func() { cancel(); <-done }
}

// serve serves HTTP on the bound listener until ctx ends, then shuts the server down.
func (a *App) serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- a.Web.Serve(a.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := a.Web.Shutdown(sctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("shutdown: %w", err)
	}
	// If ctx ended before the server reached Accept, there was nothing to shut down yet:
	// closing the listener makes sure it returns.
	_ = a.ln.Close()
	<-errc
	return nil
}

// Close commits the queued writes and closes the database (and the listener, if Run never
// took it). Run calls it; call it yourself only for an App that is never Run. Later calls
// return the first call's result.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		if a.ln != nil {
			_ = a.ln.Close() // already closed by the server when Run served on it
		}
		if a.Slack != nil {
			a.Slack.Wait() // answers still going to Slack may need the database
		}
		if a.Alerts != nil {
			// Repeats answered from memory by an App that was never Run (Run's flusher
			// wrote its own).
			a.Alerts.FlushLast()
		}
		if a.Writes != nil {
			a.Writes.Close()
		}
		if a.DB != nil {
			a.closeErr = a.DB.Close()
		}
	})
	return a.closeErr
}
