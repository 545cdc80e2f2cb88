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
	"firebreak/metrics"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/text"
)

// Timeline event kinds of a rollback's outcome beyond success and failure.
const (
	KindRollbackUnknown   incidents.EventKind = "rollback_unknown"
	KindRollbackCancelled incidents.EventKind = "rollback_cancelled"
)

// holdReason is why an incident whose rollback command has an unknown outcome waits for
// people: alerts clearing must not resolve it while nobody knows what the command did.
const holdReason = "the outcome of a rollback command is unknown"

// maxLastError bounds a rollback's last_error, in characters.
const maxLastError = 2000

// errOutcomeUnknown marks a rollback command whose outcome nobody knows; the job is not
// retried, and the error stays on it for operators.
var errOutcomeUnknown = errors.New("rollback outcome unknown")

// rollbackJob is the outbox payload of a rollback call.
type rollbackJob struct {
	RollbackID int64 `json:"rollback_id"`
}

// Handle carries out one rollback (outbox.Handler): it checks again that the rollback may
// go ahead, then calls the webhook (again after a failure, with the same Idempotency-Key) or
// runs the command (at most once, recorded as running before it starts).
func (r *Rollbacks) Handle(ctx context.Context, job outbox.Job) (retry bool, err error) {
	var p rollbackJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return false, fmt.Errorf("decode rollback job: %w", err)
	}
	rb, inc, d, err := r.load(ctx, p.RollbackID)
	if err != nil {
		return !errors.Is(err, ErrNotFound) && !errors.Is(err, incidents.ErrNotFound), err
	}
	switch rb.Status {
	case StatusRunning:
		// Started before, by this process before a restart or by a worker whose lease ran
		// out, and never finished on record: whatever it did, it must not run twice.
		err := r.outcomeUnknown(ctx, rb, d, "Firebreak stopped or lost track of it while it ran (found running when its job was taken up again)")
		return !errors.Is(err, errOutcomeUnknown), err // retry only when even that could not be recorded
	case StatusPending:
	default:
		return false, nil // settled by an earlier attempt
	}
	hook, why := r.allowed(rb, inc, d)
	if why != "" {
		return false, r.cancel(ctx, rb, d, why)
	}
	if !hook.isCommand() {
		return r.callWebhook(ctx, hook, rb, inc, d, job.Attempts)
	}
	started, err := r.markRunning(ctx, rb, job.Attempts)
	if err != nil || !started {
		return err != nil, err // not started: safe to try again
	}
	result, runErr := r.runner.runCommand(ctx, hook, rb, inc, d)
	// Whatever happens to ctx now, the outcome must be recorded.
	rctx := context.WithoutCancel(ctx)
	if runErr == nil {
		if err := r.succeeded(rctx, rb, d, job.Attempts, result); err != nil {
			return r.notRecorded(rctx, rb, d, result, err)
		}
		return false, nil
	}
	if err := r.commandFailed(rctx, rb, d, job.Attempts, runErr); err != nil {
		return r.notRecorded(rctx, rb, d, runErr.Error(), err)
	}
	return false, runErr
}

// allowed checks, before each call, that the rollback may still go ahead: the incident is
// not resolved and the service's hook still allows it (an automatic rollback needs policy
// auto). It returns the hook, or why not.
func (r *Rollbacks) allowed(rb Rollback, inc incidents.Incident, d Deploy) (Hook, string) {
	hook, ok := r.hookFor(d.Service, rb.Action)
	auto := incidents.IsAutomation(rb.RequestedBy)
	switch {
	case !inc.Open():
		return hook, "the incident is resolved"
	case !ok && rb.Action == ActionRollback:
		return hook, fmt.Sprintf("no rollback hook is configured for %s any more", d.Service)
	case !ok:
		return hook, fmt.Sprintf("no %s remedy is configured for %s any more", rb.Action, d.Service)
	case hook.Policy == PolicyOff:
		return hook, fmt.Sprintf("%s is now off for %s", rb.Action, d.Service)
	case auto && hook.Policy != PolicyAuto:
		return hook, fmt.Sprintf("the policy of %s is now %s, and this %s was automatic", d.Service, hook.Policy, rb.Action)
	case auto && rb.Action == ActionRollback && !d.Reversible:
		return hook, fmt.Sprintf("not reversible: %s is marked reversible: false, and this rollback was automatic", d.Label())
	}
	return hook, ""
}

