package statuspage

import "time"

// Snapshot is everything the public status page shows, as the platform pushes it to
// status-server (`POST /api/push`, the JSON encoding of this type) and as the static export
// renders it. It is one self-contained document: the server derives every page, feed and
// Statuspage v2 JSON response from it and keeps nothing else.
//
// What the platform must fill in, and what the server derives instead:
//   - Lists may come in any order: the server sorts them (incidents newest first by
//     created_at, updates newest first by display_at, components by position).
//   - Incidents are the public ones only (those with at least one public update), every
//     one the history should list; the server cuts the v2 lists and feeds to the 50 newest.
//   - Group status, the overall indicator and its description, page.updated_at, v2
//     page_id fields and the 90-day uptime bars are computed by the server.
//   - Uptime comes as raw status periods per component (StatusPeriods); the server turns
//     them into daily bars in the page's time zone, ending on GeneratedAt's day.
//
// Unknown JSON fields are ignored, so a newer platform can push to an older status-server.
type Snapshot struct {
	// Sequence orders pushes: the server accepts a snapshot only if its sequence is greater
	// than the last one it accepted. Must be at least 1.
	Sequence int64 `json:"sequence"`
	// GeneratedAt is when the platform built the snapshot; the page shows it as "last
	// updated", and the uptime bars end on its day.
	GeneratedAt time.Time `json:"generated_at"`
	Page        Page      `json:"page"`
	// Groups are the headings components sit under (Statuspage's group containers).
	Groups []Group `json:"groups"`
	// Components are the lines of the page, grouped or not.
	Components []Component `json:"components"`
	// Incidents are the public incidents, open and past.
	Incidents []Incident `json:"incidents"`
	// Maintenances are the scheduled maintenances, upcoming, in progress and completed.
	Maintenances []Maintenance `json:"scheduled_maintenances"`
}

// Page describes the status page itself.
type Page struct {
	// ID is Statuspage's page id, repeated as page_id in every v2 object. Empty: derived
	// from URL (PageID).
	ID string `json:"id"`
	// Name is the page's title. Empty: status-server's configured title.
	Name string `json:"name"`
	// URL is the page's public address (absolute http or https). Empty: status-server's
	// public_url.
	URL string `json:"url"`
	// TimeZone is an IANA zone name; every time on the page and in the v2 JSON is written
	// in it, and uptime days start at its midnight. Empty: Etc/UTC.
	TimeZone string `json:"time_zone"`
}

// Group is a heading with components under it. Its status is not sent: the page shows the
// worst status of its members.
type Group struct {
	// ID is an opaque identifier: 1–64 characters of A–Z, a–z, 0–9, '-' and '_', starting
	// with a letter or digit, unique among groups and components.
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// Position orders groups and ungrouped components together on the page (1-based).
	Position  int       `json:"position"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Component is one line of the page.
type Component struct {
	// ID follows the same rules as Group.ID.
	ID   string `json:"id"`
	Name string `json:"name"`
	// GroupID is the id of the group it sits under; empty for none.
	GroupID string          `json:"group_id"`
	Status  ComponentStatus `json:"status"`
	// Description is shown under the name; empty for none.
	Description string `json:"description"`
	// Position orders components within their group, or among the top-level entries for an
	// ungrouped one (1-based).
	Position int `json:"position"`
	// Showcase shows the component's 90-day uptime bars.
	Showcase bool `json:"showcase"`
	// OnlyShowIfDegraded hides the component from the HTML page while it is operational.
	OnlyShowIfDegraded bool `json:"only_show_if_degraded"`
	// StartDate (YYYY-MM-DD) is the first day of uptime history; days before it have no
	// data. Empty: the day of CreatedAt.
	StartDate string    `json:"start_date"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// StatusPeriods are the times within the last 90 days when the component was not
	// operational, the current one included (Until empty while it lasts). The uptime bars
	// are computed from them; periods may overlap (the worst status counts).
	StatusPeriods []StatusPeriod `json:"status_periods"`
}

// StatusPeriod is a time a component spent in a status other than operational.
type StatusPeriod struct {
	Status ComponentStatus `json:"status"`
	From   time.Time       `json:"from"`
	// Until is nil while the period lasts (it counts up to the snapshot's GeneratedAt).
	Until *time.Time `json:"until"`
}

// Incident is a public incident.
type Incident struct {
	// ID follows the same rules as Group.ID, unique among incidents and maintenances: the
	// page lives at /incidents/{id}.
	ID     string         `json:"id"`
	Name   string         `json:"name"`
	Status IncidentStatus `json:"status"`
	// Impact is none, minor, major or critical.
	Impact    Impact    `json:"impact"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// StartedAt is when it began (may be earlier than CreatedAt). Empty: CreatedAt.
	StartedAt *time.Time `json:"started_at"`
	// MonitoringAt is when it went to monitoring, if it did.
	MonitoringAt *time.Time `json:"monitoring_at"`
	// ResolvedAt is set exactly when Status is resolved or postmortem.
	ResolvedAt *time.Time `json:"resolved_at"`
	// Shortlink is an absolute link to share. Empty: the incident's page URL.
	Shortlink string `json:"shortlink"`
	// ComponentIDs are the affected components.
	ComponentIDs []string `json:"component_ids"`
	// Updates are the public updates, at least one; the newest one's status must be the
	// incident's status.
	Updates []Update `json:"updates"`
}

// Maintenance is a scheduled maintenance: an incident that was planned.
type Maintenance struct {
	// ID shares the incidents' namespace: the page lives at /incidents/{id}.
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Status MaintenanceStatus `json:"status"`
	// Impact is none, minor, major, critical or maintenance.
	Impact    Impact    `json:"impact"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// StartedAt is when it actually began. Empty: ScheduledFor.
	StartedAt *time.Time `json:"started_at"`
	// MonitoringAt is when it went to verifying, if it did.
	MonitoringAt *time.Time `json:"monitoring_at"`
	// ResolvedAt is set exactly when Status is completed.
	ResolvedAt     *time.Time `json:"resolved_at"`
	Shortlink      string     `json:"shortlink"`
	ScheduledFor   time.Time  `json:"scheduled_for"`
	ScheduledUntil time.Time  `json:"scheduled_until"`
	ComponentIDs   []string   `json:"component_ids"`
	Updates        []Update   `json:"updates"`
}

