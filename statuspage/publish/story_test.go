package publish_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/statuspage"
	"firebreak/statuspage/publish"
	"firebreak/store"
	"firebreak/store/storetest"
)

var shop = []publish.ConfigComponent{
	{Name: "Checkout", Group: "Shop", Services: []string{"checkout"}, Automatic: true},
	{Name: "Search", Group: "Shop", Services: []string{"search"}, Automatic: true},
	{Name: "API", Services: []string{"api"}, Automatic: true},
}

// updateLines are an incident's updates as "status: body", oldest first.
func updateLines(inc statuspage.Incident) []string {
	var out []string
	for _, u := range inc.Updates {
		out = append(out, u.Status+": "+u.Body)
	}
	return out
}

// TestAnIncidentGoesPublicWhenPeopleSaySo: a sev2 incident of checkout turns the Checkout
// component to partial outage at once, but the incident itself appears only with its first
// public update, under its public title. Each phase after that adds Statuspage's standard
// update; resolving it makes the component operational again and leaves a period for the
// uptime bars. The internal note never reaches the page.
func TestAnIncidentGoesPublicWhenPeopleSaySo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, publish.Options{Components: shop})
		inc := e.declare("checkout-db primary OOM", "sev2", "checkout")

		snap := e.snapshot()
		if got := component(t, snap, "Checkout").Status; got != statuspage.PartialOutage {
			t.Fatalf("Checkout is %s while a sev2 incident of checkout is open, want partial_outage", got)
		}
		if got := component(t, snap, "Search").Status; got != statuspage.Operational {
			t.Fatalf("Search is %s, want operational", got)
		}
		if len(snap.Incidents) != 0 {
			t.Fatalf("the incident is on the page before any public update: %+v", snap.Incidents)
		}

		e.note(inc.ID, "Suspect the failover of db-7; paging the DBA.", false)
		title := "Checkout payments failing"
		if _, err := e.m.Patch(context.Background(), inc.ID, "alice", incidents.Patch{PublicTitle: &title}); err != nil {
			t.Fatal(err)
		}
		if snap := e.snapshot(); len(snap.Incidents) != 0 {
			t.Fatalf("an internal note or a public title made the incident public: %+v", snap.Incidents)
		}

		e.clock.Advance(time.Minute)
		e.note(inc.ID, "Some payments fail at checkout. We are looking into it.", true)
		snap = e.snapshot()
		if len(snap.Incidents) != 1 {
			t.Fatalf("want the incident on the page after its public note, got %+v", snap.Incidents)
		}
		pub := snap.Incidents[0]
		if pub.Name != title || pub.Status != statuspage.Investigating || pub.Impact != statuspage.ImpactMajor ||
			len(pub.ComponentIDs) != 1 || pub.ComponentIDs[0] != component(t, snap, "Checkout").ID {
			t.Fatalf("public incident: %+v", pub)
		}
		if pub.StartedAt == nil || !pub.StartedAt.Equal(start) || !pub.CreatedAt.Equal(start.Add(time.Minute)) {
			t.Fatalf("started %v, created %v: want the impact start and the first public update", pub.StartedAt, pub.CreatedAt)
		}

		for _, a := range []incidents.Action{incidents.Remediate, incidents.Mitigate, incidents.Resolve} {
			e.clock.Advance(10 * time.Minute)
			e.transition(inc.ID, a)
		}
		snap = e.snapshot()
		pub = snap.Incidents[0]
		want := []string{
			"investigating: Some payments fail at checkout. We are looking into it.",
			"identified: The issue has been identified and a fix is being implemented.",
			"monitoring: A fix has been implemented and we are monitoring the results.",
			"resolved: This incident has been resolved.",
		}
		if got := updateLines(pub); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("updates:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		resolvedAt := start.Add(31 * time.Minute)
		if pub.Status != statuspage.Resolved || pub.ResolvedAt == nil || !pub.ResolvedAt.Equal(resolvedAt) ||
			pub.MonitoringAt == nil || !pub.MonitoringAt.Equal(start.Add(21*time.Minute)) {
			t.Fatalf("resolved incident: status %s, resolved %v, monitoring %v", pub.Status, pub.ResolvedAt, pub.MonitoringAt)
		}
		checkout := component(t, snap, "Checkout")
		if checkout.Status != statuspage.Operational {
			t.Fatalf("Checkout is %s after the resolve, want operational", checkout.Status)
		}
		if len(checkout.StatusPeriods) != 1 || checkout.StatusPeriods[0].Status != statuspage.PartialOutage ||
			!checkout.StatusPeriods[0].From.Equal(start) || checkout.StatusPeriods[0].Until == nil || !checkout.StatusPeriods[0].Until.Equal(resolvedAt) {
			t.Fatalf("Checkout's uptime periods: %+v, want one partial outage from the impact start to the resolve", checkout.StatusPeriods)
		}
		raw, _ := json.Marshal(snap)
		if strings.Contains(string(raw), "db-7") || strings.Contains(string(raw), "OOM") {
			t.Fatalf("the internal note or the internal title reached the page:\n%s", raw)
		}

		// The standard updates are on the incident's own timeline too, by firebreak.
		timeline, err := e.m.Timeline(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		var public []string
		for _, ev := range timeline {
			if ev.Public {
				public = append(public, string(ev.PublicStatus)+" by "+ev.Actor)
			}
		}
		if got := strings.Join(public, ", "); got != "investigating by alice, identified by firebreak, monitoring by firebreak, resolved by firebreak" {
			t.Fatalf("public updates on the timeline: %s", got)
		}
	})
}

