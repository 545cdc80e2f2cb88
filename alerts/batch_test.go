package alerts_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/metrics"
	"firebreak/store"
	"firebreak/store/storetest"
)

// batchAnswer is what Ingest answered one payload of a batch.
type batchAnswer struct {
	res alerts.Result
	err error
}

// sendInOneBatch sends payloads so that they wait for the writer together, as one batch: it
// holds the writer, sends a payload of another service (which the batch leader takes
// alone), waits until the given payloads all wait behind it, and lets the writer go. It
// returns what each was answered, in order.
func (r *rig) sendInOneBatch(ps ...alerts.Payload) []batchAnswer {
	r.t.Helper()
	release := r.holdWriter()
	send := func(p alerts.Payload) chan batchAnswer {
		ch := make(chan batchAnswer, 1)
		go func() {
			res, err := r.in.Ingest(context.Background(), p)
			ch <- batchAnswer{res, err}
		}()
		return ch
	}
	first := send(payload("other", fire("Unrelated", "elsewhere", "production", "info", t0)))
	r.waitQueued(1)
	answers := make([]chan batchAnswer, len(ps))
	for i, p := range ps {
		answers[i] = send(p)
		testkit.WaitFor(r.t, 10*time.Second, "the payload to wait for its batch", func() bool { return r.in.Waiting() == i+1 })
	}
	release()
	if a := <-first; a.err != nil {
		r.t.Fatal(a.err)
	}
	out := make([]batchAnswer, len(ps))
	for i, ch := range answers {
		out[i] = <-ch
	}
	return out
}

// ingestInOneBatch ingests payloads as one batch (see sendInOneBatch), fails the test if any
// was refused or the batch did not apply as one, and returns their results in order.
func (r *rig) ingestInOneBatch(ps ...alerts.Payload) []alerts.Result {
	r.t.Helper()
	answers := r.sendInOneBatch(ps...)
	out := make([]alerts.Result, len(ps))
	for i, a := range answers {
		if a.err != nil {
			r.t.Fatalf("payload %d of the batch: %v", i, a.err)
		}
		out[i] = a.res
	}
	if n := r.in.Retried(); n != 0 {
		r.t.Fatalf("%d batches failed and were run again: the batch must apply as one", n)
	}
	return out
}

// Payloads applied in one batch see what the earlier ones of the batch did, as if they had
// come one after another: an alert new in the first is a repeat in the second and resolved
// by the third.
func TestPayloadsOfOneBatchSeeEachOthersAlerts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		opts := testOptions()
		opts.Metrics = metrics.New(prometheus.NewRegistry(), nil)
		r := newRigOpts(t, db, testkit.NewClock(t0), 1, nil, opts)
		x := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Minute), "instance", "x")
		y := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Minute), "instance", "y")
		res := r.ingestInOneBatch(
			payload("g", x),
			payload("g", x, y),
			payload("g", resolve(x, t0)),
		)
		wantResult(t, "first", res[0], 1, 1, 0, 0)
		wantResult(t, "second", res[1], 2, 1, 1, 0)
		wantResult(t, "third", res[2], 1, 0, 0, 1)
		id := res[0].Incidents[0]
		for i, r := range res {
			if !sameIDs(r.Incidents, []int64{id}) {
				t.Fatalf("payload %d touched %v, want incident %d", i, r.Incidents, id)
			}
		}
		as := r.alertsOf(id)
		if len(as) != 2 {
			t.Fatalf("incident holds %d alerts, want x and y", len(as))
		}
		for _, a := range as {
			switch a.Labels["instance"] {
			case "x":
				if a.Status != "resolved" || a.Repeats != 1 || !timePtrEq(a.EndsAt, t0) {
					t.Fatalf("x is %s with %d repeats, ended %v; want resolved at %s after one repeat", a.Status, a.Repeats, a.EndsAt, t0)
				}
			case "y":
				if a.Status != "firing" || a.Repeats != 0 {
					t.Fatalf("y is %s with %d repeats, want firing, never repeated", a.Status, a.Repeats)
				}
			}
		}
		if inc := r.incident(id); !inc.Open() || inc.MitigatedAt != nil {
			t.Fatalf("incident %s, mitigated %v: want open while y fires", inc.Status, inc.MitigatedAt)
		}
		// Two batches: the payload the leader took alone, and the three.
		var m dto.Metric
		if err := opts.Metrics.AlertBatchSize.Write(&m); err != nil {
			t.Fatal(err)
		}
		if h := m.GetHistogram(); h.GetSampleCount() != 2 || h.GetSampleSum() != 4 {
			t.Fatalf("firebreak_alert_batch_payloads counted %d batches of %v payloads, want 2 of 4", h.GetSampleCount(), h.GetSampleSum())
		}
	})
}

