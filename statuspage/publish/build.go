package publish

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"time"

	"firebreak/incidents"
	"firebreak/statuspage"
	"firebreak/store"
)

// Statuspage's standard words for a maintenance window moving on by itself.
const (
	maintenanceScheduledText  = "Maintenance is scheduled."
	maintenanceInProgressText = "Scheduled maintenance is currently in progress. We will provide updates as necessary."
	maintenanceCompletedText  = "The scheduled maintenance has been completed."
)

// Snapshot builds the page from what the database holds now, with sequence 0: the caller
// sets it. It reads in one read transaction, with a handful of queries whatever the history
// holds.
func (s *Service) Snapshot(ctx context.Context) (statuspage.Snapshot, error) {
	now := s.now()
	var st *state
	err := s.readTx(ctx, func(q store.Querier) error {
		var err error
		st, err = s.readState(ctx, q, now, true)
		return err
	})
	if err != nil {
		return statuspage.Snapshot{}, fmt.Errorf("build the status page: %w", err)
	}
	return s.build(st), nil
}

// build turns a state into a snapshot.
func (s *Service) build(st *state) statuspage.Snapshot {
	snap := statuspage.Snapshot{
		GeneratedAt:  st.now,
		Page:         s.opts.Page,
		Groups:       []statuspage.Group{},
		Components:   []statuspage.Component{},
		Incidents:    []statuspage.Incident{},
		Maintenances: []statuspage.Maintenance{},
	}
	snap.Groups, snap.Components = st.pageComponents()
	known := map[int64]bool{}
	for _, c := range st.components {
		known[c.ID] = true
	}
	for _, pi := range st.public {
		if len(pi.Updates) > 0 {
			snap.Incidents = append(snap.Incidents, st.publicIncident(pi))
		}
	}
	for _, m := range st.maintenances {
		snap.Maintenances = append(snap.Maintenances, maintenance(m, known))
	}
	return snap
}

// componentID and groupID are the page's ids: stable across renames, valid as URL parts.
func componentID(id int64) string { return "c" + strconv.FormatInt(id, 10) }

func groupID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "g" + hex.EncodeToString(sum[:6])
}

// pageComponents lays the components out: groups and ungrouped components share the top
// level, in the order of their first component's position; members keep their order.
func (st *state) pageComponents() ([]statuspage.Group, []statuspage.Component) {
	groups := []statuspage.Group{}
	comps := make([]statuspage.Component, 0, len(st.components))
	groupAt := map[string]int{} // group name → index in groups
	top, inGroup := 0, map[string]int{}
	for _, c := range st.components { // in position order
		pc := statuspage.Component{
			ID: componentID(c.ID), Name: c.Name, Status: st.currentStatus(c), Description: c.Description,
			Showcase: true, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, StatusPeriods: st.periods(c),
		}
		if c.Group == "" {
			top++
			pc.Position = top
		} else {
			i, ok := groupAt[c.Group]
			if !ok {
				top++
				i = len(groups)
				groupAt[c.Group] = i
				groups = append(groups, statuspage.Group{ID: groupID(c.Group), Name: c.Group, Position: top,
					CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
			}
			g := &groups[i]
			g.CreatedAt = minTime(g.CreatedAt, c.CreatedAt)
			g.UpdatedAt = maxTime(g.UpdatedAt, c.UpdatedAt)
			inGroup[c.Group]++
			pc.GroupID, pc.Position = g.ID, inGroup[c.Group]
		}
		comps = append(comps, pc)
	}
	return groups, comps
}

// publicIncident is an incident as the page shows it: its public name, its public updates
// (each with the status it set), its status that of the newest, its impact from severity.
func (st *state) publicIncident(pi incidents.PublicIncident) statuspage.Incident {
	updates := slices.Clone(pi.Updates)
	slices.SortStableFunc(updates, func(a, b incidents.Event) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	out := statuspage.Incident{
		ID: strconv.FormatInt(pi.ID, 10), Name: pi.PublicName(), Impact: severityImpact(pi.Severity),
		CreatedAt: updates[0].At, UpdatedAt: updates[len(updates)-1].At, ComponentIDs: []string{},
	}
	status := incidents.PublicInvestigating
	for _, ev := range updates {
		if ev.PublicStatus != "" {
			status = ev.PublicStatus
		} // else written before anything gave it a status: it keeps the one before
		at := ev.At
		out.Updates = append(out.Updates, statuspage.Update{
			// Zero-padded: ids order updates written at the same moment, as strings.
			ID: fmt.Sprintf("u%010d", ev.ID), Status: string(status), Body: ev.Text, DisplayAt: at, CreatedAt: at, UpdatedAt: at,
		})
		if status == incidents.PublicMonitoring {
			out.MonitoringAt = &at
		}
	}
	out.Status = statuspage.IncidentStatus(status)
	if status == incidents.PublicResolved {
		resolved := out.UpdatedAt
		out.ResolvedAt = &resolved
	}
	if pi.ImpactStartedAt.Before(out.CreatedAt) {
		started := pi.ImpactStartedAt
		out.StartedAt = &started
	}
	for _, c := range st.components {
		if affects(c, pi.Incident) {
			out.ComponentIDs = append(out.ComponentIDs, componentID(c.ID))
		}
	}
	return out
}

// maintenance is a maintenance window as the page shows it, with an update for each step
// it took: scheduled (its body), in progress and completed (Statuspage's standard words).
func maintenance(m Maintenance, known map[int64]bool) statuspage.Maintenance {
	id := "m" + strconv.FormatInt(m.ID, 10)
	out := statuspage.Maintenance{
		ID: id, Name: m.Name, Status: statuspage.MaintenanceStatus(m.Status), Impact: statuspage.ImpactMaintenance,
		CreatedAt: m.CreatedAt, StartedAt: m.StartedAt, ScheduledFor: m.ScheduledFor, ScheduledUntil: m.ScheduledUntil,
		ComponentIDs: []string{},
	}
	for _, c := range m.Components {
		if known[c] {
			out.ComponentIDs = append(out.ComponentIDs, componentID(c))
		}
	}
	body := m.Body
	if body == "" {
		body = maintenanceScheduledText
	}
	// A step is never shown before the one it follows: a window entered after its start
	// shows as started when it was entered.
	at := m.CreatedAt
	step := func(n int, status statuspage.MaintenanceStatus, text string, when time.Time) {
		at = maxTime(at, when)
		out.Updates = append(out.Updates, statuspage.Update{ID: fmt.Sprintf("%s-%d", id, n), Status: string(status),
			Body: text, DisplayAt: at, CreatedAt: at, UpdatedAt: at})
	}
	step(1, statuspage.Scheduled, body, m.CreatedAt)
	if m.StartedAt != nil {
		step(2, statuspage.InProgress, maintenanceInProgressText, *m.StartedAt)
	}
	if m.Status == MaintenanceCompleted && m.CompletedAt != nil {
		step(3, statuspage.Completed, maintenanceCompletedText, *m.CompletedAt)
		resolved := at
		out.ResolvedAt = &resolved
	}
	out.UpdatedAt = maxTime(m.UpdatedAt, at)
	return out
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
