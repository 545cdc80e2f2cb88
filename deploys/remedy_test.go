package deploys_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// newRemedyEnv is newEnv with the services' other remedies configured.
func newRemedyEnv(t *testing.T, db *store.DB, hooks map[string]deploys.Hook, actions map[string]map[string]deploys.Hook) *env {
	t.Helper()
	e := &env{t: t, db: db, clock: testkit.NewClock(at(10, 5)), actions: actions}
	e.start(hooks, outbox.Options{})
	t.Cleanup(func() { e.stop() })
	return e
}

// canary is checkout 2.4.1 rolling out as a canary at 10% since 09:50, still in progress.
func canary() deploys.Input {
	return deploys.Input{Service: "checkout", Environment: "prod", Version: "2.4.1", PreviousVersion: "2.4.0",
		Strategy: deploys.StrategyCanary, Stage: "canary 10%", Weight: ptr(10), State: deploys.StateInProgress,
		StartedAt: ptr(at(9, 50)), Flags: []string{"new-cart"}}
}

func TestCanaryAtTenPercentIsAbortedNotRolledBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rollback, abort := newReceiver(t, always(200)), newReceiver(t, always(200))
		e := newRemedyEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rollback.url())},
			map[string]map[string]deploys.Hook{"checkout": {deploys.ActionAbortCanary: webhookHook(deploys.PolicyAuto, incidents.Sev3, abort.url())}})
		older := e.record(checkoutDeploy(at(9, 58))) // finished closer to the impact, but not in progress
		d := e.record(canary())
		if d.FinishedAt.IsZero() || asJSONMap(t, d)["finished_at"] != nil {
			t.Errorf("in-progress deploy shows finished_at %v, want null", asJSONMap(t, d)["finished_at"])
		}
		inc := e.declare("Checkout is failing", incidents.Sev2, "checkout", "prod", at(10, 0))
		e.waitIdle()

		s := e.suspects(inc.ID)
		if len(s) != 2 || s[0].Deploy.ID != d.ID || s[1].Deploy.ID != older.ID {
			t.Fatalf("suspects %v, want the canary first", versions(s))
		}
		if want := "canary 2.4.1 at 10% when impact started"; s[0].Reason != want {
			t.Errorf("reason %q, want %q", s[0].Reason, want)
		}
		if n := len(abort.got()); n != 1 {
			t.Fatalf("abort_canary called %d times, want once", n)
		}
		if n := len(rollback.got()); n != 0 {
			t.Errorf("rollback called %d times, want never", n)
		}
		c := abort.got()[0]
		if want := fmt.Sprintf("abort_canary-%d-%d", inc.ID, d.ID); c.Key != want || c.Body.Action != "abort_canary" {
			t.Errorf("call key %q action %q, want %q abort_canary", c.Key, c.Body.Action, want)
		}
		after, err := e.tr.Get(context.Background(), d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.State != deploys.StateAborted || asJSONMap(t, after)["finished_at"] == nil {
			t.Errorf("deploy after the abort: state %q finished_at %v, want aborted and a time", after.State, asJSONMap(t, after)["finished_at"])
		}
		rb := e.onlyRollback(inc.ID)
		if rb.Action != deploys.ActionAbortCanary || rb.Status != deploys.StatusSucceeded || rb.RequestedBy != "firebreak (auto abort_canary)" {
			t.Errorf("remedy %+v", rb)
		}
	})
}

