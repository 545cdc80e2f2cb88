package postmortem

import (
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
)

// Status says whether a postmortem is still being written or has been published.
type Status string

// The two statuses. A postmortem is a draft until someone publishes it; editing a published
// one keeps it published.
const (
	Draft     Status = "draft"
	Published Status = "published"
)

// Report is one incident's postmortem: what Firebreak recorded about the incident, read at
// the time of the request, and the parts people wrote (Parts). Its JSON is the "json"
// format of the API and of the CLI; the package documentation shows it.
type Report struct {
	IncidentID  int64      `json:"incident_id"`
	Title       string     `json:"title"`
	Status      Status     `json:"status"`
	PublishedAt *time.Time `json:"published_at"`
	// PublishedBy names who published it first; nil while a draft.
	PublishedBy *string            `json:"published_by"`
	Severity    incidents.Severity `json:"severity"`
	Service     string             `json:"service"`
	Environment string             `json:"environment"`
	// IncidentStatus is the incident's phase now: a postmortem may be written while the
	// incident is still open, and then says so.
	IncidentStatus incidents.Status `json:"incident_status"`
	Summary        string           `json:"summary"`
	Impact         Impact           `json:"impact"`
	Detection      Detection        `json:"detection"`
	Response       Response         `json:"response"`
	Remediation    Remediation      `json:"remediation"`
	Times          Times            `json:"times"`
	// Suspects are the deploys that finished shortly before impact started, best first, as
	// GET /api/v1/incidents/{id} shows them.
	Suspects []deploys.Match `json:"suspects"`
	// Timeline is the incident's whole timeline, oldest first, times in UTC.
	Timeline []incidents.Event `json:"timeline"`
	// Parts are the human parts, top-level keys of the JSON.
	Parts
	// UpdatedAt and UpdatedBy say when and by whom the human parts were last edited; nil
	// when nobody has written any yet.
	UpdatedAt *time.Time `json:"updated_at"`
	UpdatedBy *string    `json:"updated_by"`
}

// Open reports whether the incident is not resolved yet.
func (r Report) Open() bool { return r.IncidentStatus != incidents.Resolved }

// Parts are what people write into a postmortem; everything else is built from the record.
// The texts are Markdown, "" when nobody wrote them.
type Parts struct {
	RootCause           string       `json:"root_cause"`
	ContributingFactors string       `json:"contributing_factors"`
	WentWell            string       `json:"went_well"`
	WentBadly           string       `json:"went_badly"`
	GotLucky            string       `json:"got_lucky"`
	ActionItems         []ActionItem `json:"action_items"`
}

// ActionItem is one thing to do after the incident.
type ActionItem struct {
	// Text says what to do, in Markdown on one line.
	Text string `json:"text"`
	// Owner names who will do it; "" when nobody has taken it.
	Owner string `json:"owner"`
	// Due is a date, YYYY-MM-DD, or nil.
	Due  *string `json:"due"`
	Done bool    `json:"done"`
}

// Impact is when the impact started and ended and what it reached.
type Impact struct {
	StartedAt time.Time `json:"started_at"`
	// EndedAt is when the incident was mitigated (impact over); nil while it goes on.
	EndedAt         *time.Time `json:"ended_at"`
	DurationSeconds *float64   `json:"duration_seconds"`
	// Services are the services the impact reached: the incident's.
	Services []string `json:"services"`
	// Components are the status page components affected; empty until the status page
	// records them.
	Components []string           `json:"components"`
	Severity   incidents.Severity `json:"severity"`
	AlertCount int                `json:"alert_count"`
}

// Detection methods.
const (
	DetectedByAlerts  = "alerts"
	DetectedByDeclare = "declared"
)

// Detection says how the incident was found.
type Detection struct {
	// Method is "alerts" (Alertmanager opened it) or "declared" (a person did).
	Method     string  `json:"method"`
	DeclaredBy *string `json:"declared_by"`
	// OpenedAt is when Firebreak opened the incident: detection.
	OpenedAt            time.Time `json:"opened_at"`
	TimeToDetectSeconds float64   `json:"time_to_detect_seconds"`
	// Alerts are the incident's alerts by alert name, most numerous first.
	Alerts []AlertGroup `json:"alerts"`
}

// AlertGroup counts the alerts of one alert name.
type AlertGroup struct {
	Alertname string `json:"alertname"`
	Count     int    `json:"count"`
	// FirstStartsAt is the earliest startsAt among them.
	FirstStartsAt time.Time `json:"first_starts_at"`
}

// Response says who took the incident on and when.
type Response struct {
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	// AcknowledgedBy names the person whose action acknowledged it (acknowledge, a
	// remediation they started, or their reopen).
	AcknowledgedBy           *string  `json:"acknowledged_by"`
	TimeToAcknowledgeSeconds *float64 `json:"time_to_acknowledge_seconds"`
	// Responders are the people on the timeline, in the order they first appear.
	Responders    []string   `json:"responders"`
	MitigatedAt   *time.Time `json:"mitigated_at"`
	ResolvedAt    *time.Time `json:"resolved_at"`
	ReopenedCount int        `json:"reopened_count"`
}

// Remediation says what was done to end the impact.
type Remediation struct {
	StartedAt *time.Time `json:"started_at"`
	// StartedBy names who started remediation: a person or automation.
	StartedBy *string    `json:"started_by"`
	Rollbacks []Rollback `json:"rollbacks"`
}

// Rollback is one rollback requested during the incident, with its outcome.
type Rollback struct {
	ID       int64 `json:"id"`
	DeployID int64 `json:"deploy_id"`
	// Deploy names the deploy rolled back ("checkout 1.4.2 (prod)").
	Deploy string `json:"deploy"`
	// ToVersion is the version rolled back to, when the deploy named it.
	ToVersion   *string `json:"to_version"`
	RequestedBy string  `json:"requested_by"`
	// Automatic is true when a rollback policy requested it, not a person.
	Automatic   bool       `json:"automatic"`
	RequestedAt time.Time  `json:"requested_at"`
	Status      string     `json:"status"`
	FinishedAt  *time.Time `json:"finished_at"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error"`
}

// Times are the four times of PRODUCT.md against the service's recent past.
type Times struct {
	Detect      Measure `json:"detect"`
	Acknowledge Measure `json:"acknowledge"`
	Mitigate    Measure `json:"mitigate"`
	Recover     Measure `json:"recover"`
}

// Measure is one of the four times for this incident (nil when not reached yet) and its
// average over the service's incidents opened in the 90 days before this one (nil when none
// of them reached it; the count says how many did).
type Measure struct {
	Seconds                  *float64 `json:"seconds"`
	Service90dAverageSeconds *float64 `json:"service_90d_average_seconds"`
	Service90dCount          int      `json:"service_90d_count"`
}

// ComparisonWindow is how far back the service's earlier incidents are averaged.
const ComparisonWindow = 90 * 24 * time.Hour