// callWebhook calls the hook; a failure goes to the outbox, which retries or gives up and
// tells Failed.
func (r *Rollbacks) callWebhook(ctx context.Context, hook Hook, rb Rollback, inc incidents.Incident, d Deploy, attempt int) (bool, error) {
	result, retry, err := r.runner.callWebhook(ctx, hook, rb, inc, d)
	if err != nil {
		return retry, err
	}
	if err := r.succeeded(context.WithoutCancel(ctx), rb, d, attempt, result); err != nil {
		// The hook did its work; only recording it failed. Retry: the next attempt sends the
		// same Idempotency-Key, so the receiver can tell it is the same rollback.
		return true, fmt.Errorf("%s succeeded (%s) but recording it failed: %w", rb.Action, result, err)
	}
	return false, nil
}

// markRunning records, committed, that the command is about to start. It reports false when
// another worker settled or started the rollback meanwhile.
func (r *Rollbacks) markRunning(ctx context.Context, rb Rollback, attempt int) (bool, error) {
	res, err := r.db.W.ExecContext(ctx, r.db.W.Rebind(`UPDATE rollbacks SET status = 'running', attempts = ?, last_error = ''
		WHERE id = ? AND status = 'pending'`), attempt, rb.ID)
	if err != nil {
		return false, fmt.Errorf("record rollback %d as running: %w", rb.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record rollback %d as running: %w", rb.ID, err)
	}
	return n == 1, nil
}

// succeeded marks the rollback done, with the hook's answer on the timeline. A remedy's
// success is not mitigation (PRODUCT.md): the alerts clearing afterwards show the impact is
// over. A command already marked unknown (its job taken over while it still ran) gets its
// real outcome after all.
func (r *Rollbacks) succeeded(ctx context.Context, rb Rollback, d Deploy, attempt int, result string) error {
	return r.db.InTx(ctx, func(q store.Querier) error {
		now := r.incidents.Now()
		res, err := q.ExecContext(ctx, q.Rebind(`UPDATE rollbacks SET status = 'succeeded', finished_at = ?, attempts = ?, last_error = ''
			WHERE id = ? AND status IN ('pending', 'running', 'unknown')`), now, attempt, rb.ID)
		if err != nil {
			return fmt.Errorf("record rollback %d success: %w", rb.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		r.countAfterCommit(q, rb.Action, metrics.RemedySucceeded)
		if state := stateAfter(rb.Action); state != "" {
			// What runs now: an aborted canary's or a rolled-back deploy's state says so.
			current, err := getDeploy(ctx, q, d.ID)
			if err != nil {
				return err
			}
			if err := setStateTx(ctx, q, current, state, now); err != nil {
				return err
			}
		}
		line := fmt.Sprintf("%s succeeded on attempt %d: %s.", subject(rb, d), attempt, result)
		return r.record(ctx, q, rb.IncidentID, incidents.Event{At: now, Actor: incidents.ActorFirebreak, Kind: KindRollbackSucceeded, Text: line})
	})
}

// commandFailed records a command that ran and failed; it is not run again.
func (r *Rollbacks) commandFailed(ctx context.Context, rb Rollback, d Deploy, attempt int, runErr error) error {
	return r.db.InTx(ctx, func(q store.Querier) error {
		now := r.incidents.Now()
		res, err := q.ExecContext(ctx, q.Rebind(`UPDATE rollbacks SET status = 'failed', finished_at = ?, attempts = ?, last_error = ?
			WHERE id = ? AND status IN ('running', 'unknown')`), now, attempt, text.Cut(runErr.Error(), maxLastError), rb.ID)
		if err != nil {
			return fmt.Errorf("record rollback %d failure: %w", rb.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		r.countAfterCommit(q, rb.Action, metrics.RemedyFailed)
		line := fmt.Sprintf("%s failed on attempt %d and will not be retried: %s. The incident stays with its responders.",
			strings.TrimSuffix(subject(rb, d), " to "+rollbackTarget(d)), attempt, runErr)
		return r.record(ctx, q, rb.IncidentID, incidents.Event{At: now, Actor: incidents.ActorFirebreak, Kind: KindRollbackFailed, Text: line})
	})
}

// notRecorded handles a command that finished but whose result could not be recorded: the
// rollback becomes unknown, or, if even that cannot be written, stays running so the next
// attempt finds it so and marks it unknown then. Never is the command run again.
func (r *Rollbacks) notRecorded(ctx context.Context, rb Rollback, d Deploy, what string, recordErr error) (bool, error) {
	why := fmt.Sprintf("it finished (%s) but recording its result failed (%v)", what, recordErr)
	if err := r.outcomeUnknown(ctx, rb, d, why); !errors.Is(err, errOutcomeUnknown) {
		return true, fmt.Errorf("rollback %d: %s; marking it unknown failed too: %w", rb.ID, why, err)
	}
	return false, fmt.Errorf("rollback %d: %w: %s", rb.ID, errOutcomeUnknown, why)
}

// outcomeUnknown marks a started command's rollback unknown: the timeline says people must
// check, and the incident is held for people so alerts clearing do not resolve it. It
// returns an error wrapping errOutcomeUnknown once that is recorded (or the rollback was
// settled meanwhile), another error when recording failed.
func (r *Rollbacks) outcomeUnknown(ctx context.Context, rb Rollback, d Deploy, why string) error {
	err := r.db.InTx(ctx, func(q store.Querier) error {
		return r.outcomeUnknownTx(ctx, q, rb, d, why)
	})
	if err != nil {
		return fmt.Errorf("record rollback %d as unknown: %w", rb.ID, err)
	}
	return fmt.Errorf("rollback %d: %w: %s", rb.ID, errOutcomeUnknown, why)
}

func (r *Rollbacks) outcomeUnknownTx(ctx context.Context, q store.Querier, rb Rollback, d Deploy, why string) error {
	now := r.incidents.Now()
	res, err := q.ExecContext(ctx, q.Rebind(`UPDATE rollbacks SET status = 'unknown', finished_at = ?, last_error = ?
		WHERE id = ? AND status = 'running'`), now, text.Cut("outcome unknown: "+why, maxLastError), rb.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	r.countAfterCommit(q, rb.Action, metrics.RemedyUnknown)
	inc, err := r.incidents.HoldForPeopleTx(ctx, q, rb.IncidentID, holdReason)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%s command for %s: outcome unknown, %s. It will not be run again: check whether it "+
		"happened. The incident waits for people and will not resolve by itself.", noun(rb), strings.TrimPrefix(subject(rb, d), "Rollback of "), why)
	if rb.Action == ActionRollback {
		line = fmt.Sprintf("Rollback command for %s to %s: outcome unknown, %s. It will not be run again: check whether the rollback "+
			"happened. The incident waits for people and will not resolve by itself.", d.Label(), rollbackTarget(d), why)
	}
	_, err = r.incidents.RecordTx(ctx, q, inc, incidents.Event{At: now, Actor: incidents.ActorFirebreak, Kind: KindRollbackUnknown, Text: text.Clean(line)})
	return err
}

// cancel settles a pending rollback without a call, with the reason on the timeline.
func (r *Rollbacks) cancel(ctx context.Context, rb Rollback, d Deploy, why string) error {
	err := r.db.InTx(ctx, func(q store.Querier) error {
		now := r.incidents.Now()
		res, err := q.ExecContext(ctx, q.Rebind(`UPDATE rollbacks SET status = 'cancelled', finished_at = ?, last_error = ?
			WHERE id = ? AND status = 'pending'`), now, text.Cut("cancelled: "+why, maxLastError), rb.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		r.countAfterCommit(q, rb.Action, metrics.RemedyCancelled)
		line := fmt.Sprintf("%s cancelled before the call: %s.", subject(rb, d), why)
		return r.record(ctx, q, rb.IncidentID, incidents.Event{At: now, Actor: incidents.ActorFirebreak, Kind: KindRollbackCancelled, Text: line})
	})
	if err != nil {
		return fmt.Errorf("cancel rollback %d: %w", rb.ID, err)
	}
	return nil
}

// record writes a timeline line on the incident as it is now. The line quotes errors from
// elsewhere (a handler's panic, a library's message): it is cleaned, so it always stores.
func (r *Rollbacks) record(ctx context.Context, q store.Querier, incidentID int64, ev incidents.Event) error {
	inc, err := r.incidents.GetTx(ctx, q, incidentID)
	if err != nil {
		return err
	}
	ev.Text = text.Clean(ev.Text)
	_, err = r.incidents.RecordTx(ctx, q, inc, ev)
	return err
}

// Failed records a failed attempt, and the give-up, on the timeline (outbox.FailureObserver).
// A command that ran and failed was recorded by Handle already; a command still running on
// record here is one whose result could not be recorded, and becomes unknown.
func (r *Rollbacks) Failed(ctx context.Context, job outbox.Job, o outbox.Outcome) {
	var p rollbackJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return
	}
	err := r.db.InTx(ctx, func(q store.Querier) error {
		rb, err := getRollbackByID(ctx, q, p.RollbackID)
		if err != nil {
			return err
		}
		if rb.Status == StatusRunning {
			d, err := getDeploy(ctx, q, rb.DeployID)
			if err != nil {
				return err
			}
			return r.outcomeUnknownTx(ctx, q, rb, d, fmt.Sprintf("its attempt ended with an error before its result was recorded (%v)", o.Err))
		}
		status := StatusPending
		line := fmt.Sprintf("%s attempt %d of %d failed: %v. Retrying at %s.", noun(rb), o.Attempt, o.MaxAttempts, o.Err, o.NextAt.Format(time.RFC3339))
		var finished any
		if o.GaveUp {
			status, finished = StatusFailed, r.incidents.Now()
			line = fmt.Sprintf("%s failed on attempt %d and will not be retried: %v. The incident stays with its responders.", noun(rb), o.Attempt, o.Err)
		}
		// A report can arrive late: a worker slow to record attempt N while attempt N+1 already
		// succeeded or failed (a short backoff, or a lease that ran out). It must not put a
		// settled rollback back to pending nor overwrite a later attempt.
		res, err := q.ExecContext(ctx, q.Rebind(`UPDATE rollbacks SET status = ?, attempts = ?, last_error = ?, finished_at = ?
			WHERE id = ? AND status = 'pending' AND attempts < ?`),
			status, o.Attempt, text.Cut(o.Err.Error(), maxLastError), finished, rb.ID, o.Attempt)
		if err != nil {
			return fmt.Errorf("record rollback %d failure: %w", rb.ID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("record rollback %d failure: %w", rb.ID, err)
		}
		if n == 1 && o.GaveUp {
			r.countAfterCommit(q, rb.Action, metrics.RemedyFailed)
		}
		if n == 0 {
			if rb.Attempts <= o.Attempt {
				return nil // this attempt's outcome is recorded already (a command's, by Handle)
			}
			// Reported late: a later attempt ran already. This one still failed and the
			// timeline keeps it, without promising a retry or a give-up that the later
			// attempt decided.
			line = fmt.Sprintf("%s attempt %d of %d failed: %v (reported after a later attempt had run).", noun(rb), o.Attempt, o.MaxAttempts, o.Err)
		}
		return r.record(ctx, q, rb.IncidentID, incidents.Event{Actor: incidents.ActorFirebreak, Kind: KindRollbackFailed, Text: line})
	})
	if err != nil {
		// The outbox already recorded the attempt; only the timeline line is missing (or, for
		// a command, the unknown outcome, which the job's next attempt records).
		slog.Error("recording a failed rollback attempt", "rollback", p.RollbackID, "err", err)
	}
}

func (r *Rollbacks) load(ctx context.Context, id int64) (Rollback, incidents.Incident, Deploy, error) {
	rb, err := getRollbackByID(ctx, r.db.R, id)
	if err != nil {
		return rb, incidents.Incident{}, Deploy{}, err
	}
	inc, err := r.incidents.Get(ctx, rb.IncidentID)
	if err != nil {
		return rb, inc, Deploy{}, err
	}
	d, err := getDeploy(ctx, r.db.R, rb.DeployID)
	return rb, inc, d, err
}

func getRollbackByID(ctx context.Context, q store.Querier, id int64) (Rollback, error) {
	var rb Rollback
	err := q.GetContext(ctx, &rb, q.Rebind(`SELECT `+rollbackColumns+` FROM rollbacks WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return rb, fmt.Errorf("%w: rollback %d", ErrNotFound, id)
	}
	if err != nil {
		return rb, fmt.Errorf("read rollback %d: %w", id, err)
	}
	return rb, nil
}
