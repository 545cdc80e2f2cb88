package alerts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"firebreak/store"
)

// writeQueue gathers the payloads waiting for the writer into batches (see batch.go). A
// payload that finds fewer batches under way than the group committer has workers starts
// a leader, which takes every payload waiting, applies them as one batch and, while more
// wait, goes on with those; so a batch forms from whatever arrived while the last one
// committed, sized by what waits and not by a timer.
type writeQueue struct {
	mu         sync.Mutex
	waiting    []*queuedPayload
	leaders    int
	maxLeaders int
	capacity   int // payloads waiting past which a new one is refused with 503
	// retried counts the batches that failed at first and were run again, whole or payload
	// by payload (tests check the common case never does).
	retried atomic.Int64
}

// queuedPayload is a payload waiting for its batch, and its answer once committed.
type queuedPayload struct {
	batchInput
	keys []string
	res  Result
	err  error
	done chan struct{}
}

// A batch's bounds: a storm's payloads of hundreds of alerts make fewer but larger batches.
const (
	maxBatchPayloads = 128
	maxBatchAlerts   = 20000
)

// ingestWriter stores p (whose alerts' fingerprints are fps) through the writer, in a batch
// with the payloads waiting beside it, and returns once it committed.
func (in *Ingester) ingestWriter(p Payload, fps []string, now time.Time) (Result, error) {
	qp := &queuedPayload{batchInput: batchInput{p: p, now: now, fps: fps, encoded: encodeFiring(p, fps)},
		keys: in.lockKeys(p), done: make(chan struct{})}
	q := &in.queue
	q.mu.Lock()
	if len(q.waiting) >= q.capacity {
		q.mu.Unlock()
		return Result{}, fmt.Errorf("alert batches: %w", store.ErrOverloaded)
	}
	q.waiting = append(q.waiting, qp)
	lead := q.leaders < q.maxLeaders
	if lead {
		q.leaders++
	}
	q.mu.Unlock()
	if lead {
		go in.lead()
	}
	<-qp.done
	return qp.res, qp.err
}

// lead applies batches of waiting payloads until none waits.
func (in *Ingester) lead() {
	q := &in.queue
	for {
		q.mu.Lock()
		if len(q.waiting) == 0 {
			q.leaders--
			q.mu.Unlock()
			return
		}
		// A batch stays within the grouping keys one transaction locks one by one: past them
		// it would lock every key at once, and stop every other replica's alerts meanwhile.
		n, alerts, keys := 0, 0, 0
		for n < len(q.waiting) && n < maxBatchPayloads {
			next := q.waiting[n]
			if n > 0 && (alerts+len(next.p.Alerts) > maxBatchAlerts || keys+len(next.keys) > store.MaxLockKeys) {
				break
			}
			alerts += len(next.p.Alerts)
			keys += len(next.keys)
			n++
		}
		batch := make([]*queuedPayload, n)
		copy(batch, q.waiting)
		q.waiting = append(q.waiting[:0], q.waiting[n:]...)
		q.mu.Unlock()
		in.writeBatch(batch)
	}
}

// writeBatch applies a batch in one transaction and answers each of its payloads. When it
// fails for another reason than the writer being unavailable, each payload is applied
// again on its own, one after another in the order they came (a resolve must find what an
// earlier payload fired), so that one the database refuses fails alone.
func (in *Ingester) writeBatch(batch []*queuedPayload) {
	results, err := in.commitBatch(batch)
	if err != nil && len(batch) > 1 && !errors.Is(err, store.ErrOverloaded) && !store.IsUnavailable(err) {
		for _, qp := range batch {
			res, err := in.commitBatch([]*queuedPayload{qp})
			if err != nil {
				answerPayload(qp, Result{}, err)
			} else {
				answerPayload(qp, res[0], nil)
			}
		}
		return
	}
	for i, qp := range batch {
		if err != nil {
			answerPayload(qp, Result{}, err)
		} else {
			answerPayload(qp, results[i], nil)
		}
	}
}

func answerPayload(qp *queuedPayload, res Result, err error) {
	qp.res, qp.err = res, err
	close(qp.done)
}

// commitBatch applies the payloads of a batch in one transaction of the group committer,
// holding the grouping locks of all of them.
func (in *Ingester) commitBatch(batch []*queuedPayload) ([]Result, error) {
	inputs := make([]batchInput, len(batch))
	seen := map[string]bool{}
	var keys []string
	for i, qp := range batch {
		inputs[i] = qp.batchInput
		for _, k := range qp.keys {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	var results []Result
	do := func() error {
		return in.writes.DoLocked(context.Background(), keys, func(ctx context.Context, q store.Querier) error {
			var err error
			results, err = in.ingestBatch(ctx, q, inputs)
			return err
		})
	}
	err := do()
	if err != nil {
		in.queue.retried.Add(1)
	}
	// Two transactions that hold different grouping locks (an alert sent under two group
	// keys) may still start one occurrence at once: the second waits for the first and then
	// fails on the one-firing-occurrence index. Once the first has committed, the alert is a
	// repeat; run the batch again to count it as one.
	for attempt := 0; attempt < 2 && store.IsUniqueViolation(err); attempt++ {
		err = do()
	}
	if err != nil {
		return nil, err
	}
	return results, nil
}

// encodeFiring encodes the labels and annotations of a payload's firing alerts, the first of
// each fingerprint (the one a new occurrence is stored from). An alert that cannot be
// encoded is left to the writer, which reports the error.
func encodeFiring(p Payload, fps []string) map[string]alertJSON {
	out := make(map[string]alertJSON, len(p.Alerts))
	for i, a := range p.Alerts {
		if a.Status != "firing" {
			continue
		}
		fp := fps[i]
		if _, done := out[fp]; done {
			continue
		}
		if enc, err := encodeAlert(a.Labels, a.Annotations); err == nil {
			out[fp] = enc
		}
	}
	return out
}
