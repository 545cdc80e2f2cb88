package deploys

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"firebreak/incidents"
	"firebreak/store"
	"firebreak/text"
)

// Timeline event kinds written by this package.
const (
	KindDeploySuspected   incidents.EventKind = "deploy_suspected"
	KindDeployDuring      incidents.EventKind = "deploy_during"
	KindRollbackRequested incidents.EventKind = "rollback_requested"
	KindRollbackSucceeded incidents.EventKind = "rollback_succeeded"
	KindRollbackFailed    incidents.EventKind = "rollback_failed"
	// KindNoDeployRecorded says, when an incident opens, that its service and environment
	// have no deploy on record at all, so "no suspect" is not read as "not a deploy".
	KindNoDeployRecorded incidents.EventKind = "no_deploy_recorded"
)

// Match kinds.
const (
	matchSuspect = "suspect"
	matchDuring  = "during"
)

// Tracker records deploys and correlates them with incidents.
type Tracker struct {
	db        *store.DB
	incidents *incidents.Manager
	window    time.Duration
	rollbacks *Rollbacks
	envs      incidents.EnvironmentAliases
}

// NewTracker returns a Tracker; deploys finished within window before an incident's impact
// start are its suspects. rollbacks may be nil (no rollback hooks at all).
func NewTracker(db *store.DB, m *incidents.Manager, window time.Duration, rollbacks *Rollbacks) *Tracker {
	if window <= 0 {
		window = 30 * time.Minute
	}
	return &Tracker{db: db, incidents: m, window: window, rollbacks: rollbacks}
}

// AliasEnvironments makes the tracker record, and look up, deploys of an environment named
// by an alias under its canonical name, so they correlate with the alerts of that
// environment. Call it while wiring, before serving.
func (t *Tracker) AliasEnvironments(a incidents.EnvironmentAliases) { t.envs = a }

// Record stores a deploy and matches it with the open incidents of its service and
// environment: one whose impact began up to the window after the deploy finished gets it as a
// suspect (recorded late); one already under way gets it as "deployed during the incident".
func (t *Tracker) Record(ctx context.Context, in Input) (Deploy, error) {
	now := t.incidents.Now()
	d, err := in.deploy(now)
	if err != nil {
		return Deploy{}, err
	}
	d.Environment = t.envs.Canonical(d.Environment)
	err = t.db.InTx(ctx, func(q store.Querier) error {
		if err := insertDeploy(ctx, q, &d); err != nil {
			return err
		}
		if err := t.incidents.LockGroupTx(ctx, q, incidents.ServiceLockKey(d.Service, d.Environment)); err != nil {
			return err
		}
		open, err := t.incidents.ListTx(ctx, q, incidents.Filter{Service: d.Service, OpenOnly: true, Limit: 100})
		if err != nil {
			return err
		}
		for _, inc := range open {
			if inc.Environment != d.Environment {
				continue
			}
			if err := t.matchRecorded(ctx, q, inc, d, now); err != nil {
				return err
			}
		}
		return nil
	})
	return d, err
}

func (t *Tracker) matchRecorded(ctx context.Context, q store.Querier, inc incidents.Incident, d Deploy, now time.Time) error {
	gap := inc.ImpactStartedAt.Sub(d.FinishedAt)
	switch {
	case gap >= 0 && (gap <= t.window || d.InProgress()):
		m := t.suspect(d, inc)
		m.Reason += " (recorded after the incident opened)"
		if err := t.addMatch(ctx, q, inc, m, now); err != nil {
			return err
		}
		return t.autoRollback(ctx, q, inc)
	case gap < 0:
		m := Match{Deploy: d, Kind: matchDuring, Score: 0, Reason: duringReason(-gap)}
		return t.addMatch(ctx, q, inc, m, now)
	}
	return nil
}

