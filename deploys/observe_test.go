package deploys_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/metrics"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

// rollbackCounts reads firebreak_remedies_total{action="rollback"} by outcome.
func rollbackCounts(t *testing.T, set *metrics.Set) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, o := range []string{metrics.RemedyRequested, metrics.RemedySucceeded, metrics.RemedyFailed, metrics.RemedyUnknown, metrics.RemedyCancelled} {
		var m dto.Metric
		if err := set.Remedies.WithLabelValues("rollback", o).Write(&m); err != nil {
			t.Fatal(err)
		}
		out[o] = m.GetCounter().GetValue()
	}
	return out
}

// TestRollbackOutcomesAreCounted: three services' rollbacks are requested at once; one
// hook answers 200, one refuses with 422, and one incident is resolved before its call.
// Each outcome is counted once it is recorded: requested three times, then one each of
// succeeded, failed and cancelled.
func TestRollbackOutcomesAreCounted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ok, refusing, unused := newReceiver(t, always(200)), newReceiver(t, always(422)), newReceiver(t, always(200))
		e := newIdleEnv(t, db, map[string]deploys.Hook{
			"checkout": webhookHook(deploys.PolicyAuto, incidents.Sev2, ok.url()),
			"search":   webhookHook(deploys.PolicyAuto, incidents.Sev2, refusing.url()),
			"cart":     webhookHook(deploys.PolicyAuto, incidents.Sev2, unused.url()),
		}, outbox.Options{})
		set := metrics.New(prometheus.NewRegistry(), nil)
		e.rb.SetMetrics(set)
		var cart incidents.Incident
		for _, svc := range []string{"checkout", "search", "cart"} {
			d := checkoutDeploy(at(9, 56))
			d.Service = svc
			e.record(d)
			inc := e.declare(svc+" is failing", incidents.Sev1, svc, "prod", at(10, 0))
			if svc == "cart" {
				cart = inc
			}
		}
		if got := rollbackCounts(t, set); got["requested"] != 3 {
			t.Fatalf("after three automatic requests: %v", got)
		}
		if _, err := e.m.Transition(context.Background(), cart.ID, incidents.Resolve, "alice", "it was the CDN"); err != nil {
			t.Fatal(err)
		}
		e.run()
		e.waitIdle()
		want := map[string]float64{"requested": 3, "succeeded": 1, "failed": 1, "cancelled": 1, "unknown": 0}
		eventually(t, "every outcome to be counted", func() bool { return fmt.Sprint(rollbackCounts(t, set)) == fmt.Sprint(want) })
		if len(unused.got()) != 0 {
			t.Fatal("the cancelled rollback's hook was called")
		}
	})
}

// TestUnknownRollbackOutcomeIsCounted: a command found running after a crash is never
// started again; its unknown outcome is counted.
func TestUnknownRollbackOutcomeIsCounted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		hook, runs := countingHook(t)
		e := newIdleEnv(t, db, map[string]deploys.Hook{"checkout": hook}, outbox.Options{})
		set := metrics.New(prometheus.NewRegistry(), nil)
		e.rb.SetMetrics(set)
		e.record(checkoutDeploy(at(9, 56)))
		inc, _ := e.openByAlerts()
		rb := e.onlyRollback(inc.ID)
		if _, err := db.W.ExecContext(ctx, db.W.Rebind(`UPDATE rollbacks SET status = 'running', attempts = 1 WHERE id = ?`), rb.ID); err != nil {
			t.Fatal(err)
		}
		e.run()
		e.waitIdle()
		if runs() != 0 {
			t.Fatal("the command ran again")
		}
		eventually(t, "the unknown outcome to be counted", func() bool { return rollbackCounts(t, set)["unknown"] == 1 })
		if got := rollbackCounts(t, set); got["succeeded"] != 0 || got["failed"] != 0 {
			t.Fatalf("counts %v, want only requested and unknown", got)
		}
	})
}

// TestDeploysRecordedUnderAnAliasCorrelate: with prod an alias of production, a deploy
// recorded as prod is stored as production, found by a query for either name, and becomes
// the suspect of a production incident.
func TestDeploysRecordedUnderAnAliasCorrelate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		e.tr.AliasEnvironments(incidents.EnvironmentAliases{"prod": "production"})
		d := e.record(checkoutDeploy(at(9, 56))) // environment "prod"
		if d.Environment != "production" {
			t.Fatalf("deploy recorded in %q, want the canonical production", d.Environment)
		}
		for _, asked := range []string{"prod", "production"} {
			list, _, err := e.tr.List(context.Background(), deploys.Filter{Environment: asked, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].ID != d.ID {
				t.Errorf("deploys of %q: %+v, want the one recorded", asked, list)
			}
		}
		inc := e.declare("Checkout is failing", incidents.Sev2, "checkout", "production", at(10, 0))
		if s := e.suspects(inc.ID); len(s) != 1 || s[0].Deploy.ID != d.ID {
			t.Fatalf("suspects %+v, want the deploy recorded as prod", s)
		}
	})
}

// TestIncidentWithNoDeployOnRecordSaysSo: an incident whose service and environment never
// had a deploy recorded says so once on its timeline, naming them, and DeploysKnown is
// false; one whose service had deploys, just none in the window, says nothing of the kind.
func TestIncidentWithNoDeployOnRecordSaysSo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil, outbox.Options{})
		e.record(checkoutDeploy(at(7, 0))) // checkout in prod, hours before: known, not a suspect
		unknown := e.declare("Search is slow", incidents.Sev3, "search", "production", at(10, 0))
		known := e.declare("Checkout is failing", incidents.Sev2, "checkout", "prod", at(10, 0))

		lines := e.events(unknown.ID, deploys.KindNoDeployRecorded)
		want := "No deploy of search in production has been recorded; record deploys from CI to see suspects."
		if len(lines) != 1 || lines[0].Text != want {
			t.Fatalf("no_deploy_recorded lines %+v, want one saying %q", lines, want)
		}
		if n := len(e.events(known.ID, deploys.KindNoDeployRecorded)); n != 0 || len(e.suspects(known.ID)) != 0 {
			t.Fatalf("the checkout incident has %d no_deploy_recorded lines and suspects %v, want neither", n, e.suspects(known.ID))
		}
		for _, c := range []struct {
			service, env string
			want         bool
		}{{"search", "production", false}, {"checkout", "prod", true}, {"checkout", "staging", false}, {"", "", false}} {
			got, err := e.tr.DeploysKnown(ctx, c.service, c.env)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("DeploysKnown(%q, %q) = %v, want %v", c.service, c.env, got, c.want)
			}
		}
		noEnv := e.declare("Cart is down", incidents.Sev2, "cart", "", at(10, 0))
		if lines := e.events(noEnv.ID, deploys.KindNoDeployRecorded); len(lines) != 1 ||
			!strings.HasPrefix(lines[0].Text, "No deploy of cart has been recorded") {
			t.Fatalf("for a service without environment: %+v", lines)
		}
	})
}
