package deploys

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"firebreak/incidents"
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

// Rollback is one requested rollback.
type Rollback struct {
	ID          int64      `json:"id" db:"id"`
	IncidentID  int64      `json:"incident_id" db:"incident_id"`
	DeployID    int64      `json:"deploy_id" db:"deploy_id"`
	Status      string     `json:"status" db:"status"`
	RequestedBy string     `json:"requested_by" db:"requested_by"`
	RequestedAt time.Time  `json:"requested_at" db:"requested_at"`
	FinishedAt  *time.Time `json:"finished_at" db:"finished_at"`
	Attempts    int        `json:"attempts" db:"attempts"`
	LastError   string     `json:"last_error" db:"last_error"`
}

// Rollbacks requests rollbacks and, as the outbox handler of JobKind, calls the hooks.
type Rollbacks struct {
	db        *store.DB
	incidents *incidents.Manager
	outbox    *outbox.Outbox
	hooks     map[string]Hook
	runner    hookRunner
}

// NewRollbacks returns a Rollbacks for the per-service hooks and registers it with the
// outbox. publicURL builds incident links in webhook bodies.
func NewRollbacks(db *store.DB, m *incidents.Manager, ob *outbox.Outbox, hooks map[string]Hook, publicURL string) *Rollbacks {
	r := &Rollbacks{db: db, incidents: m, outbox: ob, hooks: hooks, runner: newHookRunner(publicURL)}
	ob.Register(JobKind, r)
	return r
}

// HideEnv keeps the named environment variables (the secrets Firebreak read) away from
// command hooks. FIREBREAK_* variables are always withheld.
func (r *Rollbacks) HideEnv(names ...string) {
	if r.runner.hiddenEnv == nil {
		r.runner.hiddenEnv = map[string]bool{}
	}
	for _, n := range names {
		r.runner.hiddenEnv[n] = true
	}
}

// Request asks for a rollback of deployID (0: the top suspect) for an incident.
func (r *Rollbacks) Request(ctx context.Context, incidentID, deployID int64, actor string) (Rollback, error) {
	return r.RequestWithNote(ctx, incidentID, deployID, actor, "")
}

// RequestWithNote is Request with the requester's note for the timeline ("error rate
// doubled right after 1.4.2").
func (r *Rollbacks) RequestWithNote(ctx context.Context, incidentID, deployID int64, actor, note string) (Rollback, error) {
	var rb Rollback
	err := r.db.InTx(ctx, func(q store.Querier) error {
		inc, err := r.incidents.GetTx(ctx, q, incidentID)
		if err != nil {
			return err
		}
		if !inc.Open() {
			return fmt.Errorf("incident %d: %w", inc.ID, ErrIncidentResolved)
		}
		if deployID == 0 {
			suspects, err := matchesOf(ctx, q, incidentID, matchSuspect)
			if err != nil {
				return err
			}
			if len(suspects) == 0 {
				return fmt.Errorf("incident %d: %w", incidentID, ErrNoSuspect)
			}
			deployID = suspects[0].Deploy.ID
		}
		d, err := getDeploy(ctx, q, deployID)
		if err != nil {
			return err
		}
		if d.Service != inc.Service || d.Environment != inc.Environment {
			return fmt.Errorf("%w: deploy %d is %s/%s, incident %d is %s/%s", ErrWrongDeploy, d.ID, d.Service, d.Environment,
				inc.ID, inc.Service, inc.Environment)
		}
		hook, ok := r.hooks[d.Service]
		switch {
		case !ok:
			return fmt.Errorf("service %q: %w", d.Service, ErrNoHook)
		case hook.Policy == PolicyOff:
			return fmt.Errorf("service %q: %w", d.Service, ErrPolicyOff)
		}
		rb, err = r.requestTx(ctx, q, inc, d, actor, note)
		return err
	})
	return rb, err
}

// maybeAutoTx requests a rollback of the top suspect when the service's policy is auto and
// the incident is at least as severe as its threshold. A rollback already requested is
// not an error here: auto policy simply has nothing more to do.
func (r *Rollbacks) maybeAutoTx(ctx context.Context, q store.Querier, inc incidents.Incident) error {
	hook, ok := r.hooks[inc.Service]
	if !ok || hook.Policy != PolicyAuto || !inc.Open() || !inc.Severity.AtLeast(hook.MinSeverity) {
		return nil
	}
	suspects, err := matchesOf(ctx, q, inc.ID, matchSuspect)
	if err != nil || len(suspects) == 0 {
		return err
	}
	current, err := r.incidents.GetTx(ctx, q, inc.ID)
	if err != nil {
		return err
	}
	_, err = r.requestTx(ctx, q, current, suspects[0].Deploy, "firebreak (auto rollback)",
		fmt.Sprintf("policy auto, incident is %s (threshold %s)", current.Severity, hook.MinSeverity))
	if errors.Is(err, ErrAlreadyRequested) {
		return nil
	}
	return err
}

