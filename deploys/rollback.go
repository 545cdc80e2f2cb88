package deploys

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"firebreak/incidents"
	"firebreak/metrics"
	"firebreak/outbox"
	"firebreak/store"
)

// Rollback policies of PRODUCT.md.
const (
	PolicyAuto    = "auto"
	PolicyConfirm = "confirm"
	PolicyOff     = "off"
)

// JobKind is the outbox kind of rollback calls.
const JobKind = "rollback"

// Rollback refusals; each maps to 409 with its message.
var (
	ErrNoHook           = errors.New("no rollback hook is configured for this service")
	ErrPolicyOff        = errors.New("rollback is off for this service")
	ErrNoSuspect        = errors.New("the incident has no suspected deploy; name one with deploy_id")
	ErrAlreadyRequested = errors.New("a rollback of this deploy was already requested for this incident")
	ErrIncidentResolved = errors.New("the incident is resolved")
	ErrWrongDeploy      = errors.New("the deploy is not of the incident's service and environment")
)

// Hook is one service's rollback configuration: a signed webhook or a command.
type Hook struct {
	Policy      string
	MinSeverity incidents.Severity
	WebhookURL  string
	Secret      []byte
	// Command is an argv list, run without a shell.
	Command []string
	Timeout time.Duration
}

// Rollback statuses (PRODUCT.md "Resources as JSON").
const (
	StatusPending = "pending"
	// StatusRunning: a command hook was started. It is recorded, committed, before the
	// command starts, so a rollback found running is never started again. A webhook is not
	// recorded as running: it may be called again, with the same Idempotency-Key.
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	// StatusUnknown: a command whose outcome could not be known (Firebreak stopped while it
	// ran, or its result could not be recorded). People must check.
	StatusUnknown = "unknown"
	// StatusCancelled: before a call, the incident was resolved or the policy no longer
	// allowed the rollback.
	StatusCancelled = "cancelled"
)

// Rollback is one requested remedy: a rollback, or another action (abort_canary,
// disable_flag, a named action) carried out by the same machinery.
type Rollback struct {
	ID         int64 `json:"id" db:"id"`
	IncidentID int64 `json:"incident_id" db:"incident_id"`
	DeployID   int64 `json:"deploy_id" db:"deploy_id"`
	// Action names the remedy: rollback, abort_canary, disable_flag or a named action.
	Action string `json:"action" db:"action"`
	// Flag is the feature flag of a disable_flag; empty otherwise.
	Flag        string     `json:"flag,omitempty" db:"flag"`
	Status      string     `json:"status" db:"status"`
	RequestedBy string     `json:"requested_by" db:"requested_by"`
	RequestedAt time.Time  `json:"requested_at" db:"requested_at"`
	FinishedAt  *time.Time `json:"finished_at" db:"finished_at"`
	Attempts    int        `json:"attempts" db:"attempts"`
	LastError   string     `json:"last_error" db:"last_error"`
}

const rollbackColumns = `id, incident_id, deploy_id, action, flag, status, requested_by, requested_at, finished_at, attempts, last_error`

// Rollbacks requests rollbacks and, as the outbox handler of JobKind, calls the hooks.
type Rollbacks struct {
	db        *store.DB
	incidents *incidents.Manager
	outbox    *outbox.Outbox
	hooks     map[string]Hook
	// actions holds each service's other remedies by action name (abort_canary, ...).
	actions map[string]map[string]Hook
	runner  hookRunner
	metrics *metrics.Set
}

// NewRollbacks returns a Rollbacks for the per-service hooks and registers it with the
// outbox, with a lease longer than the slowest hook may run. publicURL builds incident links
// in webhook bodies.
func NewRollbacks(db *store.DB, m *incidents.Manager, ob *outbox.Outbox, hooks map[string]Hook, publicURL string) *Rollbacks {
	return NewRemedies(db, m, ob, hooks, nil, publicURL)
}

// NewRemedies is NewRollbacks with each service's other remedies (services.NAME.actions),
// by service and then action name.
func NewRemedies(db *store.DB, m *incidents.Manager, ob *outbox.Outbox, hooks map[string]Hook, actions map[string]map[string]Hook,
	publicURL string) *Rollbacks {
	r := &Rollbacks{db: db, incidents: m, outbox: ob, hooks: hooks, actions: actions, runner: newHookRunner(publicURL)}
	all := maps.Clone(hooks)
	if all == nil {
		all = map[string]Hook{}
	}
	for svc, byAction := range actions {
		for name, h := range byAction {
			all[svc+"/"+name] = h
		}
	}
	ob.RegisterKind(JobKind, r, outbox.KindOptions{Lease: leaseFor(all)})
	return r
}

// SetMetrics counts every rollback requested and each outcome (succeeded, failed, unknown,
// cancelled) in m, once recorded. Call it while wiring, before serving.
func (r *Rollbacks) SetMetrics(m *metrics.Set) { r.metrics = m }

// countAfterCommit counts a remedy's outcome once the transaction q recorded it commits.
func (r *Rollbacks) countAfterCommit(q store.Querier, action, outcome string) {
	m := r.metrics
	store.AfterCommit(q, func() { m.Remedy(action, outcome) })
}

// leaseFor is how long a claimed rollback job stays reserved: a minute longer than the
// slowest hook may run, and at least five minutes, so no other worker or replica takes the
// job over while the first still waits for its hook.
func leaseFor(hooks map[string]Hook) time.Duration {
	lease := 5 * time.Minute
	for _, h := range hooks {
		if t := h.timeout() + time.Minute; t > lease {
			lease = t
		}
	}
	return lease
}

