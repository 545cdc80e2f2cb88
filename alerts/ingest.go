package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

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
		if err := in.recordResolved(ctx, q, id, a, endsAt); err != nil {
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

// openOccurrence stores a new firing occurrence in the incident it belongs to: the open
// incident of its group, a recently resolved one reopened, or a new one.
func (in *Ingester) openOccurrence(ctx context.Context, q store.Querier, p Payload, a template.Alert, fp string, startsAt, now time.Time, seen payloadIncidents) (int64, error) {
	service := boundedName(firstLabel(a.Labels, in.opts.ServiceLabels))
	env := boundedName(firstLabel(a.Labels, in.opts.EnvironmentLabels))
	sev := in.severity(a)
	name := a.Labels["alertname"]
	groupKey := boundedKey(p.GroupKey)
	key := [3]string{groupKey, service, env}

	inc, err := seen.find(key)
	if errors.Is(err, incidents.ErrNotFound) {
		inc, err = in.incidents.FindOpenTx(ctx, q, groupKey, service, env)
	}
	if errors.Is(err, incidents.ErrNotFound) {
		// Only the rare path that may open an incident takes the grouping locks, in a fixed
		// order, then looks again: another replica may have opened it meanwhile.
		for _, key := range lockKeys(groupKey, service, env) {
			if err := in.incidents.LockGroupTx(ctx, q, key); err != nil {
				return 0, err
			}
		}
		inc, err = in.incidents.FindOpenTx(ctx, q, groupKey, service, env)
	}
	opened, reopened := false, false
	if errors.Is(err, incidents.ErrNotFound) {
		inc, opened, err = in.reopenOrOpen(ctx, q, groupKey, service, env, sev, a, startsAt, now)
		reopened = err == nil && !opened
	}
	if err != nil {
		return 0, err
	}
	seen[key] = inc
	stored := Alert{IncidentID: inc.ID, Fingerprint: fp, Alertname: name, Labels: a.Labels, Annotations: a.Annotations,
		GeneratorURL: a.GeneratorURL, StartsAt: startsAt}
	if err := insertOccurrence(ctx, q, &stored, groupKey, now); err != nil {
		return 0, err
	}
	if opened {
		return inc.ID, nil // the "opened" event already names this alert
	}
	if !reopened { // the "reopened" event already names this alert
		if _, err := in.incidents.RecordTx(ctx, q, inc, incidents.Event{At: now, Actor: "alertmanager",
			Kind: incidents.KindAlertFiring, Text: "Alert " + describeAlert(a) + " is firing."}); err != nil {
			return 0, err
		}
	}
	if sev.Rank() < inc.Severity.Rank() || startsAt.Before(inc.ImpactStartedAt) {
		raised, err := in.incidents.RaiseSeverityTx(ctx, q, inc.ID, sev, startsAt, "alert "+name+" is "+string(sev))
		if err != nil {
			return 0, err
		}
		seen[key] = raised
	}
	return inc.ID, nil
}

// payloadIncidents remembers, within one payload, the incident each grouping key led to.
// A webhook's alerts share its groupKey and mostly its service, so the lookup runs once per
// payload rather than once per new alert.
type payloadIncidents map[[3]string]incidents.Incident

func (p payloadIncidents) find(key [3]string) (incidents.Incident, error) {
	if inc, ok := p[key]; ok && inc.Open() {
		return inc, nil
	}
	return incidents.Incident{}, incidents.ErrNotFound
}

// reopenOrOpen reopens the group's incident resolved within the reopen window, or opens a
// new one. It reports whether it opened a new incident (false: it reopened one).
func (in *Ingester) reopenOrOpen(ctx context.Context, q store.Querier, groupKey, service, env string, sev incidents.Severity,
	a template.Alert, startsAt, now time.Time) (incidents.Incident, bool, error) {
	if in.opts.ReopenWindow > 0 {
		prev, err := in.incidents.FindReopenableTx(ctx, q, groupKey, service, env, now.Add(-in.opts.ReopenWindow))
		if err == nil {
			inc, err := in.incidents.TransitionTx(ctx, q, prev.ID, incidents.ReopenByAlerts, "alertmanager",
				"alert "+describeAlert(a)+" fired "+now.Sub(*prev.ResolvedAt).Round(time.Second).String()+" after the incident was resolved.")
			return inc, false, err
		}
		if !errors.Is(err, incidents.ErrNotFound) {
			return incidents.Incident{}, false, err
		}
	}
	inc := incidents.Incident{Title: title(a, service), Status: incidents.Observing, Severity: sev, Service: service,
		Environment: env, Summary: a.Annotations["description"], ImpactStartedAt: startsAt, OpenedAt: now, UpdatedAt: now}
	if groupKey != "" {
		inc.GroupKey = &groupKey
	}
	if inc.ImpactStartedAt.After(now) {
		inc.ImpactStartedAt = now
	}
	if len([]rune(inc.Summary)) > incidents.MaxSummary {
		inc.Summary = string([]rune(inc.Summary)[:incidents.MaxSummary])
	}
	err := in.incidents.CreateTx(ctx, q, &inc, incidents.Event{At: now, Actor: "alertmanager", Kind: incidents.KindOpened,
		Text: "Opened by Alertmanager: alert " + describeAlert(a) + " is firing."})
	return inc, true, err
}

func (in *Ingester) recordResolved(ctx context.Context, q store.Querier, incidentID int64, a template.Alert, endsAt time.Time) error {
	inc, err := in.incidents.GetTx(ctx, q, incidentID)
	if err != nil {
		return err
	}
	_, err = in.incidents.RecordTx(ctx, q, inc, incidents.Event{At: in.incidents.Now(), Actor: "alertmanager",
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

// maxKeyBytes bounds a group key as stored and indexed: PostgreSQL refuses index entries
// past ~2.7 KB, and refusing the payload would make Alertmanager drop its alerts.
const maxKeyBytes = 512

// boundedKey is the group key, or a digest of it when it is too long to index. The digest is
// stable, so every notification of the group still finds the same incident.
func boundedKey(k string) string {
	if len(k) <= maxKeyBytes {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// boundedName cuts a service or environment label to the length incidents keep.
func boundedName(s string) string {
	if utf8.RuneCountInString(s) <= incidents.MaxName {
		return s
	}
	return string([]rune(s)[:incidents.MaxName])
}

// lockKeys are the grouping keys of an alert, sorted so every transaction takes them in the
// same order.
func lockKeys(groupKey, service, env string) []string {
	var keys []string
	if groupKey != "" {
		keys = append(keys, "g:"+groupKey)
	}
	if service != "" {
		keys = append(keys, incidents.ServiceLockKey(service, env))
	}
	if len(keys) == 2 && keys[1] < keys[0] {
		keys[0], keys[1] = keys[1], keys[0]
	}
	if len(keys) == 0 {
		keys = append(keys, "none")
	}
	return keys
}

// title names a new incident from alertname, service and the summary annotation.
func title(a template.Alert, service string) string {
	t := a.Labels["alertname"]
	if t == "" {
		t = "Alert"
	}
	if service != "" {
		t += " on " + service
	}
	if s := strings.TrimSpace(a.Annotations["summary"]); s != "" {
		t += ": " + s
	}
	if r := []rune(t); len(r) > incidents.MaxTitle {
		t = string(r[:incidents.MaxTitle-1]) + "…"
	}
	return t
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