// TestANamedStatusHoldsUntilThePhasesPassIt: a public update that names monitoring keeps
// it while the phases would say investigating or identified; a later plain public note
// keeps it too; resolving moves on, and a reopen goes back to investigating.
func TestANamedStatusHoldsUntilThePhasesPassIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, publish.Options{Components: shop})
		ctx := context.Background()
		inc := e.declare("Search is slow", "sev3", "search")
		if _, err := e.m.AddPublicUpdate(ctx, inc.ID, "alice", "A fix is out; watching.", incidents.PublicMonitoring); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		e.transition(inc.ID, incidents.Acknowledge)
		e.transition(inc.ID, incidents.Remediate)
		e.clock.Advance(time.Minute)
		e.note(inc.ID, "Still watching.", true)
		pub := e.snapshot().Incidents[0]
		if got := strings.Join(updateLines(pub), "\n"); got != "monitoring: A fix is out; watching.\nmonitoring: Still watching." {
			t.Fatalf("updates:\n%s", got)
		}
		if pub.Impact != statuspage.ImpactMinor {
			t.Fatalf("impact of a sev3 incident: %s, want minor", pub.Impact)
		}
		e.clock.Advance(time.Minute)
		e.transition(inc.ID, incidents.Resolve)
		e.clock.Advance(time.Minute)
		e.transition(inc.ID, incidents.Reopen)
		pub = e.snapshot().Incidents[0]
		lines := updateLines(pub)
		if len(lines) != 4 || lines[2] != "resolved: This incident has been resolved." ||
			lines[3] != "investigating: We are currently investigating this issue." || pub.Status != statuspage.Investigating || pub.ResolvedAt != nil {
			t.Fatalf("after resolve and reopen: status %s, resolved_at %v, updates:\n%s", pub.Status, pub.ResolvedAt, strings.Join(lines, "\n"))
		}
		if _, err := e.m.AddPublicUpdate(ctx, inc.ID, "alice", "x", "fixed"); err == nil {
			t.Fatal("a public update naming an unknown status was taken")
		}
	})
}

// TestPatchChangesWhatIsShownAndSaysSo: PATCH changes title, summary, severity, public title
// and public components, one timeline line each, nothing for a field left as it was; the
// page follows severity (impact, component status) and the components named.
func TestPatchChangesWhatIsShownAndSaysSo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, publish.Options{Components: shop})
		ctx := context.Background()
		inc := e.declare("Search latency", "sev2", "search")
		e.note(inc.ID, "Searches are slow.", true)

		ids, names, err := e.svc.ResolveComponents(ctx, []json.RawMessage{json.RawMessage(`"API"`), json.RawMessage(`"Search"`)})
		if err != nil {
			t.Fatal(err)
		}
		title, sev, summary := "Search index rebuild", "sev1", "Index shard lost."
		if _, err := e.m.Patch(ctx, inc.ID, "bob", incidents.Patch{Title: &title, Severity: &sev, Summary: &summary,
			PublicComponents: &ids, PublicComponentNames: names}); err != nil {
			t.Fatal(err)
		}
		unchanged := title
		if _, err := e.m.Patch(ctx, inc.ID, "bob", incidents.Patch{Title: &unchanged}); err != nil {
			t.Fatal(err)
		}
		timeline, _ := e.m.Timeline(ctx, inc.ID)
		var lines []string
		for _, ev := range timeline {
			switch ev.Kind {
			case incidents.KindTitleChanged, incidents.KindSummaryChanged, incidents.KindSeverityChanged, incidents.KindPublicComponentsChanged:
				lines = append(lines, ev.Text)
			}
		}
		want := []string{
			`Title changed by bob from "Search latency" to "Search index rebuild".`,
			"Summary changed by bob.",
			"Severity changed by bob from sev2 to sev1.",
			"Public components set by bob to API, Search.",
		}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Fatalf("timeline lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}
		snap := e.snapshot()
		pub := snap.Incidents[0]
		if pub.Name != title || pub.Impact != statuspage.ImpactCritical || len(pub.ComponentIDs) != 2 {
			t.Fatalf("patched public incident: %+v", pub)
		}
		for name, want := range map[string]statuspage.ComponentStatus{"API": statuspage.MajorOutage, "Search": statuspage.MajorOutage, "Checkout": statuspage.Operational} {
			if got := component(t, snap, name).Status; got != want {
				t.Errorf("%s is %s, want %s", name, got, want)
			}
		}

		empty, blank := "  ", ""
		if _, err := e.m.Patch(ctx, inc.ID, "bob", incidents.Patch{Title: &empty}); err == nil {
			t.Error("an empty title was taken")
		}
		bad := "sev9"
		if _, err := e.m.Patch(ctx, inc.ID, "bob", incidents.Patch{Severity: &bad}); err == nil {
			t.Error("severity sev9 was taken")
		}
		if _, _, err := e.svc.ResolveComponents(ctx, []json.RawMessage{json.RawMessage(`"Payments"`), json.RawMessage(`42`)}); err == nil ||
			!strings.Contains(err.Error(), `unknown component "Payments", 42`) {
			t.Errorf("unknown components: %v", err)
		}
		if _, err := e.m.Patch(ctx, inc.ID, "bob", incidents.Patch{PublicTitle: &blank}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.m.Patch(ctx, 999, "bob", incidents.Patch{Title: &title}); err == nil {
			t.Error("patching a missing incident worked")
		}
	})
}
