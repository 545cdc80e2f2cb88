package outbox

import (
	"context"
	"time"

	"github.com/mattn/go-sqlite3"
	"github.com/prometheus/client_golang/prometheus"

	"firebreak/store"
)

// Collector reports the outbox's backlog from the database at scrape time, so every
// replica tells the same truth: jobs waiting and in flight per kind, and how long the oldest
// due job has waited. A growing age means deliveries are stuck (Slack down, a hook
// refusing) or the workers cannot keep up.
type Collector struct {
	db    *store.DB
	kinds []string
	clock func() time.Time
}

// NewCollector reports on db's outbox; kinds are the job kinds whose series exist at 0
// from the start.
func NewCollector(db *store.DB, kinds []string, clock func() time.Time) *Collector {
	if clock == nil {
		clock = time.Now
	}
	return &Collector{db: db, kinds: kinds, clock: clock}
}

var (
	jobsDesc = prometheus.NewDesc("firebreak_outbox_jobs",
		"Outbox jobs not yet delivered, by kind and state: waiting (due or backing off) or in_flight (claimed by a worker).",
		[]string{"kind", "state"}, nil)
	oldestDesc = prometheus.NewDesc("firebreak_outbox_oldest_waiting_seconds",
		"Age of the oldest due outbox job not yet delivered, by kind; 0 when none waits.",
		[]string{"kind"}, nil)
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- jobsDesc
	ch <- oldestDesc
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := c.clock().UTC()
	var rows []struct {
		Kind     string `db:"kind"`
		InFlight bool   `db:"in_flight"`
		N        int    `db:"n"`
		Oldest   any    `db:"oldest"` // SQLite hands an aggregate of times back as text
	}
	// Pending rows only: the (status, run_at) index keeps this small however many
	// delivered jobs retention still keeps.
	err := c.db.R.SelectContext(ctx, &rows, c.db.R.Rebind(`SELECT kind,
		CASE WHEN locked_until IS NOT NULL AND locked_until > ? THEN 1 ELSE 0 END = 1 AS in_flight,
		COUNT(*) AS n, MIN(CASE WHEN run_at <= ? THEN created_at END) AS oldest
		FROM outbox_jobs WHERE status = 'pending' GROUP BY kind, 2`), now, now)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, err)
		return
	}
	type counts struct {
		waiting, inFlight int
		oldest            time.Duration
	}
	byKind := map[string]*counts{}
	for _, k := range c.kinds {
		byKind[k] = &counts{}
	}
	for _, r := range rows {
		k := byKind[r.Kind]
		if k == nil {
			k = &counts{}
			byKind[r.Kind] = k
		}
		if r.InFlight {
			k.inFlight += r.N
		} else {
			k.waiting += r.N
		}
		if oldest, ok := asTime(r.Oldest); ok {
			if age := now.Sub(oldest); age > k.oldest {
				k.oldest = age
			}
		}
	}
	for kind, k := range byKind {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(k.waiting), kind, "waiting")
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(k.inFlight), kind, "in_flight")
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, k.oldest.Seconds(), kind)
	}
}

// asTime reads a time scanned from an aggregate: a time.Time from PostgreSQL, text in
// go-sqlite3's own format from SQLite (which loses the column type through MIN).
func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), true
	case string:
		return parseStoredTime(t)
	case []byte:
		return parseStoredTime(string(t))
	}
	return time.Time{}, false
}

func parseStoredTime(s string) (time.Time, bool) {
	for _, layout := range sqlite3.SQLiteTimestampFormats {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
