package alerts

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"firebreak/store"
)

// RepeatFlushInterval is how often the repeats answered from memory are written. PRODUCT.md
// allows a crash to lose at most a second of repeat counts; half a second leaves room for
// the flush itself to queue behind a batch.
const RepeatFlushInterval = 500 * time.Millisecond

// flushChunk bounds the rows one flush statement (and one group-commit batch) carries:
// about 5 ms of SQLite's writer, so webhooks queued behind it wait little.
const flushChunk = 1000

// RunFlusher writes the repeats answered from memory every RepeatFlushInterval until ctx
// ends, then once more, so a clean stop loses none. Run it for as long as Ingest is called;
// stop it before the group committer closes.
func (in *Ingester) RunFlusher(ctx context.Context) {
	t := time.NewTicker(RepeatFlushInterval)
	defer t.Stop()
	failing := false // log the change, not every flush while the database is down
	for {
		select {
		case <-ctx.Done():
			in.FlushLast()
			return
		case <-t.C:
			err := in.Flush(ctx)
			if err != nil && !failing {
				in.opts.Log.Warn("repeat counts could not be written; repeats take the writer until a flush succeeds", "err", err)
			} else if err == nil && failing {
				in.opts.Log.Info("repeat counts are written again")
			}
			failing = err != nil
		}
	}
}

// FlushLast writes what is pending and stops answering repeats from memory for good: a
// request still running after it (past the shutdown's grace) is answered 503 rather than
// counted where nothing would write it. Run it after the HTTP server stopped.
func (in *Ingester) FlushLast() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in.repeats.close()
	if err := in.Flush(ctx); err != nil {
		in.opts.Log.Error("shutdown: repeat counts of the last moments could not be written", "err", err)
	}
}

// UnwrittenRepeats is how many alerts have repeats answered from memory that the next flush
// will write, for a gauge: a number that keeps growing means flushes are failing.
func (in *Ingester) UnwrittenRepeats() int { return in.repeats.unwritten() }

// Flush writes every repeat answered from memory so far through the group committer, a
// chunk of rows per statement and per batch, so that a flush never holds up the webhooks
// queued behind it for long. Counts it could not write stay for the next flush.
//
// The counts go to alert_repeats, narrow rows beside the wide alert rows: a flush of
// thousands of repeats dirties tens of pages rather than thousands, and on PostgreSQL it
// never waits for an alert row the writer holds (it only reads alerts).
func (in *Ingester) Flush(ctx context.Context) error {
	pending := in.repeats.take()
	if len(pending) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	// Rows in one order on every replica: two flushes never wait on each other in a cycle.
	slices.Sort(ids)
	back := map[int64]pendingRepeat{}
	var err error
	for start := 0; start < len(ids); start += flushChunk {
		chunk := ids[start:min(start+flushChunk, len(ids))]
		if err == nil {
			var written []int64
			err = in.writes.Do(ctx, func(ctx context.Context, q store.Querier) error {
				var e error
				if in.db.Dialect == store.Postgres {
					written, e = flushPostgres(ctx, q, chunk, pending)
				} else {
					written, e = flushSQLite(ctx, q, chunk, pending)
				}
				return e
			})
			if err == nil {
				in.forgetUnwritten(chunk, written, pending)
			}
		}
		if err != nil { // this chunk and the rest wait for the next flush
			for _, id := range chunk {
				back[id] = pending[id]
			}
		}
	}
	in.repeats.giveBack(back)
	in.repeats.flushed()
	// A full queue is not a failing database: the age of the counts (see answering) turns
	// memory answers off if the flush keeps waiting.
	in.repeats.setFailing(err != nil && !errors.Is(err, store.ErrOverloaded))
	if err != nil {
		return fmt.Errorf("write repeat counts of %d alerts: %w", len(back), err)
	}
	return nil
}

// forgetUnwritten forgets the occurrences whose counts the flush did not write: their row
// is gone (an incident deleted, maybe through another replica) or was resolved before the
// repeats were seen. Their next notification takes the writer, which stores it anew or
// counts it late.
func (in *Ingester) forgetUnwritten(ids, written []int64, pending map[int64]pendingRepeat) {
	if len(written) == len(ids) {
		return
	}
	done := make(map[int64]bool, len(written))
	for _, id := range written {
		done[id] = true
	}
	var fps []string
	for _, id := range ids {
		if !done[id] {
			fps = append(fps, pending[id].fp)
		}
	}
	in.repeats.forget(fps)
}

// flushSQLite adds the counts of ids in one INSERT … ON CONFLICT DO UPDATE from a VALUES
// list. An alert whose occurrence was resolved since takes only the repeats seen before the
// resolve was taken (its last_seen_at): later ones were late deliveries. Times compare as the
// driver stores them (UTC text of one layout).
func flushSQLite(ctx context.Context, q store.Querier, ids []int64, pending map[int64]pendingRepeat) ([]int64, error) {
	var sb strings.Builder
	sb.WriteString(`WITH v(id, n, seen) AS (VALUES `)
	args := make([]any, 0, 3*len(ids))
	for i, id := range ids {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString("(?, ?, ?)")
		p := pending[id]
		args = append(args, id, p.n, p.lastSeen)
	}
	sb.WriteString(`) INSERT INTO alert_repeats (alert_id, repeats, last_seen_at)
		SELECT v.id, v.n, v.seen FROM v JOIN alerts ON alerts.id = v.id
		WHERE alerts.status = 'firing' OR v.seen <= alerts.last_seen_at
		ON CONFLICT (alert_id) DO UPDATE SET repeats = alert_repeats.repeats + excluded.repeats,
			last_seen_at = MAX(alert_repeats.last_seen_at, excluded.last_seen_at)
		RETURNING alert_id`)
	var written []int64
	if err := q.SelectContext(ctx, &written, sb.String(), args...); err != nil {
		return nil, fmt.Errorf("flush repeats: %w", err)
	}
	return written, nil
}

// flushPostgres is flushSQLite with arrays: one round trip whatever the number of rows. Rows
// are upserted in id order, the order every replica's flush takes. Each alert is looked up
// by its key in a LATERAL subquery that LIMIT keeps from being merged into a join: knowing
// a thousand ids are coming, the planner otherwise hashes every alert ever stored (a
// sequential scan per flush, measured at three times the cost on 50,000 alerts).
func flushPostgres(ctx context.Context, q store.Querier, ids []int64, pending map[int64]pendingRepeat) ([]int64, error) {
	ns := make([]int32, len(ids))
	seen := make([]time.Time, len(ids))
	for i, id := range ids {
		ns[i] = int32(min(pending[id].n, 1<<30))
		seen[i] = pending[id].lastSeen
	}
	var written []int64
	err := q.SelectContext(ctx, &written, `INSERT INTO alert_repeats (alert_id, repeats, last_seen_at)
		SELECT v.id, v.n, v.seen FROM unnest($1::bigint[], $2::int[], $3::timestamptz[]) AS v(id, n, seen)
		CROSS JOIN LATERAL (SELECT 1 FROM alerts WHERE alerts.id = v.id
			AND (alerts.status = 'firing' OR v.seen <= alerts.last_seen_at) LIMIT 1) AS a
		ORDER BY v.id
		ON CONFLICT (alert_id) DO UPDATE SET repeats = alert_repeats.repeats + EXCLUDED.repeats,
			last_seen_at = GREATEST(alert_repeats.last_seen_at, EXCLUDED.last_seen_at)
		RETURNING alert_id`, ids, ns, seen)
	if err != nil {
		return nil, fmt.Errorf("flush repeats: %w", err)
	}
	return written, nil
}
