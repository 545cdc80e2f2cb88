package incidents

import "time"

// EventKind says what a timeline event records.
type EventKind string

// Timeline event kinds written by this package; other packages (alerts, deploys, Slack)
// add their own.
const (
	KindDeclared           EventKind = "declared"
	KindOpened             EventKind = "opened"
	KindAcknowledged       EventKind = "acknowledged"
	KindRemediationStarted EventKind = "remediation_started"
	KindMitigated          EventKind = "mitigated"
	KindResolved           EventKind = "resolved"
	KindReopened           EventKind = "reopened"
	KindSeverityChanged    EventKind = "severity_changed"
	KindNote               EventKind = "note"
	KindStatusUpdate       EventKind = "status_update"
)

// Event is one line of an incident's timeline.
type Event struct {
	ID         int64     `json:"id" db:"id"`
	IncidentID int64     `json:"-" db:"incident_id"`
	At         time.Time `json:"at" db:"at"`
	Actor      string    `json:"actor" db:"actor"`
	Kind       EventKind `json:"kind" db:"kind"`
	Text       string    `json:"text" db:"text"`
	Public     bool      `json:"public" db:"public"`
	// PublicStatus is the status page status a public update set; empty for other events.
	PublicStatus PublicStatus `json:"public_status,omitempty" db:"public_status"`
}