func TestPromotedCanaryIsRolledBack(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rollback, abort := newReceiver(t, always(200)), newReceiver(t, always(200))
		e := newRemedyEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rollback.url())},
			map[string]map[string]deploys.Hook{"checkout": {deploys.ActionAbortCanary: webhookHook(deploys.PolicyAuto, incidents.Sev3, abort.url())}})
		e.clock.Set(at(9, 52))
		d := e.record(canary())
		e.clock.Set(at(9, 55))
		if _, err := e.tr.Update(context.Background(), d.ID, deploys.Update{State: ptr(deploys.StatePromoted), Weight: ptr(100)}); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(at(10, 5))
		inc := e.declare("Checkout is failing", incidents.Sev2, "checkout", "prod", at(10, 0))
		e.waitIdle()
		if len(rollback.got()) != 1 || len(abort.got()) != 0 {
			t.Fatalf("rollback called %d times, abort %d; want 1 and 0", len(rollback.got()), len(abort.got()))
		}
		after, _ := e.tr.Get(context.Background(), d.ID)
		if after.State != deploys.StateRolledBack {
			t.Errorf("state %q, want rolled_back", after.State)
		}
		if rb := e.onlyRollback(inc.ID); rb.Action != deploys.ActionRollback {
			t.Errorf("remedy %+v", rb)
		}
		// The release view: the version rolled back to runs now.
		rels, err := e.tr.Releases(context.Background(), "checkout", "prod")
		if err != nil {
			t.Fatal(err)
		}
		if len(rels) != 1 || rels[0].Version != "2.4.0" || rels[0].State != deploys.StateRolledBack || rels[0].PreviousVersion == nil ||
			*rels[0].PreviousVersion != "2.4.1" || len(rels[0].History) != 1 || rels[0].History[0].IncidentID == nil ||
			*rels[0].History[0].IncidentID != inc.ID || rels[0].History[0].State != deploys.StateRolledBack {
			t.Errorf("releases %+v", rels)
		}
	})
}

func TestIrreversibleDeployIsNotRolledBackAutomatically(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rollback := newReceiver(t, always(200))
		e := newRemedyEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rollback.url())}, nil)
		in := checkoutDeploy(at(9, 56))
		in.Reversible = ptr(false)
		in.Flags = []string{"new-cart"}
		d := e.record(in)
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		// A severity change runs automation again: it must neither call nor repeat itself.
		if _, err := e.m.Patch(context.Background(), inc.ID, "alice", incidents.Patch{Severity: ptr("sev2")}); err != nil {
			t.Fatal(err)
		}
		e.waitIdle()
		if n := len(rollback.got()); n != 0 {
			t.Fatalf("hook called %d times for an irreversible deploy under auto", n)
		}
		lines := e.events(inc.ID, deploys.KindNotReversible)
		if len(lines) != 1 || !strings.HasPrefix(lines[0].Text, "Not reversible: checkout 1.4.2 (prod) is marked reversible: false") ||
			!strings.Contains(lines[0].Text, "new-cart") {
			t.Fatalf("not-reversible lines %+v, want one saying why and naming its flag", lines)
		}
		// A person confirms: the rollback runs.
		if _, err := e.rb.Request(context.Background(), inc.ID, d.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		e.waitIdle()
		if n := len(rollback.got()); n != 1 {
			t.Fatalf("hook called %d times after a person confirmed, want once", n)
		}
	})
}

func TestIrreversibleDeployHasItsFlagsDisabledUnderAuto(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rollback, flags := newReceiver(t, always(200)), newReceiver(t, always(200))
		e := newRemedyEnv(t, db, map[string]deploys.Hook{"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, rollback.url())},
			map[string]map[string]deploys.Hook{"checkout": {deploys.ActionDisableFlag: webhookHook(deploys.PolicyAuto, incidents.Sev2, flags.url())}})
		in := checkoutDeploy(at(9, 56))
		in.Reversible, in.Flags = ptr(false), []string{"new-cart", "fast-pay"}
		d := e.record(in)
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		e.waitIdle()
		if len(rollback.got()) != 0 {
			t.Fatalf("rollback called for an irreversible deploy")
		}
		keys := map[string]string{}
		for _, c := range flags.got() {
			keys[c.Body.Flag] = c.Key
		}
		want := map[string]string{"new-cart": fmt.Sprintf("disable_flag-%d-%d-new-cart", inc.ID, d.ID),
			"fast-pay": fmt.Sprintf("disable_flag-%d-%d-fast-pay", inc.ID, d.ID)}
		if len(flags.got()) != 2 || keys["new-cart"] != want["new-cart"] || keys["fast-pay"] != want["fast-pay"] {
			t.Errorf("disable_flag calls %v, want %v", keys, want)
		}
	})
}

