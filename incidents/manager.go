package incidents

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"firebreak/store"
	"firebreak/text"
)

// Hook runs inside the transaction of every incident change, after the change and its
// timeline event are written. Other packages use it to enqueue work (Slack messages, status
// pushes) that must happen if and only if the change commits.
type Hook func(ctx context.Context, q store.Querier, inc Incident, ev Event) error

// BatchHook is a Hook that hears of the events recorded together (an alert storm's lines)
// at once, after each one's Hooks ran, so that work owed once per incident (a Slack message
// brought up to date) is enqueued once, not once per line. A single event comes alone.
type BatchHook func(ctx context.Context, q store.Querier, recs []Recording) error

// Manager applies incident rules against the database.
type Manager struct {
	db        *store.DB
	clock     func() time.Time
	hooks     []Hook
	batches   []BatchHook
	write     Writer
	envs      EnvironmentAliases
	summaries summaryLines
}

// Writer runs fn in a write transaction: store.DB.InTx by default, or a group committer's
// Do, which lets concurrent changes share one commit (one fsync on SQLite).
type Writer func(ctx context.Context, fn func(ctx context.Context, q store.Querier) error) error

// NewManager returns a Manager; clock is injectable so time rules can be tested.
func NewManager(db *store.DB, clock func() time.Time) *Manager {
	if clock == nil {
		clock = time.Now
	}
	m := &Manager{db: db, clock: clock}
	m.write = func(ctx context.Context, fn func(ctx context.Context, q store.Querier) error) error {
		return db.InTx(ctx, func(q store.Querier) error { return fn(ctx, q) })
	}
	return m
}

// WriteThrough routes the manager's own changes (declare, transitions, notes) through w.
// Call it while wiring, before serving.
func (m *Manager) WriteThrough(w Writer) { m.write = w }

// OnChange registers a hook. Call it while wiring, before serving.
func (m *Manager) OnChange(h Hook) { m.hooks = append(m.hooks, h) }

// OnChanges registers a batch hook. Call it while wiring, before serving.
func (m *Manager) OnChanges(h BatchHook) { m.batches = append(m.batches, h) }

// Now is the manager's clock, in UTC.
func (m *Manager) Now() time.Time { return m.clock().UTC() }

// Epoch is the earliest time accepted anywhere: earlier ones are typos that would wreck
// the MTTR report.
var Epoch = time.Unix(0, 0).UTC()

// Limits on what people type, so one request cannot fill the database or a Slack message.
const (
	MaxTitle   = 300
	MaxSummary = 20000
	MaxName    = 200
	MaxNote    = 20000
)

// DeclareInput is an incident declared by a person.
type DeclareInput struct {
	Title           string     `json:"title"`
	Severity        string     `json:"severity"`
	Service         string     `json:"service"`
	Environment     string     `json:"environment"`
	Summary         string     `json:"summary"`
	ImpactStartedAt *time.Time `json:"impact_started_at"`
}

