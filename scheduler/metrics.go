package scheduler

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The results a run is counted under in firebreak_scheduled_job_runs_total.
const (
	resultDone     = "done"     // did the work and committed
	resultFailed   = "failed"   // returned an error (or the database did); rolled back
	resultPanicked = "panicked" // panicked; rolled back
	resultLocked   = "locked"   // another replica held the job's lock
	resultSkipped  = "skipped"  // the scheduler stopped before the run started working
)

// metrics are the scheduler's series; with no registry they are counted but not exported.
type metrics struct {
	runs        *prometheus.CounterVec
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_scheduled_job_runs_total",
			Help: "Runs of scheduled jobs on this replica, by job and result (done, failed, panicked, locked: another replica ran it, skipped: shutting down).",
		}, []string{"job", "result"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "firebreak_scheduled_job_last_success_timestamp_seconds",
			Help: "When a scheduled job last committed its work on this replica, as a Unix time.",
		}, []string{"job"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "firebreak_scheduled_job_duration_seconds",
			Help:    "How long successful runs of scheduled jobs took, from the start of the work to the commit.",
			Buckets: prometheus.ExponentialBuckets(0.005, 4, 8), // 5 ms … 82 s
		}, []string{"job"}),
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.lastSuccess, m.duration)
	}
	return m
}

func (m *metrics) count(job, result string) {
	m.runs.WithLabelValues(job, result).Inc()
}

func (m *metrics) succeeded(job string, took time.Duration) {
	m.count(job, resultDone)
	m.lastSuccess.WithLabelValues(job).SetToCurrentTime()
	m.duration.WithLabelValues(job).Observe(took.Seconds())
}
