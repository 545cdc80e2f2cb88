package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"firebreak/incidents"
	"firebreak/store"
	"firebreak/text"
)

// MaintenanceStatus is where a maintenance window stands; it follows the clock.
type MaintenanceStatus string

// Maintenance statuses, in Statuspage's words.
const (
	MaintenanceScheduled  MaintenanceStatus = "scheduled"
	MaintenanceInProgress MaintenanceStatus = "in_progress"
	MaintenanceCompleted  MaintenanceStatus = "completed"
)

// Maintenance is a scheduled maintenance window, as the API shows it.
type Maintenance struct {
	ID   int64  `json:"id" db:"id"`
	Name string `json:"name" db:"name"`
	// Body is what the page says about it.
	Body string `json:"body" db:"body"`
	// Components are the ids of the components under maintenance; ComponentNames name them.
	Components     incidents.IDList  `json:"-" db:"components"`
	ComponentNames []string          `json:"components" db:"-"`
	ScheduledFor   time.Time         `json:"scheduled_for" db:"scheduled_for"`
	ScheduledUntil time.Time         `json:"scheduled_until" db:"scheduled_until"`
	Status         MaintenanceStatus `json:"status" db:"status"`
	StartedAt      *time.Time        `json:"started_at" db:"started_at"`
	CompletedAt    *time.Time        `json:"completed_at" db:"completed_at"`
	CreatedBy      string            `json:"created_by" db:"created_by"`
	CreatedAt      time.Time         `json:"created_at" db:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at" db:"updated_at"`
}

// MaintenanceInput is the body of POST and PUT /api/v1/maintenances; fields left out keep
// their value (POST needs name, scheduled_for and scheduled_until). Components are named by
// name (a string) or id (a number).
type MaintenanceInput struct {
	Name           *string            `json:"name"`
	Body           *string            `json:"body"`
	Components     *[]json.RawMessage `json:"components"`
	ScheduledFor   *time.Time         `json:"scheduled_for"`
	ScheduledUntil *time.Time         `json:"scheduled_until"`
}

// follow moves the status to what the clock says: scheduled before the window, in progress
// within it, completed after it. It reports whether anything changed.
func (m *Maintenance) follow(now time.Time) bool {
	before := *m
	switch {
	case now.Before(m.ScheduledFor):
		m.Status, m.StartedAt, m.CompletedAt = MaintenanceScheduled, nil, nil
	case now.Before(m.ScheduledUntil):
		m.Status, m.CompletedAt = MaintenanceInProgress, nil
		if m.StartedAt == nil {
			m.StartedAt = timePtr(m.ScheduledFor)
		}
	default:
		m.Status = MaintenanceCompleted
		if m.StartedAt == nil {
			m.StartedAt = timePtr(m.ScheduledFor)
		}
		m.CompletedAt = timePtr(m.ScheduledUntil)
	}
	return m.Status != before.Status || !sameTime(m.StartedAt, before.StartedAt) || !sameTime(m.CompletedAt, before.CompletedAt)
}

