package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"firebreak/notify/webhook"
	"firebreak/outbox"
	"firebreak/statuspage"
	"firebreak/store"
)

// pushJob is the payload of a push job: the status-server it goes to, by targetKey. The
// snapshot itself is built when the job runs, so a job delivered late still carries the
// latest state.
type pushJob struct {
	Target string `json:"target"`
}

// targetKey names a status-server in the outbox without its URL, which may hold a secret
// (user info, a query token): the first 16 bytes of the URL's SHA-256, in hex.
func targetKey(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:16])
}

// coalesceKey groups the pushes to one status-server: only the newest waiting one goes.
func coalesceKey(target string) string { return "statuspage " + target }

// PublishTx enqueues a push to every status-server in the caller's transaction, so the
// page is pushed if and only if the change commits. Without targets it does nothing.
func (s *Service) PublishTx(ctx context.Context, q store.Querier) error {
	if s.jobs == nil {
		return nil
	}
	for _, t := range s.opts.Targets {
		key := targetKey(t.URL)
		if _, err := s.jobs.EnqueueCoalescedTx(ctx, q, KindPush, pushJob{Target: key}, coalesceKey(key)); err != nil {
			return fmt.Errorf("enqueue status page push: %w", err)
		}
	}
	return nil
}

// pushHandler delivers push jobs.
type pushHandler struct{ s *Service }

// Handle builds the snapshot, takes its sequence and posts it signed. A 409 means the
// status-server already holds a newer snapshot: done, not a failure.
func (h pushHandler) Handle(ctx context.Context, job outbox.Job) (retry bool, err error) {
	s := h.s
	var p pushJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return false, fmt.Errorf("status page push job %d: %w", job.ID, err)
	}
	target, ok := s.targets[p.Target]
	if !ok {
		// The config no longer lists it: nothing to send it with.
		s.opts.Log.Info("status page push dropped: the status-server is no longer configured", "target", p.Target)
		return false, nil
	}
	seq, err := nextSequence(ctx, s.db, s.now())
	if err != nil {
		return true, err
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return true, err
	}
	snap.Sequence = seq
	if err := statuspage.Validate(snap); err != nil {
		// A bug of this package: sending it again would be refused again.
		return false, fmt.Errorf("status page snapshot %d: %w", seq, err)
	}
	body, err := json.Marshal(snap)
	if err != nil {
		return false, fmt.Errorf("encode status page snapshot %d: %w", seq, err)
	}
	resp, retry, err := s.client.Post(ctx, target.URL, target.Secret, body, nil, s.opts.PushTimeout)
	if resp.Status == http.StatusConflict {
		s.opts.Log.Info("status-server already holds a newer snapshot", "url", webhook.Redact(target.URL), "sequence", seq, "answer", resp.Body)
		return false, nil
	}
	if err != nil {
		if resp.Body != "" {
			err = fmt.Errorf("%w: %s", err, resp.Body)
		}
		return retry, err
	}
	s.opts.Log.Debug("status page pushed", "url", webhook.Redact(target.URL), "sequence", seq, "bytes", len(body))
	return false, nil
}
