package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/incidents"
	"firebreak/metrics"
	"firebreak/store"
)

// How new alerts find their incident (alerts.group_by).
const (
	// GroupByService: an alert with a service label joins the open incident of its service
	// and environment, whatever Alertmanager's group_by; one without joins its group key's.
	GroupByService = "service"
	// GroupByGroupKey: every alert joins the open incident of its Alertmanager group key.
	GroupByGroupKey = "group_key"
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
	// GroupBy is GroupByService (the default when empty) or GroupByGroupKey.
	GroupBy string
	// EnvironmentAliases turns an environment label naming an alias into the canonical
	// name, so the alert groups and correlates with deploys of that environment.
	EnvironmentAliases incidents.EnvironmentAliases
	// Metrics counts alerts by result once their transaction committed; nil counts nothing.
	Metrics *metrics.Set
	// Log receives a debug line for each late delivery and each resolve that matched
	// nothing; slog.Default() when nil.
	Log *slog.Logger
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
	// Late counts, among the deduplicated, the late deliveries of ended occurrences and
	// the resolves that matched no firing occurrence: a sign of a slow or replaying
	// Alertmanager (or of alerts resolved while Firebreak could not take them). Counted in
	// the metrics, not in the webhook's answer.
	Late int `json:"-"`
}

// Ingester stores Alertmanager payloads and keeps incidents in step with them.
type Ingester struct {
	db        *store.DB
	incidents *incidents.Manager
	writes    *store.GroupCommitter
	opts      Options
	repeats   *repeatBook
	spent     *spentBudgets
	queue     writeQueue
}

