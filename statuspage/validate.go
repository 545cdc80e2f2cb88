package statuspage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// maxProblems bounds how many problems one InvalidError lists.
const maxProblems = 20

// InvalidError says why a snapshot cannot be shown; status-server answers it with 400.
type InvalidError struct {
	// Problems are what is wrong, each naming the field ("incidents[3].status: …").
	Problems []string
}

// Error lists the problems on one line.
func (e *InvalidError) Error() string {
	return "invalid snapshot: " + strings.Join(e.Problems, "; ")
}

// Decode reads a snapshot from its JSON encoding and checks it (Validate). Unknown fields
// are ignored; anything after the one JSON object is an error.
func Decode(data []byte) (Snapshot, error) {
	var s Snapshot
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&s); err != nil {
		return Snapshot{}, &InvalidError{Problems: []string{"not a JSON snapshot: " + err.Error()}}
	}
	if dec.More() {
		return Snapshot{}, &InvalidError{Problems: []string{"not a JSON snapshot: more data after the object"}}
	}
	return s, Validate(s)
}

// Validate checks what the renderers rely on: sequence and times present, ids well formed
// and unique, statuses and impacts among Statuspage's values, references pointing at known
// components and groups, every incident with at least one update whose newest carries the
// incident's status, resolved_at set exactly for closed incidents. It returns an
// *InvalidError listing the problems.
func Validate(s Snapshot) error {
	var c checker
	c.snapshot(s)
	if len(c.problems) > 0 {
		return &InvalidError{Problems: c.problems}
	}
	return nil
}

// IsInvalid reports whether err says the snapshot itself is at fault.
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

type checker struct {
	problems []string
	more     int
}

func (c *checker) add(field, format string, args ...any) {
	if len(c.problems) >= maxProblems {
		c.more++
		if c.more == 1 {
			c.problems[maxProblems-1] += " (and more)"
		}
		return
	}
	c.problems = append(c.problems, field+": "+fmt.Sprintf(format, args...))
}

func (c *checker) snapshot(s Snapshot) {
	if s.Sequence < 1 {
		c.add("sequence", "must be at least 1, got %d", s.Sequence)
	}
	c.required("generated_at", s.GeneratedAt)
	c.page(s.Page)

	ids := map[string]string{} // component and group ids → field that declared them
	groups := map[string]bool{}
	for i, g := range s.Groups {
		f := fmt.Sprintf("groups[%d]", i)
		c.id(f+".id", g.ID, ids)
		groups[g.ID] = true
		c.name(f+".name", g.Name)
		c.times(f, g.CreatedAt, g.UpdatedAt)
	}
	components := map[string]bool{}
	for i, comp := range s.Components {
		f := fmt.Sprintf("components[%d]", i)
		c.id(f+".id", comp.ID, ids)
		components[comp.ID] = true
		c.name(f+".name", comp.Name)
		c.componentStatus(f+".status", comp.Status)
		if comp.GroupID != "" && !groups[comp.GroupID] {
			c.add(f+".group_id", "%q is not the id of a group", comp.GroupID)
		}
		if comp.StartDate != "" {
			if _, err := time.Parse(time.DateOnly, comp.StartDate); err != nil {
				c.add(f+".start_date", "%q is not a date (YYYY-MM-DD)", comp.StartDate)
			}
		}
		c.times(f, comp.CreatedAt, comp.UpdatedAt)
		for j, p := range comp.StatusPeriods {
			pf := fmt.Sprintf("%s.status_periods[%d]", f, j)
			c.componentStatus(pf+".status", p.Status)
			c.required(pf+".from", p.From)
			if p.Until != nil && p.Until.Before(p.From) {
				c.add(pf+".until", "is before from")
			}
		}
	}

	events := map[string]string{}
	updates := map[string]string{}
	for i, inc := range s.Incidents {
		f := fmt.Sprintf("incidents[%d]", i)
		c.id(f+".id", inc.ID, events)
		c.name(f+".name", inc.Name)
		if !inc.Status.valid() {
			c.add(f+".status", "%q is not one of investigating, identified, monitoring, resolved, postmortem", inc.Status)
		}
		if !inc.Impact.validIncident() {
			c.add(f+".impact", "%q is not one of none, minor, major, critical", inc.Impact)
		}
		c.times(f, inc.CreatedAt, inc.UpdatedAt)
		c.resolvedAt(f, inc.ResolvedAt, inc.Status.closed(), "resolved or postmortem")
		c.shortlink(f+".shortlink", inc.Shortlink)
		c.componentRefs(f+".component_ids", inc.ComponentIDs, components)
		c.updates(f, inc.Updates, string(inc.Status), updates, func(st string) bool { return IncidentStatus(st).valid() }, components)
	}
	for i, m := range s.Maintenances {
		f := fmt.Sprintf("scheduled_maintenances[%d]", i)
		c.id(f+".id", m.ID, events)
		c.name(f+".name", m.Name)
		if !m.Status.valid() {
			c.add(f+".status", "%q is not one of scheduled, in_progress, verifying, completed", m.Status)
		}
		if !m.Impact.validIncident() && m.Impact != ImpactMaintenance {
			c.add(f+".impact", "%q is not one of none, minor, major, critical, maintenance", m.Impact)
		}
		c.times(f, m.CreatedAt, m.UpdatedAt)
		c.required(f+".scheduled_for", m.ScheduledFor)
		c.required(f+".scheduled_until", m.ScheduledUntil)
		if m.ScheduledUntil.Before(m.ScheduledFor) {
			c.add(f+".scheduled_until", "is before scheduled_for")
		}
		c.resolvedAt(f, m.ResolvedAt, m.Status == Completed, "completed")
		c.shortlink(f+".shortlink", m.Shortlink)
		c.componentRefs(f+".component_ids", m.ComponentIDs, components)
		c.updates(f, m.Updates, string(m.Status), updates, func(st string) bool { return MaintenanceStatus(st).valid() }, components)
	}
}

