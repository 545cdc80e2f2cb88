package alerts

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/incidents"
	"firebreak/store"
)

// Options are the alert rules of firebreak.yaml's alerts section.
type Options struct {
	// ServiceLabels and EnvironmentLabels name the labels read for service and environment,
	// first present wins.
	ServiceLabels     []string
	EnvironmentLabels []string
	// SeverityMap maps the severity label's value to sev1..sev4.
	SeverityMap map[string]incidents.Severity
	// DefaultSeverity applies when the label is missing or not in the map.
	DefaultSeverity incidents.Severity
	// ReopenWindow: a group's incident resolved less than this ago is reopened.
	ReopenWindow time.Duration
}

// Result is what the webhook answers once the payload is committed.
type Result struct {
	Received int `json:"received"`
	// New counts alerts that started a new occurrence.
	New int `json:"new"`
	// Deduplicated counts alerts that changed nothing but their last-seen time: repeats,
	// late deliveries of resolved occurrences, resolutions already known or of alerts never
	// seen firing.
	Deduplicated int `json:"deduplicated"`
	// Resolved counts firing occurrences this payload resolved.
	Resolved  int     `json:"resolved"`
	Incidents []int64 `json:"incidents"`
}

// Ingester stores Alertmanager payloads and keeps incidents in step with them.
type Ingester struct {
	db        *store.DB
	incidents *incidents.Manager
	writes    *store.GroupCommitter
	opts      Options
}

// NewIngester returns an Ingester that writes through writes (group commit) and reads db.
func NewIngester(db *store.DB, m *incidents.Manager, writes *store.GroupCommitter, opts Options) *Ingester {
	if opts.DefaultSeverity == "" {
		opts.DefaultSeverity = incidents.Sev3
	}
	return &Ingester{db: db, incidents: m, writes: writes, opts: opts}
}

// ForIncident returns every alert of an incident, oldest first.
func (in *Ingester) ForIncident(ctx context.Context, incidentID int64) ([]Alert, error) {
	return ForIncident(ctx, in.db.R, incidentID)
}