func timePtr(t time.Time) *time.Time { return &t }

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// apply changes m as in says and checks the result.
func (s *Service) applyMaintenance(ctx context.Context, q store.Querier, m *Maintenance, in MaintenanceInput) error {
	var errs []error
	if in.Name != nil {
		m.Name = strings.TrimSpace(*in.Name)
	}
	errs = append(errs, text.Check("name", m.Name, maxName, true))
	if in.Body != nil {
		m.Body = strings.TrimSpace(*in.Body)
		errs = append(errs, text.Check("body", m.Body, incidents.MaxNote, false))
	}
	if in.ScheduledFor != nil {
		m.ScheduledFor = in.ScheduledFor.UTC()
	}
	if in.ScheduledUntil != nil {
		m.ScheduledUntil = in.ScheduledUntil.UTC()
	}
	switch {
	case m.ScheduledFor.IsZero():
		errs = append(errs, errors.New("scheduled_for is required"))
	case m.ScheduledUntil.IsZero():
		errs = append(errs, errors.New("scheduled_until is required"))
	case m.ScheduledFor.Before(incidents.Epoch):
		errs = append(errs, errors.New("scheduled_for is before 1970"))
	case !m.ScheduledUntil.After(m.ScheduledFor):
		errs = append(errs, fmt.Errorf("scheduled_until %s ends before it starts (scheduled_for %s)",
			m.ScheduledUntil.Format(time.RFC3339), m.ScheduledFor.Format(time.RFC3339)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if in.Components != nil {
		ids, names, err := resolveTx(ctx, q, *in.Components)
		if err != nil {
			return err
		}
		m.Components, m.ComponentNames = ids, names
	}
	m.follow(s.now())
	return nil
}

// Maintenances lists the maintenance windows, latest scheduled first.
func (s *Service) Maintenances(ctx context.Context) ([]Maintenance, error) {
	list, err := listMaintenances(ctx, s.db.R)
	if err != nil {
		return nil, err
	}
	comps, err := listComponents(ctx, s.db.R)
	if err != nil {
		return nil, err
	}
	out := make([]Maintenance, 0, len(list))
	for i := len(list) - 1; i >= 0; i-- {
		out = append(out, named(list[i], comps))
	}
	return out, nil
}

// Maintenance reads one maintenance window.
func (s *Service) Maintenance(ctx context.Context, id int64) (Maintenance, error) {
	m, err := getMaintenance(ctx, s.db.R, id)
	if err != nil {
		return Maintenance{}, err
	}
	comps, err := listComponents(ctx, s.db.R)
	if err != nil {
		return Maintenance{}, err
	}
	return named(m, comps), nil
}

// named fills in the names of m's components that still exist.
func named(m Maintenance, comps []Component) Maintenance {
	m.ComponentNames = []string{}
	for _, id := range m.Components {
		for _, c := range comps {
			if c.ID == id {
				m.ComponentNames = append(m.ComponentNames, c.Name)
			}
		}
	}
	return m
}

// CreateMaintenance schedules a maintenance window and publishes the page. Its status
// follows the clock from the start: a window already under way is in progress at once.
func (s *Service) CreateMaintenance(ctx context.Context, actor string, in MaintenanceInput) (Maintenance, error) {
	now := s.now()
	m := Maintenance{CreatedBy: actor, CreatedAt: now, UpdatedAt: now, Components: incidents.IDList{}}
	err := s.db.InTx(ctx, func(q store.Querier) error {
		if err := s.applyMaintenance(ctx, q, &m, in); err != nil {
			return err
		}
		if err := insertMaintenance(ctx, q, &m); err != nil {
			return err
		}
		return s.PublishTx(ctx, q)
	})
	if err != nil {
		return Maintenance{}, err
	}
	s.opts.Log.Info("maintenance scheduled", "maintenance", m.Name, "from", m.ScheduledFor, "until", m.ScheduledUntil, "by", actor)
	return s.Maintenance(ctx, m.ID)
}

// UpdateMaintenance changes the fields in names and publishes the page.
func (s *Service) UpdateMaintenance(ctx context.Context, actor string, id int64, in MaintenanceInput) (Maintenance, error) {
	err := s.db.InTx(ctx, func(q store.Querier) error {
		m, err := getMaintenance(ctx, q, id)
		if err != nil {
			return err
		}
		if err := s.applyMaintenance(ctx, q, &m, in); err != nil {
			return err
		}
		m.UpdatedAt = s.now()
		if err := updateMaintenance(ctx, q, m); err != nil {
			return err
		}
		return s.PublishTx(ctx, q)
	})
	if err != nil {
		return Maintenance{}, err
	}
	s.opts.Log.Info("maintenance changed", "maintenance", id, "by", actor)
	return s.Maintenance(ctx, id)
}

// DeleteMaintenance removes a maintenance window and publishes the page.
func (s *Service) DeleteMaintenance(ctx context.Context, actor string, id int64) error {
	err := s.db.InTx(ctx, func(q store.Querier) error {
		res, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM statuspage_maintenances WHERE id = ?`), id)
		if err != nil {
			return fmt.Errorf("delete maintenance %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete maintenance %d: %w", id, err)
		} else if n == 0 {
			return fmt.Errorf("%w: no maintenance %d", ErrNotFound, id)
		}
		return s.PublishTx(ctx, q)
	})
	if err == nil {
		s.opts.Log.Info("maintenance deleted", "maintenance", id, "by", actor)
	}
	return err
}

// AdvanceMaintenancesTx starts and ends the windows whose time has come, and publishes the
// page when one did; the scheduled maintenance job runs it every minute. It reports how many
// changed.
func (s *Service) AdvanceMaintenancesTx(ctx context.Context, q store.Querier, now time.Time) (int, error) {
	var due []Maintenance
	err := q.SelectContext(ctx, &due, q.Rebind(`SELECT `+maintenanceColumns+` FROM statuspage_maintenances
		WHERE (status = 'scheduled' AND scheduled_for <= ?) OR (status = 'in_progress' AND scheduled_until <= ?)`), now.UTC(), now.UTC())
	if err != nil {
		return 0, fmt.Errorf("read maintenances due: %w", err)
	}
	changed := 0
	for _, m := range due {
		m.normalize()
		if !m.follow(now) {
			continue
		}
		m.UpdatedAt = now.UTC()
		if err := updateMaintenance(ctx, q, m); err != nil {
			return 0, err
		}
		s.opts.Log.Info("maintenance window moved on", "maintenance", m.Name, "status", m.Status)
		changed++
	}
	if changed > 0 {
		return changed, s.PublishTx(ctx, q)
	}
	return 0, nil
}

const maintenanceColumns = `id, name, body, components, scheduled_for, scheduled_until, status, started_at,
	completed_at, created_by, created_at, updated_at`

// listMaintenances returns every maintenance window, earliest scheduled first.
func listMaintenances(ctx context.Context, q store.Querier) ([]Maintenance, error) {
	var out []Maintenance
	err := q.SelectContext(ctx, &out, `SELECT `+maintenanceColumns+` FROM statuspage_maintenances ORDER BY scheduled_for, id`)
	if err != nil {
		return nil, fmt.Errorf("read maintenances: %w", err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}

func getMaintenance(ctx context.Context, q store.Querier, id int64) (Maintenance, error) {
	var out []Maintenance
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT `+maintenanceColumns+` FROM statuspage_maintenances WHERE id = ?`), id)
	if err != nil {
		return Maintenance{}, fmt.Errorf("read maintenance %d: %w", id, err)
	}
	if len(out) == 0 {
		return Maintenance{}, fmt.Errorf("%w: no maintenance %d", ErrNotFound, id)
	}
	out[0].normalize()
	return out[0], nil
}

func insertMaintenance(ctx context.Context, q store.Querier, m *Maintenance) error {
	err := q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO statuspage_maintenances (name, body, components, scheduled_for,
		scheduled_until, status, started_at, completed_at, created_by, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		m.Name, m.Body, m.Components, m.ScheduledFor.UTC(), m.ScheduledUntil.UTC(), string(m.Status), store.UTC(m.StartedAt),
		store.UTC(m.CompletedAt), m.CreatedBy, m.CreatedAt.UTC(), m.UpdatedAt.UTC()).Scan(&m.ID)
	if err != nil {
		return fmt.Errorf("insert maintenance %q: %w", m.Name, err)
	}
	return nil
}

func updateMaintenance(ctx context.Context, q store.Querier, m Maintenance) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE statuspage_maintenances SET name = ?, body = ?, components = ?,
		scheduled_for = ?, scheduled_until = ?, status = ?, started_at = ?, completed_at = ?, updated_at = ? WHERE id = ?`),
		m.Name, m.Body, m.Components, m.ScheduledFor.UTC(), m.ScheduledUntil.UTC(), string(m.Status), store.UTC(m.StartedAt),
		store.UTC(m.CompletedAt), m.UpdatedAt.UTC(), m.ID)
	if err != nil {
		return fmt.Errorf("update maintenance %d: %w", m.ID, err)
	}
	return nil
}

func (m *Maintenance) normalize() {
	m.ScheduledFor = m.ScheduledFor.UTC()
	m.ScheduledUntil = m.ScheduledUntil.UTC()
	m.CreatedAt = m.CreatedAt.UTC()
	m.UpdatedAt = m.UpdatedAt.UTC()
	for _, p := range []**time.Time{&m.StartedAt, &m.CompletedAt} {
		if *p != nil {
			t := (*p).UTC()
			*p = &t
		}
	}
}