// Request asks for a rollback of deployID (0: the top suspect) for an incident.
func (r *Rollbacks) Request(ctx context.Context, incidentID, deployID int64, actor string) (Rollback, error) {
	return r.RequestWithNote(ctx, incidentID, deployID, actor, "")
}

// RequestWithNote is Request with the requester's note for the timeline ("error rate
// doubled right after 1.4.2").
func (r *Rollbacks) RequestWithNote(ctx context.Context, incidentID, deployID int64, actor, note string) (Rollback, error) {
	return r.RequestRemedy(ctx, RemedyRequest{IncidentID: incidentID, DeployID: deployID, Action: ActionRollback, Actor: actor, Note: note})
}

// requestTx records the rollback (once per incident and deploy, enforced by a unique key),
// moves the incident to remediating and enqueues the hook call, all in one transaction.
// Automation starting a rollback is not a person acknowledging the incident: it moves to
// remediating without acknowledged_at.
func (r *Rollbacks) requestTx(ctx context.Context, q store.Querier, inc incidents.Incident, d Deploy, action, flag, actor, note string) (Rollback, error) {
	if !inc.Open() {
		return Rollback{}, fmt.Errorf("incident %d: %w", inc.ID, ErrIncidentResolved)
	}
	now := r.incidents.Now()
	rb := Rollback{IncidentID: inc.ID, DeployID: d.ID, Action: action, Flag: flag, Status: StatusPending, RequestedBy: actor, RequestedAt: now}
	err := q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO rollbacks (incident_id, deploy_id, action, flag, status, requested_by, requested_at)
		VALUES (?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (incident_id, deploy_id, action, flag) DO NOTHING RETURNING id`),
		inc.ID, d.ID, action, flag, actor, now).Scan(&rb.ID)
	if errors.Is(err, sql.ErrNoRows) {
		existing, gerr := getRollback(ctx, q, inc.ID, d.ID, action, flag)
		if gerr != nil {
			return Rollback{}, gerr
		}
		return existing, fmt.Errorf("%w (%s, by %s at %s, status %s)", ErrAlreadyRequested, remedyName(action, flag), existing.RequestedBy,
			existing.RequestedAt.Format(time.RFC3339), existing.Status)
	}
	if err != nil {
		return Rollback{}, fmt.Errorf("record %s: %w", action, err)
	}
	r.countAfterCommit(q, action, metrics.RemedyRequested)
	line := fmt.Sprintf("%s requested by %s.", subject(rb, d), actor)
	if note != "" {
		line = strings.TrimSuffix(line, ".") + ": " + note
	}
	if inc.Status == incidents.Observing || inc.Status == incidents.Responding {
		move := incidents.Remediate
		if incidents.IsAutomation(actor) {
			move = incidents.RemediateByAutomation
		}
		moved, err := r.incidents.TransitionTx(ctx, q, inc.ID, move, actor, doing(rb, d))
		switch {
		case errors.Is(err, incidents.ErrInvalidTransition):
			// Another remedy of the incident, requested at the same moment, moved it on
			// first: this one joins it as it is now.
			if inc, err = r.incidents.GetTx(ctx, q, inc.ID); err != nil {
				return Rollback{}, err
			}
		case err != nil:
			return Rollback{}, err
		default:
			inc = moved
		}
	}
	if _, err := r.incidents.RecordTx(ctx, q, inc, incidents.Event{Actor: actor, Kind: KindRollbackRequested, Text: line}); err != nil {
		return Rollback{}, err
	}
	if _, _, err := r.outbox.EnqueueTx(ctx, q, JobKind, rollbackJob{RollbackID: rb.ID}, idempotencyKey(rb)); err != nil {
		return Rollback{}, err
	}
	return rb, nil
}

// ForIncident lists the rollbacks of an incident.
func (r *Rollbacks) ForIncident(ctx context.Context, incidentID int64) ([]Rollback, error) {
	out := []Rollback{}
	err := r.db.R.SelectContext(ctx, &out, r.db.R.Rebind(`SELECT `+rollbackColumns+` FROM rollbacks WHERE incident_id = ? ORDER BY id`), incidentID)
	if err != nil {
		return nil, fmt.Errorf("read rollbacks of incident %d: %w", incidentID, err)
	}
	return out, nil
}

func getRollback(ctx context.Context, q store.Querier, incidentID, deployID int64, action, flag string) (Rollback, error) {
	var rb Rollback
	err := q.GetContext(ctx, &rb, q.Rebind(`SELECT `+rollbackColumns+` FROM rollbacks
		WHERE incident_id = ? AND deploy_id = ? AND action = ? AND flag = ?`), incidentID, deployID, action, flag)
	if err != nil {
		return Rollback{}, fmt.Errorf("read %s of incident %d deploy %d: %w", action, incidentID, deployID, err)
	}
	return rb, nil
}

// idempotencyKey is the Idempotency-Key of a remedy call, the same on every retry:
// <action>-<incident id>-<deploy id>[-<flag>].
func idempotencyKey(rb Rollback) string {
	k := fmt.Sprintf("%s-%d-%d", rb.Action, rb.IncidentID, rb.DeployID)
	if rb.Flag != "" {
		k += "-" + rb.Flag
	}
	return k
}

func rollbackTarget(d Deploy) string {
	if d.PreviousVersion != nil {
		return *d.PreviousVersion
	}
	return "the previous version"
}