func TestDisableFlagCarriesTheFlagAndRefusesOthers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		flags := newReceiver(t, always(200))
		e := newRemedyEnv(t, db, nil,
			map[string]map[string]deploys.Hook{"checkout": {deploys.ActionDisableFlag: webhookHook(deploys.PolicyConfirm, incidents.Sev2, flags.url())}})
		in := checkoutDeploy(at(9, 56))
		in.Flags = []string{"new-cart"}
		d := e.record(in)
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		ctx := context.Background()
		for _, bad := range []deploys.RemedyRequest{{Action: deploys.ActionDisableFlag}, {Action: deploys.ActionDisableFlag, Flag: "other"}} {
			bad.IncidentID, bad.Actor = inc.ID, "alice"
			if _, err := e.rb.RequestRemedy(ctx, bad); !errors.Is(err, deploys.ErrInvalid) {
				t.Errorf("disable_flag with flag %q: %v, want ErrInvalid", bad.Flag, err)
			}
		}
		if _, err := e.rb.RequestRemedy(ctx, deploys.RemedyRequest{IncidentID: inc.ID, Action: "restart_pods", Actor: "alice"}); !errors.Is(err, deploys.ErrUnknownAction) {
			t.Errorf("unknown action: %v", err)
		}
		if _, err := e.rb.RequestRemedy(ctx, deploys.RemedyRequest{IncidentID: inc.ID, Action: deploys.ActionAbortCanary, Actor: "alice"}); !errors.Is(err, deploys.ErrNoRemedy) {
			t.Errorf("abort_canary without a hook: %v", err)
		}
		if _, err := e.rb.RequestRemedy(ctx, deploys.RemedyRequest{IncidentID: inc.ID, Action: deploys.ActionDisableFlag, Flag: "new-cart", Actor: "alice"}); err != nil {
			t.Fatal(err)
		}
		e.waitIdle()
		calls := flags.got()
		if len(calls) != 1 || calls[0].Body.Flag != "new-cart" || calls[0].Key != fmt.Sprintf("disable_flag-%d-%d-new-cart", inc.ID, d.ID) {
			t.Fatalf("calls %+v", calls)
		}
	})
}

func TestConcurrentRemedyRequestsCallEachOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		dir := t.TempDir()
		log := filepath.Join(dir, "calls")
		argv := []string{script(t, dir, "remedy", `echo "$FIREBREAK_ACTION $FIREBREAK_FLAG" >> "`+log+`"`+"\n")}
		hook := func() deploys.Hook { h := commandHook(argv...); h.Policy = deploys.PolicyConfirm; return h }
		e := newRemedyEnv(t, db, map[string]deploys.Hook{"checkout": hook()},
			map[string]map[string]deploys.Hook{"checkout": {deploys.ActionAbortCanary: hook(), deploys.ActionDisableFlag: hook()}})
		d := e.record(canary())
		inc := e.declare("Checkout is failing", incidents.Sev1, "checkout", "prod", at(10, 0))
		reqs := []deploys.RemedyRequest{{Action: deploys.ActionRollback}, {Action: deploys.ActionAbortCanary},
			{Action: deploys.ActionDisableFlag, Flag: "new-cart"}}
		var wg sync.WaitGroup
		for _, r := range reqs {
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func(r deploys.RemedyRequest) {
					defer wg.Done()
					r.IncidentID, r.DeployID, r.Actor = inc.ID, d.ID, "alice"
					if _, err := e.rb.RequestRemedy(context.Background(), r); err != nil && !errors.Is(err, deploys.ErrAlreadyRequested) &&
						!errors.Is(err, store.ErrOverloaded) && !errors.Is(err, incidents.ErrContended) {
						t.Errorf("%s: %v", r.Action, err)
					}
				}(r)
			}
		}
		wg.Wait()
		e.waitIdle()
		raw, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Split(strings.TrimSpace(string(raw)), "\n")
		count := map[string]int{}
		for _, l := range got {
			count[strings.TrimSpace(l)]++
		}
		want := map[string]int{"rollback": 1, "abort_canary": 1, "disable_flag new-cart": 1}
		if fmt.Sprint(count) != fmt.Sprint(want) {
			t.Errorf("commands ran %v, want each once: %v", count, want)
		}
		// Rollback and abort both succeeded: the state is the first final one recorded.
		if n := len(e.rollbacks(inc.ID)); n != 3 {
			t.Errorf("%d remedies on record, want 3", n)
		}
	})
}