// NewIngester returns an Ingester that writes through writes (group commit) and reads db.
func NewIngester(db *store.DB, m *incidents.Manager, writes *store.GroupCommitter, opts Options) *Ingester {
	if opts.DefaultSeverity == "" {
		opts.DefaultSeverity = incidents.Sev3
	}
	if opts.GroupBy == "" {
		opts.GroupBy = GroupByService
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Ingester{db: db, incidents: m, writes: writes, opts: opts, repeats: newRepeatBook(), spent: &spentBudgets{},
		queue: writeQueue{maxLeaders: writes.Workers(), capacity: writes.Capacity()}}
}

// ForIncident returns every alert of an incident, oldest first.
func (in *Ingester) ForIncident(ctx context.Context, incidentID int64) ([]Alert, error) {
	list, err := ForIncident(ctx, in.db.R, incidentID)
	if err != nil {
		return nil, err
	}
	in.repeats.overlay(list)
	return list, nil
}

// Forget drops what the Ingester knows of stored occurrences, after alerts were deleted
// behind its back (a test incident removed).
func (in *Ingester) Forget() { in.repeats.forgetAll() }

// Ingest stores a validated payload in one transaction (batched with concurrent payloads)
// and returns only after it committed.
//
// Firing alerts that repeat an occurrence known to be stored (see repeats.go) are answered
// from memory: a payload of nothing else never waits for the writer, and their counts are
// written by the next flush. The others go through the writer as before.
func (in *Ingester) Ingest(ctx context.Context, p Payload) (Result, error) {
	// Everything the transaction starts from is fixed here, once: a group commit replays the
	// function below when another request of its batch fails, and the replay must do exactly
	// what the first run would have done.
	p = p.Clean()
	now := in.incidents.Now()
	hits, rest, restFps := repeatHits{}, p, fingerprints(p)
	if !in.writes.Closed() { // stopping: the last flush may have run
		hits, rest, restFps = in.splitRepeats(p, restFps, dbTime(now))
	}
	var res Result
	if len(rest.Alerts) > 0 {
		var err error
		if res, err = in.ingestWriter(rest, restFps, now); err != nil {
			return Result{}, err
		}
	} else {
		res = Result{Incidents: []int64{}}
	}
	if len(hits.byFingerprint) > 0 {
		if !in.repeats.count(hits.byFingerprint, dbTime(now)) {
			return Result{}, fmt.Errorf("repeats after the last flush: %w", store.ErrOverloaded)
		}
		in.opts.Metrics.Alerts(metrics.AlertDuplicate, hits.alerts)
		res.Deduplicated += hits.alerts
		for _, id := range hits.incidents {
			if !slices.Contains(res.Incidents, id) {
				res.Incidents = append(res.Incidents, id)
			}
		}
	}
	res.Received = len(p.Alerts)
	return res, nil
}

// IngestTx applies a payload inside the caller's transaction, taking the grouping locks it
// needs.
func (in *Ingester) IngestTx(ctx context.Context, q store.Querier, p Payload) (Result, error) {
	p = p.Clean()
	if err := store.LockKeys(ctx, q, in.lockKeys(p)); err != nil {
		return Result{}, err
	}
	return in.ingestTx(ctx, q, p, in.incidents.Now())
}

// payloadState is what one run of a payload accumulates, beside what it shares with the
// other payloads of its transaction (batchState). It is made afresh by every run, so a
// replayed batch never sees what an earlier run left.
type payloadState struct {
	b        *batchState
	p        Payload
	now      time.Time
	fps      []string             // the fingerprint of each alert
	firing   []string             // firing fingerprints, once each
	earliest map[string]time.Time // start of each firing fingerprint: the earliest given
	res      Result
	touched  map[int64]bool
	handled  map[string]bool      // firing fingerprints already handled
	encoded  map[string]alertJSON // firing alerts' JSON, encoded before the writer took them (nil: in the writer)
	late     []lateAlert          // kept only when debug lines are wanted
	debug    bool
}

func (in *Ingester) newPayloadState(ctx context.Context, b *batchState, it batchInput) *payloadState {
	p := it.p
	s := &payloadState{
		b: b, p: p, now: it.now, earliest: map[string]time.Time{}, debug: in.opts.Log.Enabled(ctx, slog.LevelDebug),
		res:     Result{Received: len(p.Alerts), Incidents: []int64{}},
		touched: map[int64]bool{}, handled: map[string]bool{}, fps: it.fps, encoded: it.encoded,
	}
	if len(s.fps) != len(p.Alerts) {
		s.fps = fingerprints(p)
	}
	// A payload may name one firing alert twice, with two starts: it is one occurrence
	// starting at the earlier.
	for i, a := range p.Alerts {
		if a.Status != "firing" {
			continue
		}
		start := dbTime(a.StartsAt)
		if t, ok := s.earliest[s.fps[i]]; !ok {
			s.firing = append(s.firing, s.fps[i])
			s.earliest[s.fps[i]] = start
		} else if start.Before(t) {
			s.earliest[s.fps[i]] = start
		}
	}
	return s
}

// lateAlert is an alert counted late, and why, for its debug line.
type lateAlert struct {
	fingerprint, alertname, reason string
}

// countLate counts a late alert and keeps why for the debug line logged after the commit.
func (s *payloadState) countLate(a template.Alert, fp, reason string) {
	s.res.Deduplicated++
	s.res.Late++
	if s.debug {
		s.late = append(s.late, lateAlert{fingerprint: fp, alertname: a.Labels["alertname"], reason: reason})
	}
}

func (s *payloadState) touch(id int64) {
	if !s.touched[id] {
		s.touched[id] = true
		s.res.Incidents = append(s.res.Incidents, id)
	}
}

func (in *Ingester) ingestTx(ctx context.Context, q store.Querier, p Payload, now time.Time) (Result, error) {
	res, err := in.ingestBatch(ctx, q, []batchInput{{p: p, now: now}})
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// applyPayload applies one payload's alerts, in order, within its batch.
func (in *Ingester) applyPayload(ctx context.Context, q store.Querier, s *payloadState) error {
	for i, a := range s.p.Alerts {
		fp := s.fps[i]
		if s.b.resolving[fp] { // what came before in the payload applies first
			if err := in.applyResolutions(ctx, q, s.b); err != nil {
				return err
			}
		}
		if a.Status != "firing" {
			s.queueResolution(a, fp)
			continue
		}
		if err := in.firing(ctx, q, s, a, fp); err != nil {
			return err
		}
	}
	return nil
}

// storeNew stores the new occurrences the batch has gathered so far, in one statement.
func (in *Ingester) storeNew(ctx context.Context, q store.Querier, b *batchState) error {
	if len(b.inserts) == 0 {
		return nil
	}
	ids, err := insertOccurrences(ctx, q, b.inserts)
	if err != nil {
		return err
	}
	for _, o := range b.inserts {
		b.learned = append(b.learned, learned{fp: o.alert.Fingerprint, id: ids[o.alert.Fingerprint], incidentID: o.alert.IncidentID,
			start: o.alert.StartsAt})
	}
	b.inserts = b.inserts[:0]
	return nil
}

// report counts a committed payload's alerts by result and logs its late ones at debug
// level. It runs after the commit, so a batch rolled back or run again counts nothing twice.
func (in *Ingester) report(ctx context.Context, res Result, late []lateAlert) {
	m := in.opts.Metrics
	m.Alerts(metrics.AlertNew, res.New)
	m.Alerts(metrics.AlertDuplicate, res.Deduplicated-res.Late)
	m.Alerts(metrics.AlertResolved, res.Resolved)
	m.Alerts(metrics.AlertLate, res.Late)
	for _, l := range late {
		in.opts.Log.DebugContext(ctx, "alert counted late and ignored", "fingerprint", l.fingerprint, "alertname", l.alertname, "reason", l.reason)
	}
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

// fingerprints is the fingerprint of each of a payload's alerts.
func fingerprints(p Payload) []string {
	fps := make([]string, len(p.Alerts))
	for i, a := range p.Alerts {
		fps[i] = Fingerprint(a)
	}
	return fps
}

// dbTime is a time as both databases store it: UTC, microseconds (PostgreSQL's precision),
// so an occurrence's startsAt compares equal on every read.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// String summarises a result for logs.
func (r Result) String() string {
	return fmt.Sprintf("received=%d new=%d deduplicated=%d resolved=%d incidents=%v", r.Received, r.New, r.Deduplicated, r.Resolved, r.Incidents)
}
