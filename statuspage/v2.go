package statuspage

import (
	"encoding/json"
	"time"
)

// Statuspage's public v2 JSON, derived from the snapshot. Field order follows the tables of
// Statuspage's API description; every nullable field is present, null when empty.

// maxListed is how many incidents or maintenances incidents.json and
// scheduled-maintenances.json hold, as on Statuspage.
const maxListed = 50

// V2Paths are the eight endpoints, relative to the site root.
var V2Paths = []string{
	"/api/v2/summary.json",
	"/api/v2/status.json",
	"/api/v2/components.json",
	"/api/v2/incidents.json",
	"/api/v2/incidents/unresolved.json",
	"/api/v2/scheduled-maintenances.json",
	"/api/v2/scheduled-maintenances/upcoming.json",
	"/api/v2/scheduled-maintenances/active.json",
}

type v2Page struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	TimeZone  string `json:"time_zone"`
	UpdatedAt string `json:"updated_at"`
}

type v2Component struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Status             string    `json:"status"`
	CreatedAt          string    `json:"created_at"`
	UpdatedAt          string    `json:"updated_at"`
	Position           int       `json:"position"`
	Description        *string   `json:"description"`
	Showcase           bool      `json:"showcase"`
	StartDate          *string   `json:"start_date"`
	GroupID            *string   `json:"group_id"`
	PageID             string    `json:"page_id"`
	Group              bool      `json:"group"`
	OnlyShowIfDegraded bool      `json:"only_show_if_degraded"`
	Components         *[]string `json:"components,omitempty"` // group containers only
}

type v2Incident struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Status          string        `json:"status"`
	CreatedAt       string        `json:"created_at"`
	UpdatedAt       string        `json:"updated_at"`
	MonitoringAt    *string       `json:"monitoring_at"`
	ResolvedAt      *string       `json:"resolved_at"`
	Impact          string        `json:"impact"`
	Shortlink       string        `json:"shortlink"`
	StartedAt       string        `json:"started_at"`
	PageID          string        `json:"page_id"`
	IncidentUpdates []v2Update    `json:"incident_updates"`
	Components      []v2Component `json:"components"`
}

type v2Maintenance struct {
	v2Incident
	ScheduledFor   string `json:"scheduled_for"`
	ScheduledUntil string `json:"scheduled_until"`
}

type v2Update struct {
	ID                   string               `json:"id"`
	Status               string               `json:"status"`
	Body                 string               `json:"body"`
	IncidentID           string               `json:"incident_id"`
	CreatedAt            string               `json:"created_at"`
	UpdatedAt            string               `json:"updated_at"`
	DisplayAt            string               `json:"display_at"`
	AffectedComponents   *[]AffectedComponent `json:"affected_components"`
	DeliverNotifications bool                 `json:"deliver_notifications"`
	CustomTweet          *string              `json:"custom_tweet"`
	TweetID              *string              `json:"tweet_id"`
}

// v2JSON renders the eight endpoints, keyed by path.
func (v *view) v2JSON() (map[string][]byte, error) {
	page := v2Page{ID: v.pageID, Name: v.name, URL: v.url, TimeZone: v.loc.String(), UpdatedAt: v.apiTime(v.updatedAt)}
	if page.TimeZone == "UTC" {
		page.TimeZone = "Etc/UTC"
	}
	components := v.v2Components()
	unresolved := v.v2Incidents(v.unresolved())
	upcoming := v.v2Maintenances(v.maintenancesWhere(func(s MaintenanceStatus) bool { return s == Scheduled }))
	active := v.v2Maintenances(v.maintenancesWhere(MaintenanceStatus.active))
	current := v.v2Maintenances(v.maintenancesWhere(func(s MaintenanceStatus) bool { return s != Completed }))

	docs := map[string]any{
		"/api/v2/summary.json": struct {
			Page                  v2Page          `json:"page"`
			Components            []v2Component   `json:"components"`
			Incidents             []v2Incident    `json:"incidents"`
			ScheduledMaintenances []v2Maintenance `json:"scheduled_maintenances"`
			Status                Status          `json:"status"`
		}{page, components, unresolved, current, v.status},
		"/api/v2/status.json": struct {
			Page   v2Page `json:"page"`
			Status Status `json:"status"`
		}{page, v.status},
		"/api/v2/components.json":                      v2ComponentsDoc{page, components},
		"/api/v2/incidents.json":                       v2IncidentsDoc{page, v.v2Incidents(firstN(v.incidents, maxListed))},
		"/api/v2/incidents/unresolved.json":            v2IncidentsDoc{page, unresolved},
		"/api/v2/scheduled-maintenances.json":          v2MaintenancesDoc{page, v.v2Maintenances(firstN(v.maintenances, maxListed))},
		"/api/v2/scheduled-maintenances/upcoming.json": v2MaintenancesDoc{page, upcoming},
		"/api/v2/scheduled-maintenances/active.json":   v2MaintenancesDoc{page, active},
	}
	out := make(map[string][]byte, len(docs))
	for path, doc := range docs {
		b, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		out[path] = b
	}
	return out, nil
}

type v2ComponentsDoc struct {
	Page       v2Page        `json:"page"`
	Components []v2Component `json:"components"`
}

type v2IncidentsDoc struct {
	Page      v2Page       `json:"page"`
	Incidents []v2Incident `json:"incidents"`
}

