// Package incidents owns incidents: their phases and the transitions between them, the
// timeline every change writes, the six moments kept per incident and the MTTR report
// computed from them.
package incidents

import (
	"errors"
	"fmt"
	"time"
)

// Status is the phase an incident is in.
type Status string

// The phases, in the order an incident usually moves through them.
const (
	Observing   Status = "observing"
	Responding  Status = "responding"
	Remediating Status = "remediating"
	Resolved    Status = "resolved"
)

// ParseStatus accepts one of the four phase names.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case Observing, Responding, Remediating, Resolved:
		return st, nil
	}
	return "", fmt.Errorf("%w: unknown status %q (want observing, responding, remediating or resolved)", ErrInvalid, s)
}

// Severity ranks impact; sev1 is the most severe.
type Severity string

// The four severities.
const (
	Sev1 Severity = "sev1"
	Sev2 Severity = "sev2"
	Sev3 Severity = "sev3"
	Sev4 Severity = "sev4"
)

// ParseSeverity accepts sev1 to sev4.
func ParseSeverity(s string) (Severity, error) {
	switch sv := Severity(s); sv {
	case Sev1, Sev2, Sev3, Sev4:
		return sv, nil
	}
	return "", fmt.Errorf("%w: unknown severity %q (want sev1, sev2, sev3 or sev4)", ErrInvalid, s)
}

// Rank is 1 for sev1 through 4 for sev4, so a lower rank is more severe.
func (s Severity) Rank() int {
	switch s {
	case Sev1:
		return 1
	case Sev2:
		return 2
	case Sev3:
		return 3
	case Sev4:
		return 4
	}
	return 5
}

// AtLeast reports whether s is as severe as min or more ("at least sev2" is sev1 or sev2).
func (s Severity) AtLeast(min Severity) bool { return s.Rank() <= min.Rank() }

// Named errors; the HTTP layer maps them to status codes in one place.
var (
	ErrNotFound          = errors.New("incident not found")
	ErrInvalidTransition = errors.New("invalid transition")
	ErrInvalid           = errors.New("invalid incident")
	// ErrContended means the incident kept changing under a change that retried several
	// times; the caller should try again (503).
	ErrContended = errors.New("the incident is being changed by many requests at once; retry")
)

// Incident is one incident as stored and as the API shows it.
type Incident struct {
	ID                   int64      `json:"id" db:"id"`
	Title                string     `json:"title" db:"title"`
	Status               Status     `json:"status" db:"status"`
	Severity             Severity   `json:"severity" db:"severity"`
	Service              string     `json:"service" db:"service"`
	Environment          string     `json:"environment" db:"environment"`
	Summary              string     `json:"summary" db:"summary"`
	GroupKey             *string    `json:"group_key" db:"group_key"`
	ImpactStartedAt      time.Time  `json:"impact_started_at" db:"impact_started_at"`
	OpenedAt             time.Time  `json:"opened_at" db:"opened_at"`
	AcknowledgedAt       *time.Time `json:"acknowledged_at" db:"acknowledged_at"`
	RemediationStartedAt *time.Time `json:"remediation_started_at" db:"remediation_started_at"`
	MitigatedAt          *time.Time `json:"mitigated_at" db:"mitigated_at"`
	ResolvedAt           *time.Time `json:"resolved_at" db:"resolved_at"`
	ReopenedCount        int        `json:"reopened_count" db:"reopened_count"`
	// DeclaredBy names the person who declared the incident; nil when alerts opened it.
	DeclaredBy *string `json:"declared_by" db:"declared_by"`
	// HeldFor says why the incident waits for people ("" when it does not): alerts clearing
	// then mitigate it but never resolve it.
	HeldFor   string    `json:"-" db:"held_for"`
	UpdatedAt time.Time `json:"-" db:"updated_at"`
	// Revision increases with every update; an update that finds another revision lost a
	// race and is retried, which keeps replicas from applying two transitions at once.
	Revision int64 `json:"-" db:"revision"`
	// PublicTitle is the status page's name for it; empty: Title (public.go).
	PublicTitle string `json:"public_title" db:"public_title"`
	// PublicComponents are the status page components it names; empty: those of its service.
	PublicComponents IDList `json:"public_components" db:"public_components"`
}

// TouchedByPeople reports whether a person declared, acknowledged or remediated the incident
// (a person's remediate also sets acknowledged_at), or something holds it for people. Such
// an incident is not resolved automatically when its alerts clear.
func (inc *Incident) TouchedByPeople() bool {
	return inc.DeclaredBy != nil || inc.AcknowledgedAt != nil || inc.HeldFor != ""
}

// Open reports whether the incident is not resolved.
func (inc *Incident) Open() bool { return inc.Status != Resolved }

// normalize puts every time in UTC, whichever database it was read from.
func (inc *Incident) normalize() {
	inc.ImpactStartedAt = inc.ImpactStartedAt.UTC()
	inc.OpenedAt = inc.OpenedAt.UTC()
	inc.UpdatedAt = inc.UpdatedAt.UTC()
	for _, p := range []**time.Time{&inc.AcknowledgedAt, &inc.RemediationStartedAt, &inc.MitigatedAt, &inc.ResolvedAt} {
		if *p != nil {
			t := (*p).UTC()
			*p = &t
		}
	}
}

// timePtr returns a pointer to a copy of t.
func timePtr(t time.Time) *time.Time { return &t }
