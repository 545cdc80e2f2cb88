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
	return &Ingester{db: db, incidents: m, writes: writes, opts: opts, repeats: newRepeatBook(), spent: &spentBudgets{}}
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
	hits, rest := repeatHits{}, p
	if !in.writes.Closed() { // stopping: the last flush may have run
		hits, rest = in.splitRepeats(p, dbTime(now))
	}
	var res Result
	if len(rest.Alerts) > 0 {
		var err error
		if res, err = in.ingestWriter(ctx, rest, now); err != nil {
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

// ingestWriter stores p through the group committer and returns once it committed.
func (in *Ingester) ingestWriter(ctx context.Context, p Payload, now time.Time) (Result, error) {
	keys := in.lockKeys(p)
	var res Result
	do := func() error {
		return in.writes.DoLocked(ctx, keys, func(ctx context.Context, q store.Querier) error {
			var err error
			res, err = in.ingestTx(ctx, q, p, now)
			return err
		})
	}
	err := do()
	// Two transactions that hold different grouping locks (an alert sent under two group
	// keys) may still start one occurrence at once: the second waits for the first and then
	// fails on the one-firing-occurrence index. Once the first has committed, the payload is
	// a repeat; run it again to count it as one.
	for attempt := 0; attempt < 2 && store.IsUniqueViolation(err); attempt++ {
		err = do()
	}
	if err != nil {
		return Result{}, err
	}
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

// payloadState is what one run of a payload accumulates. It is made afresh by every run, so
// a replayed batch never sees what an earlier run left.
type payloadState struct {
	p          Payload
	now        time.Time
	earliest   map[string]time.Time        // start of each firing fingerprint: the earliest given
	repeated   map[string]firingOccurrence // firing fingerprints whose occurrence fires
	latest     map[string]occurrenceEnd    // the others' latest occurrence, if any
	res        Result
	touched    map[int64]bool
	cleared    map[int64]time.Time // incidents with a resolved alert → latest end
	seen       map[incidents.AlertGroup]incidents.Incident
	resolvedIn map[int64]incidents.Incident // read once per payload, not once per resolved alert
	handled    map[string]bool              // firing fingerprints already handled
	lines      lineBudget                   // which alerts get a timeline line of their own
	late       []lateAlert                  // kept only when debug lines are wanted
	debug      bool
	inserts    []newOccurrence // new occurrences not yet stored
	learned    []learned       // occurrences found firing or stored, known once committed
	resolvedFp []string        // fingerprints whose occurrence this payload resolved
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
	s := &payloadState{
		p: p, now: now, earliest: map[string]time.Time{}, debug: in.opts.Log.Enabled(ctx, slog.LevelDebug),
		res:     Result{Received: len(p.Alerts), Incidents: []int64{}},
		touched: map[int64]bool{}, cleared: map[int64]time.Time{}, seen: map[incidents.AlertGroup]incidents.Incident{},
		resolvedIn: map[int64]incidents.Incident{}, handled: map[string]bool{}, lines: newLineBudget(),
	}
	fps := make([]string, len(p.Alerts))
	// A payload may name one firing alert twice, with two starts: it is one occurrence
	// starting at the earlier.
	var firing []string
	for i, a := range p.Alerts {
		fps[i] = Fingerprint(a)
		if a.Status != "firing" {
			continue
		}
		start := dbTime(a.StartsAt)
		if t, ok := s.earliest[fps[i]]; !ok {
			firing = append(firing, fps[i])
			s.earliest[fps[i]] = start
		} else if start.Before(t) {
			s.earliest[fps[i]] = start
		}
	}
	// One read tells every firing alert's story: its occurrence still fires (a repeat the
	// memory did not know), ended (a late delivery, or a new occurrence after it), or none
	// exists (new). The grouping locks keep those of this payload's groups from changing
	// until the commit.
	var err error
	if s.latest, err = latestOccurrences(ctx, q, firing); err != nil {
		return Result{}, err
	}
	var ids []int64
	for _, fp := range firing {
		if o, ok := s.latest[fp]; ok && o.Status == "firing" {
			ids = append(ids, o.ID)
		}
	}
	if s.repeated, err = markRepeats(ctx, q, ids, now); err != nil {
		return Result{}, err
	}
	// One read as firing that was not marked was resolved meanwhile by a transaction that
	// holds other grouping locks (the same alert under another group key): read it again,
	// since its start may now make it a new occurrence.
	var changed []string
	for _, fp := range firing {
		if o, ok := s.latest[fp]; ok && o.Status == "firing" {
			if _, marked := s.repeated[fp]; !marked {
				changed = append(changed, fp)
			}
		}
	}
	if len(changed) > 0 {
		again, err := latestOccurrences(ctx, q, changed)
		if err != nil {
			return Result{}, err
		}
		for _, fp := range changed {
			if o, ok := again[fp]; ok {
				s.latest[fp] = o
			} else {
				delete(s.latest, fp)
			}
		}
	}
	for i, a := range p.Alerts {
		if a.Status == "firing" {
			err = in.firing(ctx, q, s, a, fps[i])
		} else if err = in.storeNew(ctx, q, s); err == nil { // a resolve must find what fired before it
			err = in.resolved(ctx, q, s, a, fps[i])
		}
		if err != nil {
			return Result{}, err
		}
	}
	if err := in.storeNew(ctx, q, s); err != nil {
		return Result{}, err
	}
	if err := in.writeSummaries(ctx, q, s); err != nil {
		return Result{}, err
	}
	for _, id := range s.res.Incidents {
		if at, ok := s.cleared[id]; ok {
			if err := in.resolveIfClear(ctx, q, id, at); err != nil {
				return Result{}, err
			}
		}
	}
	res, late, ls, gone, lines := s.res, s.late, s.learned, s.resolvedFp, s.lines
	store.AfterCommit(q, func() {
		in.spent.add(lines)
		in.repeats.learn(ls, now)
		in.repeats.forget(gone)
		in.report(ctx, res, late)
	})
	return s.res, nil
}

// storeNew stores the new occurrences the payload has gathered so far, in one statement.
func (in *Ingester) storeNew(ctx context.Context, q store.Querier, s *payloadState) error {
	if len(s.inserts) == 0 {
		return nil
	}
	ids, err := insertOccurrences(ctx, q, s.inserts, s.now)
	if err != nil {
		return err
	}
	for _, o := range s.inserts {
		s.learned = append(s.learned, learned{fp: o.alert.Fingerprint, id: ids[o.alert.Fingerprint], incidentID: o.alert.IncidentID,
			start: o.alert.StartsAt})
	}
	s.inserts = s.inserts[:0]
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

// firing applies a firing notification: a repeat of the fingerprint's firing occurrence
// (whatever startsAt it carries), a late delivery of its last resolved occurrence, or a new
// occurrence.
func (in *Ingester) firing(ctx context.Context, q store.Querier, s *payloadState, a template.Alert, fp string) error {
	if s.handled[fp] {
		s.res.Deduplicated++ // the same alert twice in one payload is one repeat
		return nil
	}
	s.handled[fp] = true
	startsAt := s.earliest[fp]
	if occ, ok := s.repeated[fp]; ok {
		s.res.Deduplicated++
		s.touch(occ.incidentID)
		if startsAt.Equal(occ.startsAt) { // another start takes the writer (see repeats.go)
			s.learned = append(s.learned, learned{fp: fp, id: occ.id, incidentID: occ.incidentID, start: occ.startsAt})
		}
		if startsAt.Before(occ.startsAt) {
			return in.moveStartBack(ctx, q, a, fp, occ, startsAt)
		}
		return nil
	}
	last, found := s.latest[fp]
	// Not firing: a resolved occurrence whose end is not before this start is the one this
	// notification belongs to, delivered late (from a retry queue, or the other HA peer).
	if found && (last.Status == "firing" || (last.EndsAt != nil && !startsAt.After(*last.EndsAt))) {
		why := "late delivery: it started " + startsAt.Format(time.RFC3339) + ", within an occurrence that already ended"
		if last.Status == "firing" {
			why = "late delivery: the alert's occurrence is still firing"
		}
		s.countLate(a, fp, why)
		s.touch(last.IncidentID)
		return nil
	}
	id, err := in.openOccurrence(ctx, q, s, a, fp, startsAt)
	if err != nil {
		return err
	}
	s.res.New++
	s.touch(id)
	return nil
}

// moveStartBack records that the fingerprint's firing occurrence started earlier than
// stored (Alertmanager keeps the earliest start an HA Prometheus pair reports), and moves
// the impact start of its incident back with it while the incident is open. A start that
// falls within an earlier, ended occurrence moves nothing: it is that one's, delivered late.
func (in *Ingester) moveStartBack(ctx context.Context, q store.Querier, a template.Alert, fp string, occ firingOccurrence, startsAt time.Time) error {
	moved, err := moveStart(ctx, q, fp, startsAt)
	if err != nil || !moved {
		return err
	}
	inc, err := in.incidents.GetTx(ctx, q, occ.incidentID)
	if err != nil {
		return err
	}
	if !inc.Open() || !startsAt.Before(inc.ImpactStartedAt) {
		return nil
	}
	_, err = in.incidents.MoveImpactStartTx(ctx, q, inc.ID, startsAt,
		"alert "+describeAlert(a)+" started at "+startsAt.Format(time.RFC3339)+", earlier than first reported.")
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