// requestTx records the rollback (once per incident and deploy, enforced by a unique key),
// moves the incident to remediating and enqueues the hook call, all in one transaction.
func (r *Rollbacks) requestTx(ctx context.Context, q store.Querier, inc incidents.Incident, d Deploy, actor, note string) (Rollback, error) {
	if !inc.Open() {
		return Rollback{}, fmt.Errorf("incident %d: %w", inc.ID, ErrIncidentResolved)
	}
	now := r.incidents.Now()
	rb := Rollback{IncidentID: inc.ID, DeployID: d.ID, Status: "pending", RequestedBy: actor, RequestedAt: now}
	err := q.QueryRowxContext(ctx, q.Rebind(`INSERT INTO rollbacks (incident_id, deploy_id, status, requested_by, requested_at)
		VALUES (?, ?, 'pending', ?, ?) ON CONFLICT (incident_id, deploy_id) DO NOTHING RETURNING id`), inc.ID, d.ID, actor, now).Scan(&rb.ID)
	if errors.Is(err, sql.ErrNoRows) {
		existing, gerr := getRollback(ctx, q, inc.ID, d.ID)
		if gerr != nil {
			return Rollback{}, gerr
		}
		return existing, fmt.Errorf("%w (by %s at %s, status %s)", ErrAlreadyRequested, existing.RequestedBy,
			existing.RequestedAt.Format(time.RFC3339), existing.Status)
	}
	if err != nil {
		return Rollback{}, fmt.Errorf("record rollback: %w", err)
	}
	text := fmt.Sprintf("Rollback of %s to %s requested by %s.", d.Label(), rollbackTarget(d), actor)
	if note = strings.TrimSpace(note); note != "" {
		text = strings.TrimSuffix(text, ".") + ": " + truncate(note, incidents.MaxNote)
	}
	if inc.Status == incidents.Observing || inc.Status == incidents.Responding {
		if inc, err = r.incidents.TransitionTx(ctx, q, inc.ID, incidents.Remediate, actor, "rolling back "+d.Label()); err != nil {
			return Rollback{}, err
		}
	}
	if _, err := r.incidents.RecordTx(ctx, q, inc, incidents.Event{Actor: actor, Kind: KindRollbackRequested, Text: text}); err != nil {
		return Rollback{}, err
	}
	if _, _, err := r.outbox.EnqueueTx(ctx, q, JobKind, rollbackJob{RollbackID: rb.ID}, idempotencyKey(inc.ID, d.ID)); err != nil {
		return Rollback{}, err
	}
	return rb, nil
}

// rollbackJob is the outbox payload of a rollback call.
type rollbackJob struct {
	RollbackID int64 `json:"rollback_id"`
}

// Handle calls the hook of one rollback (outbox.Handler).
func (r *Rollbacks) Handle(ctx context.Context, job outbox.Job) (retry bool, err error) {
	var p rollbackJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return false, fmt.Errorf("decode rollback job: %w", err)
	}
	rb, inc, d, err := r.load(ctx, p.RollbackID)
	if err != nil {
		return !errors.Is(err, ErrNotFound) && !errors.Is(err, incidents.ErrNotFound), err
	}
	if rb.Status != "pending" {
		return false, nil // already finished by an earlier attempt that could not record it
	}
	hook, ok := r.hooks[d.Service]
	if !ok {
		return false, fmt.Errorf("service %q: %w", d.Service, ErrNoHook)
	}
	result, retry, err := r.runner.run(ctx, hook, inc, d)
	if err != nil {
		return retry, err
	}
	if err := r.succeeded(context.WithoutCancel(ctx), rb, d, job.Attempts, result); err != nil {
		// The hook did its work; only recording it failed. Retry: the next attempt sends the
		// same Idempotency-Key, so the receiver can tell it is the same rollback.
		return true, fmt.Errorf("rollback succeeded (%s) but recording it failed: %w", result, err)
	}
	return false, nil
}

// succeeded marks the rollback done and the incident mitigated (a successful remediation
// action ends the impact), with the hook's answer on the timeline.
func (r *Rollbacks) succeeded(ctx context.Context, rb Rollback, d Deploy, attempt int, result string) error {
	return r.db.InTx(ctx, func(q store.Querier) error {
		now := r.incidents.Now()
		if _, err := q.ExecContext(ctx, q.Rebind(`UPDATE rollbacks SET status = 'succeeded', finished_at = ?, attempts = ?, last_error = ''
			WHERE id = ?`), now, attempt, rb.ID); err != nil {
			return fmt.Errorf("record rollback %d success: %w", rb.ID, err)
		}
		_, err := r.incidents.UpdateTx(ctx, q, rb.IncidentID, func(inc *incidents.Incident) (incidents.Event, error) {
			text := fmt.Sprintf("Rollback of %s to %s succeeded on attempt %d: %s.", d.Label(), rollbackTarget(d), attempt, result)
			if inc.MitigatedAt == nil && inc.Status != incidents.Resolved {
				inc.MitigatedAt = &now
				text += " Impact marked mitigated."
			}
			return incidents.Event{At: now, Actor: "firebreak", Kind: KindRollbackSucceeded, Text: text}, nil
		})
		return err
	})
}