func (c *checker) page(p Page) {
	if p.URL != "" {
		if err := checkPageURL(p.URL); err != nil {
			c.add("page.url", "%v", err)
		}
	}
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "Local" {
			c.add("page.time_zone", "%q is not an IANA time zone name", p.TimeZone)
		}
	}
	if p.ID != "" && !validID(p.ID) {
		c.add("page.id", "%q must be 1 to 64 letters, digits, '-' or '_'", p.ID)
	}
}

// checkPageURL accepts absolute http and https URLs without query or fragment: links on the
// page are built by appending paths to it.
func checkPageURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must have no query, fragment or user", raw)
	}
	return nil
}

func (c *checker) shortlink(field, raw string) {
	if raw == "" {
		return
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add(field, "%q is not an absolute http or https URL", raw)
	}
}

func (c *checker) id(field, id string, seen map[string]string) {
	if !validID(id) {
		c.add(field, "%q must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit", id)
		return
	}
	if prev, dup := seen[id]; dup {
		c.add(field, "%q is already used by %s", id, prev)
		return
	}
	seen[id] = field
}

// validID keeps ids safe as URL path segments and file names (the static export writes
// incidents/{id}/index.html).
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		case (ch == '-' || ch == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

func (c *checker) name(field, name string) {
	if strings.TrimSpace(name) == "" {
		c.add(field, "is required")
	}
}

func (c *checker) required(field string, t time.Time) {
	if t.IsZero() {
		c.add(field, "is required")
	}
}

func (c *checker) times(prefix string, created, updated time.Time) {
	c.required(prefix+".created_at", created)
	c.required(prefix+".updated_at", updated)
	if !created.IsZero() && !updated.IsZero() && updated.Before(created) {
		c.add(prefix+".updated_at", "is before created_at")
	}
}

func (c *checker) resolvedAt(prefix string, at *time.Time, closed bool, closedWord string) {
	switch {
	case closed && at == nil:
		c.add(prefix+".resolved_at", "is required when the status is %s", closedWord)
	case !closed && at != nil:
		c.add(prefix+".resolved_at", "must be null unless the status is %s", closedWord)
	}
}

func (c *checker) componentStatus(field string, s ComponentStatus) {
	if !s.valid() {
		c.add(field, "%q is not one of operational, degraded_performance, partial_outage, major_outage, under_maintenance", s)
	}
}

func (c *checker) componentRefs(field string, ids []string, known map[string]bool) {
	for i, id := range ids {
		if !known[id] {
			c.add(fmt.Sprintf("%s[%d]", field, i), "%q is not the id of a component", id)
		}
	}
}

// updates checks one incident's or maintenance's updates; newest must carry status.
func (c *checker) updates(prefix string, us []Update, status string, seen map[string]string, validStatus func(string) bool, components map[string]bool) {
	if len(us) == 0 {
		c.add(prefix+".updates", "at least one public update is required")
		return
	}
	newest := 0
	for i, u := range us {
		f := fmt.Sprintf("%s.updates[%d]", prefix, i)
		c.id(f+".id", u.ID, seen)
		if !validStatus(u.Status) {
			c.add(f+".status", "%q is not a status of its incident", u.Status)
		}
		c.required(f+".display_at", u.DisplayAt)
		if !u.CreatedAt.IsZero() && !u.UpdatedAt.IsZero() && u.UpdatedAt.Before(u.CreatedAt) {
			c.add(f+".updated_at", "is before created_at")
		}
		for j, a := range u.AffectedComponents {
			af := fmt.Sprintf("%s.affected_components[%d]", f, j)
			if !components[a.Code] {
				c.add(af+".code", "%q is not the id of a component", a.Code)
			}
			c.componentStatus(af+".old_status", a.OldStatus)
			c.componentStatus(af+".new_status", a.NewStatus)
		}
		if newerUpdate(u, us[newest]) {
			newest = i
		}
	}
	if us[newest].Status != status {
		c.add(fmt.Sprintf("%s.updates[%d].status", prefix, newest), "the newest update's status %q must be the status %q", us[newest].Status, status)
	}
}