// Declare opens an incident by hand.
func (m *Manager) Declare(ctx context.Context, actor string, in DeclareInput) (Incident, error) {
	now := m.Now()
	in.Title = strings.TrimSpace(in.Title)
	if err := checkText("title", in.Title, MaxTitle, true); err != nil {
		return Incident{}, err
	}
	sev, err := ParseSeverity(in.Severity)
	if err != nil {
		return Incident{}, err
	}
	if err := errors.Join(checkText("service", in.Service, MaxName, false),
		checkText("environment", in.Environment, MaxName, false),
		checkText("summary", in.Summary, MaxSummary, false)); err != nil {
		return Incident{}, err
	}
	in.Environment = m.envs.Canonical(in.Environment)
	impact := now
	if in.ImpactStartedAt != nil {
		if in.ImpactStartedAt.Before(Epoch) {
			return Incident{}, fmt.Errorf("%w: impact_started_at %s is before 1970", ErrInvalid, in.ImpactStartedAt.UTC().Format(time.RFC3339))
		}
		if in.ImpactStartedAt.After(now.Add(time.Minute)) {
			return Incident{}, fmt.Errorf("%w: impact_started_at %s is in the future", ErrInvalid, in.ImpactStartedAt.UTC().Format(time.RFC3339))
		}
		impact = in.ImpactStartedAt.UTC()
		if impact.After(now) {
			impact = now
		}
	}
	declared := Incident{Title: in.Title, Status: Observing, Severity: sev, Service: in.Service,
		Environment: in.Environment, Summary: in.Summary, ImpactStartedAt: impact, OpenedAt: now, UpdatedAt: now,
		DeclaredBy: &actor}
	var inc Incident
	err = m.write(ctx, func(ctx context.Context, q store.Querier) error {
		// A group commit may replay this function after another request's error: start
		// from the declared input every time, never from what a first attempt left behind.
		inc = declared
		if inc.Service != "" {
			if err := m.LockGroupTx(ctx, q, ServiceLockKey(inc.Service, inc.Environment)); err != nil {
				return err
			}
		}
		if err := m.CreateTx(ctx, q, &inc, Event{At: now, Actor: actor, Kind: KindDeclared,
			Text: fmt.Sprintf("Declared by %s as %s: %s", actor, sev, in.Title)}); err != nil {
			return err
		}
		// Hooks may have moved it on already (an auto rollback starts remediation).
		var err error
		inc, err = getIncident(ctx, q, inc.ID)
		return err
	})
	return inc, err
}

// CreateTx inserts inc and its first timeline event inside the caller's transaction.
func (m *Manager) CreateTx(ctx context.Context, q store.Querier, inc *Incident, first Event) error {
	if err := insertIncident(ctx, q, inc); err != nil {
		return err
	}
	first.IncidentID = inc.ID
	return m.recordTx(ctx, q, *inc, &first)
}

// Transition applies action to incident id and records it on the timeline.
func (m *Manager) Transition(ctx context.Context, id int64, action Action, actor, note string) (Incident, error) {
	if err := checkText("note", note, MaxNote, false); err != nil {
		return Incident{}, err
	}
	var inc Incident
	err := m.write(ctx, func(ctx context.Context, q store.Querier) error {
		var err error
		inc, err = m.TransitionTx(ctx, q, id, action, actor, note)
		return err
	})
	return inc, err
}

// TransitionTx is Transition inside the caller's transaction.
func (m *Manager) TransitionTx(ctx context.Context, q store.Querier, id int64, action Action, actor, note string) (Incident, error) {
	return m.UpdateTx(ctx, q, id, func(inc *Incident) (Event, error) {
		return apply(inc, action, m.Now(), actor, strings.TrimSpace(note))
	})
}

// UpdateTx reads incident id, lets change modify it and name the timeline event, and writes
// both. If another writer changed the incident in between, it reads again and retries, so
// rules are always checked against the latest state.
func (m *Manager) UpdateTx(ctx context.Context, q store.Querier, id int64, change func(inc *Incident) (Event, error)) (Incident, error) {
	for attempt := 0; ; attempt++ {
		inc, err := getIncident(ctx, q, id)
		if err != nil {
			return Incident{}, err
		}
		ev, err := change(&inc)
		if err != nil {
			return Incident{}, err
		}
		inc.UpdatedAt = m.Now()
		err = updateIncident(ctx, q, &inc)
		if errors.Is(err, errStale) {
			if attempt < 5 {
				continue
			}
			err = fmt.Errorf("%w: %w", ErrContended, err)
		}
		if err != nil {
			return Incident{}, err
		}
		ev.IncidentID = inc.ID
		if ev.At.IsZero() {
			ev.At = inc.UpdatedAt
		}
		if ev.Kind == "" {
			return inc, nil
		}
		return inc, m.recordTx(ctx, q, inc, &ev)
	}
}

