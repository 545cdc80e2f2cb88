package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"firebreak/statuspage"
	"firebreak/store"
	"firebreak/text"
)

// Component is one line of the status page, as the API shows it.
type Component struct {
	ID        int64      `json:"id" db:"id"`
	Name      string     `json:"name" db:"name"`
	Group     string     `json:"group" db:"group_name"`
	Services  StringList `json:"services" db:"services"`
	Automatic bool       `json:"automatic" db:"automatic"`
	// Status is the status set by hand; nil while the component follows its incidents.
	Status *statuspage.ComponentStatus `json:"status" db:"status"`
	// StatusSince is when Status was set.
	StatusSince *time.Time `json:"status_since" db:"status_since"`
	Description string     `json:"description" db:"description"`
	Position    int        `json:"position" db:"position"`
	// FromConfig: defined in the config file, which alone changes it.
	FromConfig bool `json:"from_config" db:"from_config"`
	// CurrentStatus is what the page shows now.
	CurrentStatus statuspage.ComponentStatus `json:"current_status" db:"-"`
	CreatedAt     time.Time                  `json:"created_at" db:"created_at"`
	UpdatedAt     time.Time                  `json:"updated_at" db:"updated_at"`
}

// Limits on what people type.
const (
	maxName        = 200
	maxDescription = 2000
	maxServices    = 100
)

// ComponentInput is the body of POST and PUT /api/v1/components: fields left out keep their
// value (a PUT changes only what it names); status null or "" returns the component to
// following its incidents.
type ComponentInput struct {
	Name        *string         `json:"name"`
	Group       *string         `json:"group"`
	Services    *[]string       `json:"services"`
	Automatic   *bool           `json:"automatic"`
	Status      json.RawMessage `json:"status"`
	Description *string         `json:"description"`
	Position    *int            `json:"position"`
}

