package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"firebreak/internal/testkit"
	"firebreak/metrics"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// gauges reads firebreak_outbox_jobs and the oldest-waiting age by their labels.
func gauges(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetValue()
			}
			out[key] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestBacklogIsReportedByKindAndState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := testkit.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
		ob := outbox.New(db, outbox.Options{Clock: clock.Now, Log: quiet()})
		c := outbox.NewCollector(db, []string{"rollback", "slack"}, clock.Now)
		got := gauges(t, c)
		if got["firebreak_outbox_jobs rollback waiting"] != 0 || got["firebreak_outbox_oldest_waiting_seconds slack"] != 0 {
			t.Fatalf("idle outbox: %v", got)
		}
		if _, ok := got["firebreak_outbox_jobs slack in_flight"]; !ok {
			t.Fatalf("a registered kind has no series at 0: %v", got)
		}
		err := db.InTx(ctx, func(q store.Querier) error {
			for i := 0; i < 3; i++ {
				if _, _, err := ob.EnqueueTx(ctx, q, "slack", map[string]int{"n": i}, ""); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(90 * time.Second)
		// One of them is claimed by a worker right now.
		if _, err := db.W.ExecContext(ctx, db.W.Rebind(`UPDATE outbox_jobs SET locked_until = ? WHERE id = (SELECT MIN(id) FROM outbox_jobs)`),
			clock.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got = gauges(t, c)
		if got["firebreak_outbox_jobs slack waiting"] != 2 || got["firebreak_outbox_jobs slack in_flight"] != 1 {
			t.Errorf("slack backlog %v, want 2 waiting and 1 in flight", got)
		}
		if age := got["firebreak_outbox_oldest_waiting_seconds slack"]; age < 89 || age > 91 {
			t.Errorf("oldest waiting %v s, want 90", age)
		}
		if got["firebreak_outbox_jobs rollback waiting"] != 0 {
			t.Errorf("rollback backlog %v", got)
		}
	})
}

// counter reads one counter's value.
func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestFailedAttemptsAreCountedByKind: each failed attempt that will be retried counts as a
// retry of its kind, and the last one as a give-up; another kind's series stay at 0. Kinds
// lists what was registered, for the wiring to create every kind's series at 0.
func TestFailedAttemptsAreCountedByKind(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		set := metrics.New(prometheus.NewRegistry(), nil)
		ob := outbox.New(db, outbox.Options{MaxAttempts: 3, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond,
			Poll: 5 * time.Millisecond, Log: quiet(), Metrics: set})
		ob.Register("slack", &recorder{answer: func(outbox.Job, int) (bool, error) { return true, errors.New("HTTP 503") }})
		ob.Register("rollback", &recorder{})
		if got := ob.Kinds(); len(got) != 2 || got[0] != "rollback" || got[1] != "slack" {
			t.Fatalf("Kinds() = %v, want [rollback slack], for the series to exist from the start", got)
		}
		run(t, ob)
		id, _ := enqueue(t, db, ob, "slack", nil, "")
		waitStatus(t, db, id, "dead")
		testkit.WaitFor(t, 10*time.Second, "the give-up to be counted", func() bool {
			return counter(t, set.OutboxGivenUp.WithLabelValues("slack")) == 1
		})
		if n := counter(t, set.OutboxRetries.WithLabelValues("slack")); n != 2 {
			t.Errorf("slack retries %v, want 2 (attempts 1 and 2 of 3)", n)
		}
		if r, g := counter(t, set.OutboxRetries.WithLabelValues("rollback")), counter(t, set.OutboxGivenUp.WithLabelValues("rollback")); r != 0 || g != 0 {
			t.Errorf("rollback counted %v retries and %v give-ups, want none", r, g)
		}
	})
}