// Update is one public update of an incident or maintenance.
type Update struct {
	// ID is unique within the snapshot.
	ID string `json:"id"`
	// Status is the incident (or maintenance) status this update set.
	Status string `json:"status"`
	// Body is plain text; line breaks are kept.
	Body string `json:"body"`
	// DisplayAt is the time shown, which may be earlier than CreatedAt (backdated).
	DisplayAt time.Time `json:"display_at"`
	// CreatedAt empty: DisplayAt. UpdatedAt empty: CreatedAt.
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// AffectedComponents are the component status changes this update announced.
	AffectedComponents []AffectedComponent `json:"affected_components"`
}

// AffectedComponent is a component status change announced by an update, in Statuspage's
// v2 shape.
type AffectedComponent struct {
	// Code is the component id.
	Code      string          `json:"code"`
	Name      string          `json:"name"`
	OldStatus ComponentStatus `json:"old_status"`
	NewStatus ComponentStatus `json:"new_status"`
}

// ComponentStatus is a component's status, as Statuspage names it.
type ComponentStatus string

// Component statuses, from best to worst.
const (
	Operational         ComponentStatus = "operational"
	UnderMaintenance    ComponentStatus = "under_maintenance"
	DegradedPerformance ComponentStatus = "degraded_performance"
	PartialOutage       ComponentStatus = "partial_outage"
	MajorOutage         ComponentStatus = "major_outage"
)

// IncidentStatus is an incident's status, as Statuspage names it.
type IncidentStatus string

// Incident statuses.
const (
	Investigating IncidentStatus = "investigating"
	Identified    IncidentStatus = "identified"
	Monitoring    IncidentStatus = "monitoring"
	Resolved      IncidentStatus = "resolved"
	Postmortem    IncidentStatus = "postmortem"
)

// MaintenanceStatus is a scheduled maintenance's status, as Statuspage names it.
type MaintenanceStatus string

// Maintenance statuses.
const (
	Scheduled  MaintenanceStatus = "scheduled"
	InProgress MaintenanceStatus = "in_progress"
	Verifying  MaintenanceStatus = "verifying"
	Completed  MaintenanceStatus = "completed"
)

// Impact is how bad an incident or maintenance is; Statuspage's indicator takes the same
// values.
type Impact string

// Impacts and indicators.
const (
	ImpactNone        Impact = "none"
	ImpactMinor       Impact = "minor"
	ImpactMajor       Impact = "major"
	ImpactCritical    Impact = "critical"
	ImpactMaintenance Impact = "maintenance"
)

// rank orders component statuses from best (0) to worst (4).
func (s ComponentStatus) rank() int {
	switch s {
	case UnderMaintenance:
		return 1
	case DegradedPerformance:
		return 2
	case PartialOutage:
		return 3
	case MajorOutage:
		return 4
	}
	return 0
}

// valid reports whether s is one of Statuspage's component statuses.
func (s ComponentStatus) valid() bool {
	switch s {
	case Operational, UnderMaintenance, DegradedPerformance, PartialOutage, MajorOutage:
		return true
	}
	return false
}

// Label is the status in words, for people.
func (s ComponentStatus) Label() string {
	switch s {
	case Operational:
		return "Operational"
	case UnderMaintenance:
		return "Under maintenance"
	case DegradedPerformance:
		return "Degraded performance"
	case PartialOutage:
		return "Partial outage"
	case MajorOutage:
		return "Major outage"
	}
	return string(s)
}

func (s IncidentStatus) valid() bool {
	switch s {
	case Investigating, Identified, Monitoring, Resolved, Postmortem:
		return true
	}
	return false
}

// closed reports whether the incident is over.
func (s IncidentStatus) closed() bool { return s == Resolved || s == Postmortem }

func (s MaintenanceStatus) valid() bool {
	switch s {
	case Scheduled, InProgress, Verifying, Completed:
		return true
	}
	return false
}

// active reports whether the maintenance is under way.
func (s MaintenanceStatus) active() bool { return s == InProgress || s == Verifying }

// rank orders impacts and indicators: none 0, maintenance 1, minor 2, major 3, critical 4.
func (i Impact) rank() int {
	switch i {
	case ImpactMaintenance:
		return 1
	case ImpactMinor:
		return 2
	case ImpactMajor:
		return 3
	case ImpactCritical:
		return 4
	}
	return 0
}

// validIncident reports whether i is an impact an incident may have.
func (i Impact) validIncident() bool {
	switch i {
	case ImpactNone, ImpactMinor, ImpactMajor, ImpactCritical:
		return true
	}
	return false
}