// apply changes c as in says, checking every field.
func (in ComponentInput) apply(c *Component, now time.Time) error {
	var errs []error
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
	}
	errs = append(errs, text.Check("name", c.Name, maxName, true))
	if in.Group != nil {
		c.Group = strings.TrimSpace(*in.Group)
		errs = append(errs, text.Check("group", c.Group, maxName, false))
	}
	if in.Services != nil {
		if len(*in.Services) > maxServices {
			errs = append(errs, fmt.Errorf("services: at most %d allowed", maxServices))
		}
		c.Services = nil
		for i, svc := range *in.Services {
			svc = strings.TrimSpace(svc)
			errs = append(errs, text.Check(fmt.Sprintf("services[%d]", i), svc, maxName, true))
			if !slices.Contains(c.Services, svc) {
				c.Services = append(c.Services, svc)
			}
		}
	}
	if in.Automatic != nil {
		c.Automatic = *in.Automatic
	}
	if in.Description != nil {
		c.Description = strings.TrimSpace(*in.Description)
		errs = append(errs, text.Check("description", c.Description, maxDescription, false))
	}
	if in.Position != nil {
		if *in.Position < 1 {
			errs = append(errs, fmt.Errorf("position must be 1 or more, not %d", *in.Position))
		}
		c.Position = *in.Position
	}
	if in.Status != nil {
		st, err := handStatus(in.Status)
		errs = append(errs, err)
		if err == nil && !equalStatus(st, c.Status) {
			c.Status = st
			c.StatusSince = nil
			if st != nil {
				c.StatusSince = &now
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// handStatus reads the status field: null or "" for none, else a component status.
func handStatus(raw json.RawMessage) (*statuspage.ComponentStatus, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, errors.New("status must be a string or null")
	}
	if s == "" {
		return nil, nil
	}
	st := statuspage.ComponentStatus(s)
	switch st {
	case statuspage.Operational, statuspage.DegradedPerformance, statuspage.PartialOutage, statuspage.MajorOutage, statuspage.UnderMaintenance:
		return &st, nil
	}
	return nil, fmt.Errorf("status %q is not one of operational, degraded_performance, partial_outage, major_outage, under_maintenance (or null to follow incidents)", s)
}

func equalStatus(a, b *statuspage.ComponentStatus) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Components lists the components in page order, each with its current status.
func (s *Service) Components(ctx context.Context) ([]Component, error) {
	var st *state
	err := s.readTx(ctx, func(q store.Querier) error {
		var err error
		st, err = s.readState(ctx, q, s.now(), false)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Component, len(st.components))
	for i, c := range st.components {
		c.CurrentStatus = st.currentStatus(c)
		out[i] = c
	}
	return out, nil
}

// Component reads one component, by id or by name.
func (s *Service) Component(ctx context.Context, ref string) (Component, error) {
	list, err := s.Components(ctx)
	if err != nil {
		return Component{}, err
	}
	for _, c := range list {
		if matches(c, ref) {
			return c, nil
		}
	}
	return Component{}, notFound(ref)
}

func matches(c Component, ref string) bool {
	return c.Name == ref || strconv.FormatInt(c.ID, 10) == ref
}

func notFound(ref string) error {
	return fmt.Errorf("%w: no component %q", ErrNotFound, ref)
}

// CreateComponent adds a component and publishes the page.
func (s *Service) CreateComponent(ctx context.Context, actor string, in ComponentInput) (Component, error) {
	now := s.now()
	c := Component{Automatic: true, CreatedAt: now, UpdatedAt: now}
	if in.Name == nil {
		return Component{}, fmt.Errorf("%w: name is required", ErrInvalid)
	}
	if err := in.apply(&c, now); err != nil {
		return Component{}, err
	}
	err := s.db.InTx(ctx, func(q store.Querier) error {
		if err := checkNameFree(ctx, q, c.Name, 0); err != nil {
			return err
		}
		if in.Position == nil {
			if err := q.GetContext(ctx, &c.Position, `SELECT COALESCE(MAX(position), 0) + 1 FROM statuspage_components`); err != nil {
				return fmt.Errorf("place component: %w", err)
			}
		}
		if err := insertComponent(ctx, q, &c); err != nil {
			return err
		}
		return s.PublishTx(ctx, q)
	})
	if err != nil {
		return Component{}, err
	}
	s.opts.Log.Info("status page component created", "component", c.Name, "by", actor)
	return s.Component(ctx, strconv.FormatInt(c.ID, 10))
}

// UpdateComponent changes the fields in names and publishes the page. Components from the
// config file are refused (ErrConflict).
func (s *Service) UpdateComponent(ctx context.Context, actor, ref string, in ComponentInput) (Component, error) {
	var c Component
	err := s.db.InTx(ctx, func(q store.Querier) error {
		var err error
		if c, err = findComponent(ctx, q, ref); err != nil {
			return err
		}
		if c.FromConfig {
			return definedInConfig(c.Name)
		}
		if err := in.apply(&c, s.now()); err != nil {
			return err
		}
		if err := checkNameFree(ctx, q, c.Name, c.ID); err != nil {
			return err
		}
		c.UpdatedAt = s.now()
		if err := updateComponent(ctx, q, c); err != nil {
			return err
		}
		return s.PublishTx(ctx, q)
	})
	if err != nil {
		return Component{}, err
	}
	s.opts.Log.Info("status page component changed", "component", c.Name, "by", actor)
	return s.Component(ctx, strconv.FormatInt(c.ID, 10))
}

// DeleteComponent removes a component and publishes the page. Components from the config
// file are refused (ErrConflict). Incidents and maintenances naming it simply stop showing it.
func (s *Service) DeleteComponent(ctx context.Context, actor, ref string) error {
	var c Component
	err := s.db.InTx(ctx, func(q store.Querier) error {
		var err error
		if c, err = findComponent(ctx, q, ref); err != nil {
			return err
		}
		if c.FromConfig {
			return definedInConfig(c.Name)
		}
		if _, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM statuspage_components WHERE id = ?`), c.ID); err != nil {
			return fmt.Errorf("delete component %q: %w", c.Name, err)
		}
		return s.PublishTx(ctx, q)
	})
	if err == nil {
		s.opts.Log.Info("status page component deleted", "component", c.Name, "by", actor)
	}
	return err
}

func definedInConfig(name string) error {
	return fmt.Errorf("%w: component %q is defined in config (statuspage.components); change it in the config file", ErrConflict, name)
}

// checkNameFree refuses a name another component (not id) has.
func checkNameFree(ctx context.Context, q store.Querier, name string, id int64) error {
	var n int
	err := q.GetContext(ctx, &n, q.Rebind(`SELECT COUNT(*) FROM statuspage_components WHERE name = ? AND id <> ?`), name, id)
	if err != nil {
		return fmt.Errorf("check component name: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w: a component named %q already exists", ErrConflict, name)
	}
	return nil
}

const componentColumns = `id, name, group_name, services, automatic, status, status_since, description, position,
	from_config, created_at, updated_at`

func listComponents(ctx context.Context, q store.Querier) ([]Component, error) {
	var out []Component
	if err := q.SelectContext(ctx, &out, `SELECT `+componentColumns+` FROM statuspage_components ORDER BY position, id`); err != nil {
		return nil, fmt.Errorf("read components: %w", err)
	}
	for i := range out {
		out[i].normalize()
	}
	return out, nil
}

// findComponent reads a component by id or name.
func findComponent(ctx context.Context, q store.Querier, ref string) (Component, error) {
	var out []Component
	id, _ := strconv.ParseInt(ref, 10, 64)
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT `+componentColumns+` FROM statuspage_components
		WHERE name = ? OR id = ? ORDER BY name = ? DESC LIMIT 1`), ref, id, ref)
	if err != nil {
		return Component{}, fmt.Errorf("read component %q: %w", ref, err)
	}
	if len(out) == 0 {
		return Component{}, notFound(ref)
	}
	out[0].normalize()
	return out[0], nil
}

func insertComponent(ctx context.Context, q store.Querier, c *Component) error {
	err := q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO statuspage_components (name, group_name, services, automatic,
		status, status_since, description, position, from_config, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		c.Name, c.Group, c.Services, c.Automatic, statusArg(c.Status), store.UTC(c.StatusSince), c.Description, c.Position,
		c.FromConfig, c.CreatedAt.UTC(), c.UpdatedAt.UTC()).Scan(&c.ID)
	if err != nil {
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("%w: a component named %q already exists", ErrConflict, c.Name)
		}
		return fmt.Errorf("insert component %q: %w", c.Name, err)
	}
	return nil
}

func updateComponent(ctx context.Context, q store.Querier, c Component) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE statuspage_components SET name = ?, group_name = ?, services = ?,
		automatic = ?, status = ?, status_since = ?, description = ?, position = ?, updated_at = ? WHERE id = ?`),
		c.Name, c.Group, c.Services, c.Automatic, statusArg(c.Status), store.UTC(c.StatusSince), c.Description, c.Position,
		c.UpdatedAt.UTC(), c.ID)
	if err != nil {
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("%w: a component named %q already exists", ErrConflict, c.Name)
		}
		return fmt.Errorf("update component %q: %w", c.Name, err)
	}
	return nil
}

func (c *Component) normalize() {
	c.CreatedAt = c.CreatedAt.UTC()
	c.UpdatedAt = c.UpdatedAt.UTC()
	if c.StatusSince != nil {
		t := c.StatusSince.UTC()
		c.StatusSince = &t
	}
	if c.Services == nil {
		c.Services = StringList{}
	}
}

// statusArg is a hand-set status as a query argument: NULL for none.
func statusArg(st *statuspage.ComponentStatus) any {
	if st == nil {
		return nil
	}
	return string(*st)
}