// AddNote adds a note to the timeline. A public note is a status page update.
func (m *Manager) AddNote(ctx context.Context, id int64, actor, text string, public bool) (Event, error) {
	text = strings.TrimSpace(text)
	if err := checkText("text", text, MaxNote, true); err != nil {
		return Event{}, err
	}
	ev := Event{IncidentID: id, At: m.Now(), Actor: actor, Kind: KindNote, Text: text, Public: public}
	if public {
		ev.Kind = KindStatusUpdate
	}
	err := m.write(ctx, func(ctx context.Context, q store.Querier) error {
		inc, err := getIncident(ctx, q, id)
		if err != nil {
			return err
		}
		return m.recordTx(ctx, q, inc, &ev)
	})
	return ev, err
}

// RecordTx appends a timeline event to an incident inside the caller's transaction, for
// events other packages observe (an alert fired, a deploy matched, a hook answered).
func (m *Manager) RecordTx(ctx context.Context, q store.Querier, inc Incident, ev Event) (Event, error) {
	ev.IncidentID = inc.ID
	if ev.At.IsZero() {
		ev.At = m.Now()
	}
	err := m.recordTx(ctx, q, inc, &ev)
	return ev, err
}

func (m *Manager) recordTx(ctx context.Context, q store.Querier, inc Incident, ev *Event) error {
	if err := insertEvent(ctx, q, ev); err != nil {
		return err
	}
	return m.runHooks(ctx, q, inc, *ev)
}

// runHooks tells every hook of a timeline event, inside its transaction.
func (m *Manager) runHooks(ctx context.Context, q store.Querier, inc Incident, ev Event) error {
	return m.runHooksMany(ctx, q, []Recording{{Incident: inc, Event: ev}})
}

// runHooksMany tells every hook of events recorded together, in order, then every batch
// hook of all of them at once.
func (m *Manager) runHooksMany(ctx context.Context, q store.Querier, recs []Recording) error {
	for _, r := range recs {
		for _, h := range m.hooks {
			if err := h(ctx, q, r.Incident, r.Event); err != nil {
				return fmt.Errorf("incident %d change hook: %w", r.Incident.ID, err)
			}
		}
	}
	if len(recs) == 0 {
		return nil
	}
	for _, h := range m.batches {
		if err := h(ctx, q, recs); err != nil {
			return fmt.Errorf("incident change hook of %d events: %w", len(recs), err)
		}
	}
	return nil
}

// Get reads one incident.
func (m *Manager) Get(ctx context.Context, id int64) (Incident, error) {
	return getIncident(ctx, m.db.R, id)
}

// GetTx reads one incident inside the caller's transaction.
func (m *Manager) GetTx(ctx context.Context, q store.Querier, id int64) (Incident, error) {
	return getIncident(ctx, q, id)
}

// GetManyTx reads several incidents inside the caller's transaction, in one statement; an id
// with no incident is missing from the map.
func (m *Manager) GetManyTx(ctx context.Context, q store.Querier, ids []int64) (map[int64]Incident, error) {
	return getIncidents(ctx, q, ids)
}

// Timeline reads an incident's timeline, oldest first.
func (m *Manager) Timeline(ctx context.Context, id int64) ([]Event, error) {
	return listEvents(ctx, m.db.R, id)
}

// List returns incidents newest first, and the cursor of the next page (0 when none).
func (m *Manager) List(ctx context.Context, f Filter) ([]Incident, int64, error) {
	return store.Page(f.Limit, func(limit int) ([]Incident, error) {
		f.Limit = limit
		return listIncidents(ctx, m.db.R, f)
	}, func(inc Incident) int64 { return inc.ID })
}

// ListTx returns incidents matching f inside the caller's transaction.
func (m *Manager) ListTx(ctx context.Context, q store.Querier, f Filter) ([]Incident, error) {
	return listIncidents(ctx, q, f)
}

// checkText validates a free-text field a person supplied.
func checkText(field, s string, max int, required bool) error {
	if err := text.Check(field, s, max, required); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}
