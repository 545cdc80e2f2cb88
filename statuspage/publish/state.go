package publish

import (
	"context"
	"slices"
	"time"

	"firebreak/incidents"
	"firebreak/statuspage"
	"firebreak/store"
)

// history is how far back incidents count for the uptime bars: the bars' 90 days, and one
// more for a page whose time zone starts its days before UTC does.
const history = (statuspage.UptimeDays + 1) * 24 * time.Hour

// state is what the page is made of, read at one moment: every status and period is derived
// from it.
type state struct {
	now          time.Time
	components   []Component
	maintenances []Maintenance
	// affecting are the incidents of at least the minimum severity open at some moment of
	// the history.
	affecting []incidents.Incident
	// public are the public incidents with their public updates; read only for a snapshot.
	public []incidents.PublicIncident
}

// readState reads components, maintenances and incidents; withPublic, the public incidents
// too.
func (s *Service) readState(ctx context.Context, q store.Querier, now time.Time, withPublic bool) (*state, error) {
	st := &state{now: now}
	var err error
	if st.components, err = listComponents(ctx, q); err != nil {
		return nil, err
	}
	if st.maintenances, err = listMaintenances(ctx, q); err != nil {
		return nil, err
	}
	if st.affecting, err = incidents.ListAffectingTx(ctx, q, now.Add(-history), s.opts.MinSeverity); err != nil {
		return nil, err
	}
	if withPublic {
		if st.public, err = incidents.ListPublicTx(ctx, q); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// affects reports whether inc affects component c: the components it names, or when it names
// none, those listing its service.
func affects(c Component, inc incidents.Incident) bool {
	if len(inc.PublicComponents) > 0 {
		return slices.Contains(inc.PublicComponents, c.ID)
	}
	return inc.Service != "" && slices.Contains(c.Services, inc.Service)
}

// severityStatus is the component status an incident of sev gives.
func severityStatus(sev incidents.Severity) statuspage.ComponentStatus {
	switch sev {
	case incidents.Sev1:
		return statuspage.MajorOutage
	case incidents.Sev2:
		return statuspage.PartialOutage
	}
	return statuspage.DegradedPerformance
}

// severityImpact is Statuspage's impact of an incident of sev.
func severityImpact(sev incidents.Severity) statuspage.Impact {
	switch sev {
	case incidents.Sev1:
		return statuspage.ImpactCritical
	case incidents.Sev2:
		return statuspage.ImpactMajor
	case incidents.Sev3:
		return statuspage.ImpactMinor
	}
	return statuspage.ImpactNone
}

// statusRank orders component statuses from best to worst.
func statusRank(s statuspage.ComponentStatus) int {
	return slices.Index([]statuspage.ComponentStatus{statuspage.Operational, statuspage.UnderMaintenance,
		statuspage.DegradedPerformance, statuspage.PartialOutage, statuspage.MajorOutage}, s)
}

func worse(a, b statuspage.ComponentStatus) statuspage.ComponentStatus {
	if statusRank(b) > statusRank(a) {
		return b
	}
	return a
}

// currentStatus is the status the page shows for c now: set by hand, else the worst of its
// open incidents (when automatic) and of its maintenance windows under way.
func (st *state) currentStatus(c Component) statuspage.ComponentStatus {
	if c.Status != nil {
		return *c.Status
	}
	status := statuspage.Operational
	if c.Automatic {
		for _, inc := range st.affecting {
			if inc.Open() && affects(c, inc) {
				status = worse(status, severityStatus(inc.Severity))
			}
		}
	}
	for _, m := range st.maintenances {
		if m.Status == MaintenanceInProgress && slices.Contains(m.Components, c.ID) {
			status = worse(status, statuspage.UnderMaintenance)
		}
	}
	return status
}

// periods are the times c was not operational within the history, for the uptime bars.
func (st *state) periods(c Component) []statuspage.StatusPeriod {
	out := []statuspage.StatusPeriod{}
	add := func(status statuspage.ComponentStatus, from time.Time, until *time.Time) {
		if until != nil && until.Before(from) {
			until = &from
		}
		out = append(out, statuspage.StatusPeriod{Status: status, From: from, Until: until})
	}
	if c.Automatic {
		for _, inc := range st.affecting {
			if affects(c, inc) {
				add(severityStatus(inc.Severity), inc.ImpactStartedAt, inc.ResolvedAt)
			}
		}
	}
	for _, m := range st.maintenances {
		if m.StartedAt != nil && slices.Contains(m.Components, c.ID) {
			add(statuspage.UnderMaintenance, *m.StartedAt, m.CompletedAt)
		}
	}
	if c.Status != nil && *c.Status != statuspage.Operational {
		since := c.UpdatedAt
		if c.StatusSince != nil {
			since = *c.StatusSince
		}
		add(*c.Status, since, nil)
	}
	return out
}