// Ingest stores a validated payload in one transaction (batched with concurrent payloads)
// and returns only after it committed.
func (in *Ingester) Ingest(ctx context.Context, p Payload) (Result, error) {
	var res Result
	do := func() error {
		return in.writes.Do(ctx, func(ctx context.Context, q store.Querier) error {
			var err error
			res, err = in.IngestTx(ctx, q, p)
			return err
		})
	}
	err := do()
	// Alertmanager's HA peers each send the same notification, so two transactions (two
	// PostgreSQL workers or replicas) may store one new occurrence at once: the second
	// waits for the first and then fails on the (fingerprint, starts_at) key. Once the
	// first has committed, the payload is a repeat; run it again to count it as one.
	for attempt := 0; attempt < 2 && store.IsUniqueViolation(err); attempt++ {
		err = do()
	}
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// IngestTx applies a payload inside the caller's transaction.
func (in *Ingester) IngestTx(ctx context.Context, q store.Querier, p Payload) (Result, error) {
	now := in.incidents.Now()
	res := Result{Received: len(p.Alerts), Incidents: []int64{}}
	touched := map[int64]bool{}
	touch := func(id int64) {
		if !touched[id] {
			touched[id] = true
			res.Incidents = append(res.Incidents, id)
		}
	}
	cleared := map[int64]time.Time{} // incidents with a resolved alert → latest end
	seen := payloadIncidents{}
	resolvedIn := map[int64]incidents.Incident{} // read once per payload, not once per resolved alert
	// Most firing alerts are repeats (Alertmanager resends every repeat_interval): mark them
	// all in one statement, and take the slow path only for the others.
	var firing []occurrence
	for _, a := range p.Alerts {
		if a.Status == "firing" {
			firing = append(firing, occurrence{Fingerprint(a), dbTime(a.StartsAt)})
		}
	}
	repeated, err := markRepeats(ctx, q, firing, now)
	if err != nil {
		return Result{}, err
	}
	for _, a := range p.Alerts {
		fp := Fingerprint(a)
		startsAt := dbTime(a.StartsAt)
		if a.Status == "firing" {
			id := repeated[occurrence{fp, startsAt}.key()]
			if id == 0 {
				// Not a firing repeat: a late delivery of a resolved occurrence, or new.
				var err error
				if id, err = occurrenceIncident(ctx, q, fp, startsAt); err != nil {
					return Result{}, err
				}
				if id == 0 {
					if id, err = in.openOccurrence(ctx, q, p, a, fp, startsAt, now, seen); err != nil {
						return Result{}, err
					}
					res.New++
					touch(id)
					continue
				}
			}
			res.Deduplicated++
			touch(id)
			continue
		}
		endsAt := dbTime(a.EndsAt)
		if a.EndsAt.IsZero() || endsAt.After(now) {
			endsAt = now
		}
		// An end before the start is a sender's mistake; it must neither make time to
		// mitigate negative nor (before year 1) slip past the "latest end" below.
		if endsAt.Before(startsAt) {
			endsAt = startsAt
		}
		id, err := markResolved(ctx, q, fp, startsAt, endsAt, now)
		if err != nil {
			return Result{}, err
		}
		if id == 0 {
			res.Deduplicated++
			if id, err = occurrenceIncident(ctx, q, fp, startsAt); err != nil {
				return Result{}, err
			}
			if id != 0 {
				touch(id)
			}
			continue
		}
		res.Resolved++
		touch(id)
		if err := in.recordResolved(ctx, q, id, a, endsAt, resolvedIn); err != nil {
			return Result{}, err
		}
		if endsAt.After(cleared[id]) {
			cleared[id] = endsAt
		}
	}
	for _, id := range res.Incidents {
		at, ok := cleared[id]
		if !ok {
			continue
		}
		n, err := firingCount(ctx, q, id)
		if err != nil {
			return Result{}, err
		}
		if n == 0 {
			if _, err := in.incidents.AllAlertsResolvedTx(ctx, q, id, at); err != nil {
				return Result{}, err
			}
		}
	}
	return res, nil
}

func (in *Ingester) recordResolved(ctx context.Context, q store.Querier, incidentID int64, a template.Alert, endsAt time.Time,
	read map[int64]incidents.Incident) error {
	inc, ok := read[incidentID]
	if !ok {
		var err error
		if inc, err = in.incidents.GetTx(ctx, q, incidentID); err != nil {
			return err
		}
		read[incidentID] = inc
	}
	_, err := in.incidents.RecordTx(ctx, q, inc, incidents.Event{At: in.incidents.Now(), Actor: "alertmanager",
		Kind: incidents.KindAlertResolved, Text: "Alert " + describeAlert(a) + " resolved at " + endsAt.Format(time.RFC3339) + "."})
	return err
}

// severity maps the alert's severity label through the configured map.
func (in *Ingester) severity(a template.Alert) incidents.Severity {
	if s, ok := in.opts.SeverityMap[a.Labels["severity"]]; ok {
		return s
	}
	if s, err := incidents.ParseSeverity(a.Labels["severity"]); err == nil {
		return s
	}
	return in.opts.DefaultSeverity
}

func firstLabel(labels template.KV, names []string) string {
	for _, n := range names {
		if v := labels[n]; v != "" {
			return v
		}
	}
	return ""
}

func describeAlert(a template.Alert) string {
	d := a.Labels["alertname"]
	if d == "" {
		d = Fingerprint(a)
	}
	if s := strings.TrimSpace(a.Annotations["summary"]); s != "" {
		d += " (" + s + ")"
	}
	return d
}

// dbTime is a time as both databases store it: UTC, microseconds (PostgreSQL's precision),
// so an occurrence's startsAt compares equal on every read.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// String summarises a result for logs.
func (r Result) String() string {
	return fmt.Sprintf("received=%d new=%d deduplicated=%d resolved=%d incidents=%v", r.Received, r.New, r.Deduplicated, r.Resolved, r.Incidents)
}