// OnIncidentChange is an incidents hook: a newly opened or declared incident gets its
// suspects, an impact start moved back gets them worked out again, and a change of severity
// may cross the auto-rollback threshold.
func (t *Tracker) OnIncidentChange(ctx context.Context, q store.Querier, inc incidents.Incident, ev incidents.Event) error {
	switch ev.Kind {
	case incidents.KindOpened, incidents.KindDeclared:
		return t.correlate(ctx, q, inc)
	case incidents.KindImpactStartMoved:
		return t.rematch(ctx, q, inc)
	case incidents.KindSeverityChanged:
		return t.autoRollback(ctx, q, inc)
	}
	return nil
}

// correlate finds the deploys of the incident's service and environment that finished within
// the window before impact start, closest first.
func (t *Tracker) correlate(ctx context.Context, q store.Querier, inc incidents.Incident) error {
	if inc.Service == "" {
		return nil
	}
	found, err := t.suspectDeploys(ctx, q, inc)
	if err != nil {
		return err
	}
	now := t.incidents.Now()
	for _, d := range found {
		if err := t.addMatch(ctx, q, inc, t.suspect(d, inc), now); err != nil {
			return err
		}
	}
	if len(found) == 0 {
		return t.sayIfNoDeployRecorded(ctx, q, inc, now)
	}
	return t.autoRollback(ctx, q, inc)
}

// sayIfNoDeployRecorded writes on the timeline of an incident without suspects that its
// service and environment have no deploy on record at all: then the missing suspect says
// nothing about the deploys, only that CI does not record them (yet).
func (t *Tracker) sayIfNoDeployRecorded(ctx context.Context, q store.Querier, inc incidents.Incident, now time.Time) error {
	known, err := anyDeployOf(ctx, q, inc.Service, inc.Environment)
	if err != nil || known {
		return err
	}
	where := inc.Service
	if inc.Environment != "" {
		where += " in " + inc.Environment
	}
	_, err = t.incidents.RecordTx(ctx, q, inc, incidents.Event{At: now, Actor: incidents.ActorFirebreak, Kind: KindNoDeployRecorded,
		Text: "No deploy of " + where + " has been recorded; record deploys from CI to see suspects."})
	return err
}

// DeploysKnown reports whether any deploy of the service and environment has been
// recorded; false for an empty service, which no deploy can match.
func (t *Tracker) DeploysKnown(ctx context.Context, service, env string) (bool, error) {
	if service == "" {
		return false, nil
	}
	return anyDeployOf(ctx, t.db.R, service, env)
}

func (t *Tracker) addMatch(ctx context.Context, q store.Querier, inc incidents.Incident, m Match, now time.Time) error {
	created, err := insertMatch(ctx, q, inc.ID, m, now)
	if err != nil || !created {
		return err
	}
	ev := incidents.Event{At: now, Actor: "firebreak", Kind: KindDeploySuspected,
		Text: fmt.Sprintf("Suspected deploy: %s, %s%s.", m.Deploy.Label(), m.Reason, byline(m.Deploy))}
	if m.Kind == matchDuring {
		ev.Kind, ev.Text = KindDeployDuring, fmt.Sprintf("Deploy %s: %s%s.", m.Deploy.Label(), m.Reason, byline(m.Deploy))
	}
	_, err = t.incidents.RecordTx(ctx, q, inc, ev)
	return err
}

func (t *Tracker) autoRollback(ctx context.Context, q store.Querier, inc incidents.Incident) error {
	if t.rollbacks == nil {
		return nil
	}
	return t.rollbacks.maybeAutoTx(ctx, q, inc)
}

// Suspects returns an incident's suspected deploys, best first.
func (t *Tracker) Suspects(ctx context.Context, incidentID int64) ([]Match, error) {
	return matchesOf(ctx, t.db.R, incidentID, matchSuspect)
}

// During returns the deploys recorded while the incident was open.
func (t *Tracker) During(ctx context.Context, incidentID int64) ([]Match, error) {
	return matchesOf(ctx, t.db.R, incidentID, matchDuring)
}