// An incident whose last alert resolves in a batch where a later payload brings it a new
// alert is decided at the end of the batch: it stays open with the new alert, neither
// resolved nor reopened, as if both had arrived at the same moment.
func TestAnIncidentClearedAndJoinedInOneBatchStaysOpen(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		a := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-5*time.Minute), "instance", "a")
		id := r.openIncident("g", a)
		b := fire("HighLatency", "checkout", "production", "warning", t0.Add(-time.Minute), "instance", "b")
		res := r.ingestInOneBatch(payload("g", resolve(a, t0)), payload("g2", b))
		wantResult(t, "the resolve", res[0], 1, 0, 0, 1)
		wantResult(t, "the new alert", res[1], 1, 1, 0, 0)
		if !sameIDs(res[1].Incidents, []int64{id}) {
			t.Fatalf("the new alert joined %v, want the open incident %d", res[1].Incidents, id)
		}
		inc := r.incident(id)
		if inc.Status == incidents.Resolved || inc.ResolvedAt != nil || inc.MitigatedAt != nil || inc.ReopenedCount != 0 {
			t.Fatalf("incident %s, resolved %v, mitigated %v, reopened %d times: want open, never resolved",
				inc.Status, inc.ResolvedAt, inc.MitigatedAt, inc.ReopenedCount)
		}
		if n := len(r.incidentIDs()); n != 2 { // this one and the unrelated alert's
			t.Fatalf("%d incidents, want 2", n)
		}
	})
}

// A batch with a payload the database refuses is applied again payload by payload, in the
// order they came: the refused one fails alone, and a resolve still finds what an earlier
// payload fired.
func TestARefusedPayloadFailsAloneAndTheOthersApplyInOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		refused := errors.New("the poison service's incident cannot be opened")
		r.m.OnChange(func(_ context.Context, _ store.Querier, inc incidents.Incident, ev incidents.Event) error {
			if ev.Kind == incidents.KindOpened && inc.Service == "poison" {
				return refused
			}
			return nil
		})
		x := fire("HighErrorRate", "checkout", "production", "error", t0.Add(-time.Minute), "instance", "x")
		got := r.sendInOneBatch(
			payload("g", x),
			payload("p", fire("Bad", "poison", "production", "error", t0)),
			payload("g", resolve(x, t0)),
		)
		if r.in.Retried() == 0 {
			t.Fatal("the batch never failed: the test did not run the fallback")
		}
		if !errors.Is(got[1].err, refused) {
			t.Fatalf("the poison payload was answered %v, want its own error", got[1].err)
		}
		if got[0].err != nil || got[2].err != nil {
			t.Fatalf("the others were answered %v and %v, want both taken", got[0].err, got[2].err)
		}
		wantResult(t, "the firing", got[0].res, 1, 1, 0, 0)
		wantResult(t, "the resolve", got[2].res, 1, 0, 0, 1)
		as := r.alertsOf(got[0].res.Incidents[0])
		if len(as) != 1 || as[0].Status != "resolved" {
			t.Fatalf("alerts %+v, want x resolved", as)
		}
		var poisoned int
		if err := db.R.Get(&poisoned, `SELECT COUNT(*) FROM incidents WHERE service = 'poison'`); err != nil {
			t.Fatal(err)
		}
		if poisoned != 0 {
			t.Fatalf("%d poison incidents stored, want none", poisoned)
		}
	})
}
