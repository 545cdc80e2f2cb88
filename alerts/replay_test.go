package alerts_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"firebreak/alerts"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
)

// TestReplayedBatchIngestsAsIfRunOnce: a webhook shares its group-commit batch with a
// request that fails, so the batch runs the webhook, rolls back at the failure and replays
// it (with a savepoint per request). Time passes in between. What the webhook answered and
// stored must be exactly what it would have been without the replay: the replay starts from
// the webhook as it arrived, not from what the first run left behind.
func TestReplayedBatchIngestsAsIfRunOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		story := replayStory()
		control := story.run(t, storetest.Open(t, db.Dialect), false)
		replayed := story.run(t, db, true)
		if !reflect.DeepEqual(replayed.res, control.res) {
			t.Fatalf("replayed webhook answered %s, without a replay %s", replayed.res, control.res)
		}
		if !reflect.DeepEqual(replayed.timeline, control.timeline) {
			t.Fatalf("timeline after the replay:\n%v\nwithout one:\n%v", replayed.timeline, control.timeline)
		}
		if !reflect.DeepEqual(replayed.alerts, control.alerts) {
			t.Fatalf("alerts after the replay:\n%+v\nwithout one:\n%+v", replayed.alerts, control.alerts)
		}
	})
}

// replayScenario is an incident with two firing alerts, then the webhook that goes through
// the replayed batch: one alert repeats, one resolves, a third joins.
type replayScenario struct {
	setup []alerts.Payload
	p     alerts.Payload
}

func replayStory() replayScenario {
	a := fire("HighLatency", "api", "production", "warning", t0.Add(-3*time.Minute), "instance", "a")
	b := fire("HighLatency", "api", "production", "warning", t0.Add(-2*time.Minute), "instance", "b")
	c := fire("HighLatency", "api", "production", "warning", t0.Add(-time.Minute), "instance", "c")
	return replayScenario{
		setup: []alerts.Payload{payload("g-api", a, b)},
		p:     payload("g-api", a, resolve(b, t0.Add(-30*time.Second)), c),
	}
}

// replayOutcome is what the story produced, incident ids replaced by their order.
type replayOutcome struct {
	res      alerts.Result
	timeline []string
	alerts   []alerts.Alert
}

func (s replayScenario) run(t *testing.T, db *store.DB, replay bool) replayOutcome {
	t.Helper()
	r := newRig(t, db)
	for _, p := range s.setup {
		r.ingest(p)
	}
	r.clock.Advance(time.Minute)
	var res alerts.Result
	if !replay {
		res = r.ingest(s.p)
	} else {
		res = r.ingestReplayed(s.p)
	}
	ids := r.incidentIDs()
	order := map[int64]int64{}
	for i, id := range ids {
		order[id] = int64(i + 1)
	}
	for i, id := range res.Incidents {
		res.Incidents[i] = order[id]
	}
	out := replayOutcome{res: res}
	for _, id := range ids {
		for _, ev := range r.timeline(id) {
			out.timeline = append(out.timeline, ev.At.Format(time.RFC3339Nano)+" "+ev.Actor+" "+string(ev.Kind)+": "+ev.Text)
		}
		for _, a := range r.alertsOf(id) {
			a.ID, a.IncidentID = 0, order[id]
			out.alerts = append(out.alerts, a)
		}
	}
	return out
}

// ingestReplayed ingests p in one batch with a request queued after it that fails a minute
// later, which makes the batch replay p.
func (r *rig) ingestReplayed(p alerts.Payload) alerts.Result {
	r.t.Helper()
	ctx := context.Background()
	// Hold the only worker inside a transaction so that the next two calls queue up and
	// are taken as one batch, in order.
	release := r.holdWriter()
	type answer struct {
		res alerts.Result
		err error
	}
	ingested := make(chan answer, 1)
	go func() {
		res, err := r.in.Ingest(ctx, p)
		ingested <- answer{res, err}
	}()
	r.waitQueued(1)
	boom := errors.New("boom: a request of the same batch fails")
	failed := make(chan error, 1)
	go func() {
		failed <- r.gc.Do(ctx, func(context.Context, store.Querier) error {
			r.clock.Advance(time.Minute) // the replay runs later than the first attempt
			return boom
		})
	}()
	r.waitQueued(2)
	release()
	if err := <-failed; !errors.Is(err, boom) {
		r.t.Fatalf("the failing request returned %v, want its own error", err)
	}
	got := <-ingested
	if got.err != nil {
		r.t.Fatalf("ingest in the replayed batch: %v", got.err)
	}
	return got.res
}

// holdWriter holds the group committer's only worker inside a transaction until the
// returned function is called, so that calls made meanwhile queue up.
func (r *rig) holdWriter() (release func()) {
	r.t.Helper()
	started, released := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- r.gc.Do(context.Background(), func(context.Context, store.Querier) error {
			close(started)
			<-released
			return nil
		})
	}()
	<-started
	return func() {
		close(released)
		if err := <-held; err != nil {
			r.t.Fatalf("holding the writer: %v", err)
		}
	}
}

// waitQueued waits until n calls wait for a batch.
func (r *rig) waitQueued(n int) {
	r.t.Helper()
	testkit.WaitFor(r.t, 10*time.Second, fmt.Sprintf("%d calls queued", n), func() bool { return r.gc.Queued() >= n })
}