type v2MaintenancesDoc struct {
	Page                  v2Page          `json:"page"`
	ScheduledMaintenances []v2Maintenance `json:"scheduled_maintenances"`
}

func firstN[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// v2Components lists every component in page order: each group container followed by its
// members, ungrouped components in their place among the groups.
func (v *view) v2Components() []v2Component {
	out := make([]v2Component, 0, len(v.snap.Components)+len(v.snap.Groups))
	for _, e := range v.top {
		if e.component != nil {
			out = append(out, v.v2Component(e.component))
			continue
		}
		g := e.group
		ids := make([]string, 0, len(v.members[g.ID]))
		for _, c := range v.members[g.ID] {
			ids = append(ids, c.ID)
		}
		out = append(out, v2Component{
			ID: g.ID, Name: g.Name, Status: string(v.groupStatus[g.ID]),
			CreatedAt: v.apiTime(g.CreatedAt), UpdatedAt: v.apiTime(v.groupUpdatedAt(g)),
			Position: g.Position, Description: nullable(g.Description), PageID: v.pageID,
			Group: true, Components: &ids,
		})
		for _, c := range v.members[g.ID] {
			out = append(out, v.v2Component(c))
		}
	}
	return out
}

func (v *view) v2Component(c *Component) v2Component {
	return v2Component{
		ID: c.ID, Name: c.Name, Status: string(c.Status),
		CreatedAt: v.apiTime(c.CreatedAt), UpdatedAt: v.apiTime(c.UpdatedAt),
		Position: c.Position, Description: nullable(c.Description), Showcase: c.Showcase,
		StartDate: nullable(c.StartDate), GroupID: nullable(c.GroupID), PageID: v.pageID,
		OnlyShowIfDegraded: c.OnlyShowIfDegraded,
	}
}

func (v *view) v2Incidents(incs []*Incident) []v2Incident {
	out := make([]v2Incident, 0, len(incs))
	for _, i := range incs {
		started := i.CreatedAt
		if i.StartedAt != nil {
			started = *i.StartedAt
		}
		out = append(out, v.v2Event(i.ID, i.Name, string(i.Status), string(i.Impact), i.CreatedAt, i.UpdatedAt,
			started, i.MonitoringAt, i.ResolvedAt, i.Shortlink, i.ComponentIDs, i.Updates))
	}
	return out
}

func (v *view) v2Maintenances(ms []*Maintenance) []v2Maintenance {
	out := make([]v2Maintenance, 0, len(ms))
	for _, m := range ms {
		started := m.ScheduledFor
		if m.StartedAt != nil {
			started = *m.StartedAt
		}
		out = append(out, v2Maintenance{
			v2Incident: v.v2Event(m.ID, m.Name, string(m.Status), string(m.Impact), m.CreatedAt, m.UpdatedAt,
				started, m.MonitoringAt, m.ResolvedAt, m.Shortlink, m.ComponentIDs, m.Updates),
			ScheduledFor:   v.apiTime(m.ScheduledFor),
			ScheduledUntil: v.apiTime(m.ScheduledUntil),
		})
	}
	return out
}

func (v *view) v2Event(id, name, status, impact string, created, updated, started time.Time,
	monitoring, resolved *time.Time, shortlink string, componentIDs []string, updates []Update) v2Incident {
	if shortlink == "" {
		shortlink = v.incidentURL(id)
	}
	inc := v2Incident{
		ID: id, Name: name, Status: status,
		CreatedAt: v.apiTime(created), UpdatedAt: v.apiTime(updated),
		MonitoringAt: v.apiTimePtr(monitoring), ResolvedAt: v.apiTimePtr(resolved),
		Impact: impact, Shortlink: shortlink, StartedAt: v.apiTime(started), PageID: v.pageID,
		IncidentUpdates: make([]v2Update, 0, len(updates)),
		Components:      make([]v2Component, 0, len(componentIDs)),
	}
	for _, u := range updates {
		inc.IncidentUpdates = append(inc.IncidentUpdates, v.v2Update(id, u))
	}
	for _, c := range v.affected(componentIDs) {
		inc.Components = append(inc.Components, v.v2Component(c))
	}
	return inc
}

func (v *view) v2Update(incidentID string, u Update) v2Update {
	created := u.CreatedAt
	if created.IsZero() {
		created = u.DisplayAt
	}
	updated := u.UpdatedAt
	if updated.IsZero() {
		updated = created
	}
	var affected *[]AffectedComponent
	if len(u.AffectedComponents) > 0 {
		affected = &u.AffectedComponents
	}
	return v2Update{
		ID: u.ID, Status: u.Status, Body: u.Body, IncidentID: incidentID,
		CreatedAt: v.apiTime(created), UpdatedAt: v.apiTime(updated), DisplayAt: v.apiTime(u.DisplayAt),
		AffectedComponents: affected,
		// Every update is published to the page's feeds, so its subscribers were told.
		DeliverNotifications: true,
	}
}

// affected are the components with the given ids, in page order, each once.
func (v *view) affected(ids []string) []*Component {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var out []*Component
	v.eachComponent(func(c *Component) {
		if want[c.ID] {
			out = append(out, c)
		}
	})
	return out
}

// eachComponent calls f for every component in page order.
func (v *view) eachComponent(f func(*Component)) {
	for _, e := range v.top {
		if e.component != nil {
			f(e.component)
			continue
		}
		for _, c := range v.members[e.group.ID] {
			f(c)
		}
	}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
