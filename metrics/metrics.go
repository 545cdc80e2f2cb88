// Package metrics defines the series Firebreak reports about itself, in one place, so an
// operator can read what exists and alert on it. Every series starts at 0 for each of its
// known label values, so a rate() over it works from the first scrape and an alert on it
// does not wait for the first failure to exist.
//
// Domain packages take a *Set and call its methods; a nil *Set records nothing, so tests
// and tools need not build one.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Alert results counted by AlertsReceived.
const (
	AlertNew       = "new"       // a new firing occurrence
	AlertDuplicate = "duplicate" // a repeat of a firing occurrence
	AlertResolved  = "resolved"  // resolved a firing occurrence
	AlertLate      = "late"      // a late delivery, or a resolve that matched nothing
	AlertRefused   = "refused"   // in a notification refused as malformed
)

// Remedy outcomes counted by Remedies.
const (
	RemedyRequested = "requested"
	RemedySucceeded = "succeeded"
	RemedyFailed    = "failed"
	RemedyUnknown   = "unknown"
	RemedyCancelled = "cancelled"
)

// Set holds every series Firebreak defines beyond the HTTP ones.
type Set struct {
	// AlertsReceived counts alerts by result (AlertNew, AlertDuplicate, …).
	AlertsReceived *prometheus.CounterVec
	// NotificationsUnavailable counts Alertmanager notifications answered 503 (queue full
	// or database unavailable): Alertmanager retries them, but a rising rate means
	// Firebreak is falling behind.
	NotificationsUnavailable prometheus.Counter
	// IncidentsOpened and IncidentsResolved count incidents by severity.
	IncidentsOpened   *prometheus.CounterVec
	IncidentsResolved *prometheus.CounterVec
	// Remedies counts rollbacks and other remedies by action and outcome.
	Remedies *prometheus.CounterVec
	// OutboxRetries and OutboxGivenUp count failed delivery attempts by job kind.
	OutboxRetries *prometheus.CounterVec
	OutboxGivenUp *prometheus.CounterVec
	// BatchSize and BatchWait describe group commit: requests per transaction, and how
	// long a request waited for its batch to commit.
	BatchSize prometheus.Histogram
	BatchWait prometheus.Histogram
	// AlertBatchSize is the webhook payloads applied together as one batch of alerts (one
	// request of group commit).
	AlertBatchSize prometheus.Histogram
}

// Severities and actions known up front, so their series exist at 0.
var (
	severities = []string{"sev1", "sev2", "sev3", "sev4"}
	actions    = []string{"rollback", "abort_canary", "disable_flag"}
)

// New registers every series on reg. kinds are the outbox job kinds the wiring registered.
func New(reg prometheus.Registerer, kinds []string) *Set {
	s := &Set{
		AlertsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_alerts_received_total",
			Help: "Alerts received from Alertmanager, by result: new, duplicate, resolved, late (a late delivery or a resolve that matched nothing), refused (in a malformed notification).",
		}, []string{"result"}),
		NotificationsUnavailable: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "firebreak_alertmanager_notifications_unavailable_total",
			Help: "Alertmanager notifications answered 503 because the write queue was full or the database unavailable; Alertmanager retries them.",
		}),
		IncidentsOpened: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_incidents_opened_total",
			Help: "Incidents opened, by alerts or declared by people, by severity at opening.",
		}, []string{"severity"}),
		IncidentsResolved: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_incidents_resolved_total",
			Help: "Incidents resolved, by people or automatically, by severity.",
		}, []string{"severity"}),
		Remedies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_remedies_total",
			Help: "Remedies (rollbacks and other actions) by action and outcome: requested, succeeded, failed, unknown, cancelled.",
		}, []string{"action", "outcome"}),
		OutboxRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_outbox_retries_total",
			Help: "Outbox delivery attempts that failed and will be retried, by job kind.",
		}, []string{"kind"}),
		OutboxGivenUp: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_outbox_given_up_total",
			Help: "Outbox jobs given up after their last failed attempt, by job kind.",
		}, []string{"kind"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "firebreak_group_commit_batch_size",
			Help:    "Write requests committed together in one group-commit transaction.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		BatchWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "firebreak_group_commit_wait_seconds",
			Help:    "Time a write request waited from queueing until its batch committed.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		AlertBatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "firebreak_alert_batch_payloads",
			Help:    "Alertmanager notifications applied together as one batch of alerts.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
	}
	reg.MustRegister(s.AlertsReceived, s.NotificationsUnavailable, s.IncidentsOpened, s.IncidentsResolved,
		s.Remedies, s.OutboxRetries, s.OutboxGivenUp, s.BatchSize, s.BatchWait, s.AlertBatchSize)
	for _, r := range []string{AlertNew, AlertDuplicate, AlertResolved, AlertLate, AlertRefused} {
		s.AlertsReceived.WithLabelValues(r)
	}
	for _, sev := range severities {
		s.IncidentsOpened.WithLabelValues(sev)
		s.IncidentsResolved.WithLabelValues(sev)
	}
	for _, a := range actions {
		for _, o := range []string{RemedyRequested, RemedySucceeded, RemedyFailed, RemedyUnknown, RemedyCancelled} {
			s.Remedies.WithLabelValues(a, o)
		}
	}
	s.OutboxKinds(kinds)
	return s
}

// OutboxKinds makes the outbox series of each kind exist at 0, for kinds registered after
// New (the wiring learns them as it wires the services that deliver them).
func (s *Set) OutboxKinds(kinds []string) {
	if s == nil {
		return
	}
	for _, k := range kinds {
		s.OutboxRetries.WithLabelValues(k)
		s.OutboxGivenUp.WithLabelValues(k)
	}
}

// Alerts counts n alerts with result.
func (s *Set) Alerts(result string, n int) {
	if s != nil && n > 0 {
		s.AlertsReceived.WithLabelValues(result).Add(float64(n))
	}
}

// Unavailable counts a notification answered 503.
func (s *Set) Unavailable() {
	if s != nil {
		s.NotificationsUnavailable.Inc()
	}
}

// Opened counts an incident opened at severity sev.
func (s *Set) Opened(sev string) {
	if s != nil {
		s.IncidentsOpened.WithLabelValues(sev).Inc()
	}
}

// Resolved counts an incident resolved at severity sev.
func (s *Set) Resolved(sev string) {
	if s != nil {
		s.IncidentsResolved.WithLabelValues(sev).Inc()
	}
}

// Remedy counts a remedy's outcome.
func (s *Set) Remedy(action, outcome string) {
	if s != nil {
		s.Remedies.WithLabelValues(action, outcome).Inc()
	}
}

// OutboxFailed counts a failed delivery attempt: retried, or given up.
func (s *Set) OutboxFailed(kind string, gaveUp bool) {
	if s == nil {
		return
	}
	if gaveUp {
		s.OutboxGivenUp.WithLabelValues(kind).Inc()
	} else {
		s.OutboxRetries.WithLabelValues(kind).Inc()
	}
}

// Batch records one committed group-commit batch of n requests.
func (s *Set) Batch(n int) {
	if s != nil {
		s.BatchSize.Observe(float64(n))
	}
}

// AlertBatch records one committed batch of n alert payloads.
func (s *Set) AlertBatch(n int) {
	if s != nil {
		s.AlertBatchSize.Observe(float64(n))
	}
}

// Waited records how long one request waited for its batch.
func (s *Set) Waited(d time.Duration) {
	if s != nil {
		s.BatchWait.Observe(d.Seconds())
	}
}
