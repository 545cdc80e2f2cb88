package publish

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"firebreak/incidents"
	"firebreak/notify/webhook"
	"firebreak/outbox"
	"firebreak/statuspage"
	"firebreak/store"
)

// Named errors; the HTTP layer maps them to status codes.
var (
	// ErrNotFound: no such component or maintenance (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the change clashes with what exists, such as a component defined in the
	// config file or a name already taken (409).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input is wrong, and the message says how (400).
	ErrInvalid = errors.New("invalid")
)

// Target is a status-server snapshots are pushed to.
type Target struct {
	// URL is its push endpoint (…/api/push).
	URL string
	// Secret is the key shared with it.
	Secret []byte
}

// ConfigComponent is a component defined in the config file.
type ConfigComponent struct {
	Name        string
	Group       string
	Services    []string
	Automatic   bool
	Description string
}

// Options configure a Service.
type Options struct {
	// Page is the page's name, address and time zone as the snapshot carries them.
	Page statuspage.Page
	// MinSeverity is the least severe incident that changes a component's status; sev2
	// when empty.
	MinSeverity incidents.Severity
	// Components are those of the config file, synced by SyncConfig.
	Components []ConfigComponent
	// Targets receive pushes; none: export only.
	Targets []Target
	// PushTimeout bounds one push; 10 s when zero.
	PushTimeout time.Duration
	// Clock is the service's time; the incident manager's when nil.
	Clock func() time.Time
	Log   *slog.Logger
}

// KindPush is the outbox job kind of a push to one status-server.
const KindPush = "statuspage_push"

// defaultPushTimeout bounds one push: a snapshot is at most a few megabytes.
const defaultPushTimeout = 10 * time.Second

// Service keeps components and maintenances, builds snapshots and pushes them.
type Service struct {
	db        *store.DB
	incidents *incidents.Manager
	jobs      *outbox.Outbox
	opts      Options
	client    *webhook.Client
	// targets are the status-servers by targetKey.
	targets map[string]Target
}

// New returns a Service. With jobs and Targets it registers the push job kind on jobs; with
// a nil jobs (the export command) nothing is ever pushed.
func New(db *store.DB, m *incidents.Manager, jobs *outbox.Outbox, opts Options) *Service {
	if opts.MinSeverity == "" {
		opts.MinSeverity = incidents.Sev2
	}
	if opts.PushTimeout <= 0 {
		opts.PushTimeout = defaultPushTimeout
	}
	if opts.Clock == nil {
		opts.Clock = m.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	s := &Service{db: db, incidents: m, opts: opts, targets: map[string]Target{}}
	s.client = webhook.NewClient()
	s.client.Clock = opts.Clock
	if jobs != nil && len(opts.Targets) > 0 {
		s.jobs = jobs
		for _, t := range opts.Targets {
			s.targets[targetKey(t.URL)] = t
		}
		jobs.RegisterKind(KindPush, pushHandler{s}, outbox.KindOptions{
			Coalesce: true,
			Lease:    opts.PushTimeout + 30*time.Second,
			// The heartbeat pushes every minute anyway: retrying sooner than that is enough.
			MaxBackoff: time.Minute,
		})
	}
	return s
}

// Publishing reports whether the service pushes to status-servers.
func (s *Service) Publishing() bool { return s.jobs != nil }

func (s *Service) now() time.Time { return s.opts.Clock().UTC() }

// readTx runs fn in a read transaction, so that one snapshot sees one state of the database
// (on PostgreSQL a repeatable-read snapshot; on SQLite a read transaction of WAL).
func (s *Service) readTx(ctx context.Context, fn func(q store.Querier) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.db.Dialect == store.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.R.BeginTxx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read only: nothing to keep
	return fn(tx)
}