// List returns deploys newest first and the next page's cursor (0 when none). An
// environment given by an alias means its canonical name.
func (t *Tracker) List(ctx context.Context, f Filter) ([]Deploy, int64, error) {
	f.Environment = t.envs.Canonical(f.Environment)
	return store.Page(f.Limit, func(limit int) ([]Deploy, error) {
		f.Limit = limit
		return listDeploys(ctx, t.db.R, f)
	}, func(d Deploy) int64 { return d.ID })
}

// Get reads one deploy.
func (t *Tracker) Get(ctx context.Context, id int64) (Deploy, error) {
	return getDeploy(ctx, t.db.R, id)
}

// inProgressScore ranks a deploy still rolling out when the impact began above every
// finished one (whose scores are at most 1): it is the likeliest cause, and the cheapest to
// stop.
const inProgressScore = 2

// suspectDeploys returns the deploys that finished within the window before the incident's
// impact start and those still in progress that started before it, however long ago.
func (t *Tracker) suspectDeploys(ctx context.Context, q store.Querier, inc incidents.Incident) ([]Deploy, error) {
	found, err := deploysBetween(ctx, q, inc.Service, inc.Environment, inc.ImpactStartedAt.Add(-t.window), inc.ImpactStartedAt)
	if err != nil {
		return nil, err
	}
	rolling, err := inProgressSince(ctx, q, inc.Service, inc.Environment, inc.ImpactStartedAt)
	if err != nil {
		return nil, err
	}
	for _, d := range rolling {
		if !slices.ContainsFunc(found, func(f Deploy) bool { return f.ID == d.ID }) {
			found = append(found, d)
		}
	}
	return found, nil
}

// suspect is the match of a deploy that finished (or, in progress, started) before the
// incident's impact start.
func (t *Tracker) suspect(d Deploy, inc incidents.Incident) Match {
	gap := inc.ImpactStartedAt.Sub(d.FinishedAt)
	if d.InProgress() {
		return Match{Deploy: d, Kind: matchSuspect, Score: inProgressScore, Reason: inProgressReason(d, inc)}
	}
	return Match{Deploy: d, Kind: matchSuspect, Score: score(gap, t.window), Reason: suspectReason(gap, inc)}
}

// inProgressReason says where the rollout stood when the impact began: "canary v2.4.1 at
// 10% when the first alert fired".
func inProgressReason(d Deploy, inc incidents.Incident) string {
	s := strings.ReplaceAll(d.Strategy, "_", "-") + " " + d.Version
	switch {
	case d.Weight != nil:
		s += fmt.Sprintf(" at %d%%", *d.Weight)
	case d.Stage != nil:
		s += " at stage " + text.OneLine(*d.Stage, maxShort)
	default:
		s += " in progress"
	}
	if inc.GroupKey != nil {
		return s + " when the first alert fired"
	}
	return s + " when impact started"
}

// score ranks suspects: 1 for a deploy that finished at impact start, falling linearly to
// near 0 at the edge of the window.
func score(gap, window time.Duration) float64 {
	s := 1 - float64(gap)/float64(window)
	return math.Round(math.Max(s, 0.01)*1000) / 1000
}

func suspectReason(gap time.Duration, inc incidents.Incident) string {
	if inc.GroupKey != nil {
		return "deployed " + ago(gap) + " before the first alert"
	}
	return "deployed " + ago(gap) + " before impact started"
}

// duringReason says how long after the impact start a deploy finished.
func duringReason(after time.Duration) string {
	return "deployed during the incident, " + ago(after) + " after impact started"
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return d.Round(time.Minute).String()
}

func byline(d Deploy) string {
	s := ""
	if d.Author != nil {
		s += " by " + *d.Author
	}
	if c := d.ShortCommit(); c != "" {
		s += " (commit " + c + ")"
	}
	return s
}
