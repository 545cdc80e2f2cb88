package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"firebreak/text"
)

// RetryAfter wraps err to ask the outbox to run the job again no sooner than d from now, as
// a server's Retry-After header asks (Slack answers 429 with one). Being told to wait is not
// a failed delivery: the attempt is given back, so it does not count against the kind's
// MaxAttempts and no FailureObserver hears of it, and the kind's backoff does not apply. A
// handler returns it whatever its retry flag would have been.
func RetryAfter(d time.Duration, err error) error {
	if err == nil {
		err = errors.New("asked to wait")
	}
	return &retryAfterError{after: max(d, 0), err: err}
}

type retryAfterError struct {
	after time.Duration
	err   error
}

func (e *retryAfterError) Error() string { return fmt.Sprintf("%v (retry after %s)", e.err, e.after) }
func (e *retryAfterError) Unwrap() error { return e.err }

// retryAfterOf reports the wait a handler asked for with RetryAfter.
func retryAfterOf(err error) (time.Duration, bool) {
	var ra *retryAfterError
	if errors.As(err, &ra) {
		return ra.after, true
	}
	return 0, false
}

// deferJob puts a job back as pending at runAt and gives back the attempt its claim counted,
// if the lease is still this worker's.
func (o *Outbox) deferJob(ctx context.Context, job Job, runAt time.Time, lastErr string) {
	now := o.opts.Clock().UTC()
	_, err := o.db.W.ExecContext(ctx, o.db.W.Rebind(`UPDATE outbox_jobs SET status = 'pending', run_at = ?, locked_until = NULL,
		attempts = attempts - 1, last_error = ?, updated_at = ? WHERE id = ? AND attempts = ?`),
		runAt.UTC(), text.CutBytes(lastErr, maxLastError), now, job.ID, job.Attempts)
	if err != nil {
		o.opts.Log.Error("outbox: deferring a job failed; it runs again when its lease ends", "id", job.ID, "err", err)
		return
	}
	o.Wake()
}