// Failed records a failed attempt, and the give-up, on the timeline (outbox.FailureObserver).
func (r *Rollbacks) Failed(ctx context.Context, job outbox.Job, o outbox.Outcome) {
	var p rollbackJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return
	}
	err := r.db.InTx(ctx, func(q store.Querier) error {
		status := "pending"
		text := fmt.Sprintf("Rollback attempt %d of %d failed: %v. Retrying at %s.", o.Attempt, o.MaxAttempts, o.Err, o.NextAt.Format(time.RFC3339))
		if o.GaveUp {
			status = "failed"
			text = fmt.Sprintf("Rollback failed on attempt %d and will not be retried: %v. The incident stays with its responders.", o.Attempt, o.Err)
		}
		var rb Rollback
		if err := q.GetContext(ctx, &rb, q.Rebind(`SELECT id, incident_id, deploy_id, status, requested_by, requested_at, finished_at,
			attempts, last_error FROM rollbacks WHERE id = ?`), p.RollbackID); err != nil {
			return fmt.Errorf("read rollback %d: %w", p.RollbackID, err)
		}
		var finished any
		if o.GaveUp {
			finished = r.incidents.Now()
		}
		// A report can arrive late: a worker slow to record attempt N while attempt N+1 already
		// succeeded or failed (a short backoff, or a lease that ran out). It must not put a
		// finished rollback back to pending nor overwrite a later attempt.
		res, err := q.ExecContext(ctx, q.Rebind(`UPDATE rollbacks SET status = ?, attempts = ?, last_error = ?, finished_at = ?
			WHERE id = ? AND status = 'pending' AND attempts < ?`),
			status, o.Attempt, truncate(o.Err.Error(), 2000), finished, rb.ID, o.Attempt)
		if err != nil {
			return fmt.Errorf("record rollback %d failure: %w", rb.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		inc, err := r.incidents.GetTx(ctx, q, rb.IncidentID)
		if err != nil {
			return err
		}
		_, err = r.incidents.RecordTx(ctx, q, inc, incidents.Event{Actor: "firebreak", Kind: KindRollbackFailed, Text: text})
		return err
	})
	if err != nil {
		// The outbox already recorded the attempt; only the timeline line is missing.
		slog.Error("recording a failed rollback attempt on the timeline", "rollback", p.RollbackID, "err", err)
	}
}

func (r *Rollbacks) load(ctx context.Context, id int64) (Rollback, incidents.Incident, Deploy, error) {
	var rb Rollback
	err := r.db.R.GetContext(ctx, &rb, r.db.R.Rebind(`SELECT id, incident_id, deploy_id, status, requested_by, requested_at,
		finished_at, attempts, last_error FROM rollbacks WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return rb, incidents.Incident{}, Deploy{}, fmt.Errorf("%w: rollback %d", ErrNotFound, id)
	}
	if err != nil {
		return rb, incidents.Incident{}, Deploy{}, fmt.Errorf("read rollback %d: %w", id, err)
	}
	inc, err := r.incidents.Get(ctx, rb.IncidentID)
	if err != nil {
		return rb, inc, Deploy{}, err
	}
	d, err := getDeploy(ctx, r.db.R, rb.DeployID)
	return rb, inc, d, err
}

// ForIncident lists the rollbacks of an incident.
func (r *Rollbacks) ForIncident(ctx context.Context, incidentID int64) ([]Rollback, error) {
	out := []Rollback{}
	err := r.db.R.SelectContext(ctx, &out, r.db.R.Rebind(`SELECT id, incident_id, deploy_id, status, requested_by, requested_at,
		finished_at, attempts, last_error FROM rollbacks WHERE incident_id = ? ORDER BY id`), incidentID)
	if err != nil {
		return nil, fmt.Errorf("read rollbacks of incident %d: %w", incidentID, err)
	}
	return out, nil
}

func getRollback(ctx context.Context, q store.Querier, incidentID, deployID int64) (Rollback, error) {
	var rb Rollback
	err := q.GetContext(ctx, &rb, q.Rebind(`SELECT id, incident_id, deploy_id, status, requested_by, requested_at, finished_at,
		attempts, last_error FROM rollbacks WHERE incident_id = ? AND deploy_id = ?`), incidentID, deployID)
	if err != nil {
		return Rollback{}, fmt.Errorf("read rollback of incident %d deploy %d: %w", incidentID, deployID, err)
	}
	return rb, nil
}

// idempotencyKey is the Idempotency-Key of a rollback call, the same on every retry.
func idempotencyKey(incidentID, deployID int64) string {
	return fmt.Sprintf("rollback-%d-%d", incidentID, deployID)
}

func rollbackTarget(d Deploy) string {
	if d.PreviousVersion != nil {
		return *d.PreviousVersion
	}
	return "the previous version"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
