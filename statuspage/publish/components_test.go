package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/statuspage"
	"firebreak/statuspage/publish"
	"firebreak/store"
	"firebreak/store/storetest"
)

func ptr[T any](v T) *T { return &v }

// TestComponentStatusFollowsItsIncidents: the worst open incident of at least min_severity
// sets a component's status (sev1 major, sev2 partial, sev3 degraded); a less severe one,
// one of another service, or a component with automatic false changes nothing; a status
// set by hand wins over everything until it is cleared.
func TestComponentStatusFollowsItsIncidents(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, publish.Options{MinSeverity: incidents.Sev3, Components: []publish.ConfigComponent{
			{Name: "Checkout", Services: []string{"checkout", "payments"}, Automatic: true},
			{Name: "Search", Services: []string{"search"}, Automatic: true},
			{Name: "Docs", Services: []string{"docs"}, Automatic: false},
		}})
		statuses := func() map[string]statuspage.ComponentStatus {
			out := map[string]statuspage.ComponentStatus{}
			for _, c := range e.snapshot().Components {
				out[c.Name] = c.Status
			}
			return out
		}
		e.declare("Payments slow", "sev3", "payments")
		e.declare("Search down", "sev4", "search")
		e.declare("Docs down", "sev1", "docs")
		e.declare("Billing down", "sev1", "billing")
		got := statuses()
		if got["Checkout"] != statuspage.DegradedPerformance || got["Search"] != statuspage.Operational || got["Docs"] != statuspage.Operational {
			t.Fatalf("statuses %v: want Checkout degraded (sev3 of payments), Search operational (sev4 is below min), Docs operational (not automatic)", got)
		}
		worst := e.declare("Checkout down", "sev1", "checkout")
		if got := statuses()["Checkout"]; got != statuspage.MajorOutage {
			t.Fatalf("Checkout with a sev1 and a sev3 open: %s, want major_outage", got)
		}

		// By hand: the API's components, not the config's.
		c, err := e.svc.CreateComponent(ctx, "admin", publish.ComponentInput{Name: ptr("Status API"), Services: &[]string{"checkout"},
			Status: json.RawMessage(`"under_maintenance"`), Description: ptr("The public API")})
		if err != nil {
			t.Fatal(err)
		}
		if c.Status == nil || *c.Status != statuspage.UnderMaintenance || c.CurrentStatus != statuspage.UnderMaintenance || c.FromConfig || c.Position != 4 {
			t.Fatalf("created component: %+v", c)
		}
		if got := statuses()["Status API"]; got != statuspage.UnderMaintenance {
			t.Fatalf("a status set by hand: page shows %s", got)
		}
		if c, err = e.svc.UpdateComponent(ctx, "admin", "Status API", publish.ComponentInput{Status: json.RawMessage(`null`)}); err != nil {
			t.Fatal(err)
		}
		if c.Status != nil || c.CurrentStatus != statuspage.MajorOutage || c.Description != "The public API" {
			t.Fatalf("cleared by hand, it follows checkout's sev1 again and keeps the rest: %+v", c)
		}
		e.transition(worst.ID, incidents.Resolve)
		if got := statuses()["Checkout"]; got != statuspage.DegradedPerformance {
			t.Fatalf("Checkout after its sev1 resolved: %s, want degraded (the sev3 is open)", got)
		}
	})
}

// TestComponentsFromTheConfigBelongToIt: config components are created at start, updated
// when the file changes, removed when it no longer lists them, and the API may neither
// change nor delete them (ErrConflict, "defined in config"). Unknown components are
// ErrNotFound; a taken name ErrConflict; bad fields ErrInvalid.
func TestComponentsFromTheConfigBelongToIt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, publish.Options{Components: shop})
		list, err := e.svc.Components(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, c := range list {
			if !c.FromConfig || !c.Automatic {
				t.Errorf("config component %+v: want from_config and automatic", c)
			}
			names = append(names, c.Name)
		}
		if strings.Join(names, ",") != "Checkout,Search,API" {
			t.Fatalf("components %v, want the config's in its order", names)
		}
		_, err = e.svc.UpdateComponent(ctx, "admin", "Checkout", publish.ComponentInput{Status: json.RawMessage(`"major_outage"`)})
		if !errors.Is(err, publish.ErrConflict) || !strings.Contains(err.Error(), "defined in config") {
			t.Fatalf("changing a config component: %v", err)
		}
		if err := e.svc.DeleteComponent(ctx, "admin", "1"); !errors.Is(err, publish.ErrConflict) {
			t.Fatalf("deleting a config component by id: %v", err)
		}
		if _, err := e.svc.CreateComponent(ctx, "admin", publish.ComponentInput{Name: ptr("Search")}); !errors.Is(err, publish.ErrConflict) {
			t.Fatalf("a component with a config component's name: %v", err)
		}
		if err := e.svc.DeleteComponent(ctx, "admin", "Payments"); !errors.Is(err, publish.ErrNotFound) {
			t.Fatalf("deleting an unknown component: %v", err)
		}
		if _, err := e.svc.UpdateComponent(ctx, "admin", "99", publish.ComponentInput{}); !errors.Is(err, publish.ErrNotFound) {
			t.Fatalf("changing an unknown component: %v", err)
		}
		for _, in := range []publish.ComponentInput{
			{},
			{Name: ptr("  ")},
			{Name: ptr("X"), Status: json.RawMessage(`"down"`)},
			{Name: ptr("X"), Position: ptr(0)},
			{Name: ptr("X"), Services: &[]string{""}},
		} {
			if _, err := e.svc.CreateComponent(ctx, "admin", in); !errors.Is(err, publish.ErrInvalid) {
				t.Errorf("create %+v: %v, want invalid", in, err)
			}
		}
		mine, err := e.svc.CreateComponent(ctx, "admin", publish.ComponentInput{Name: ptr("Webhooks")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.CreateComponent(ctx, "admin", publish.ComponentInput{Name: ptr("Webhooks")}); !errors.Is(err, publish.ErrConflict) {
			t.Fatalf("a second component with the same name: %v", err)
		}

		// The next start reads a file that moved Search out, renamed nothing and took over
		// the API-made Webhooks.
		e2 := newEnv(t, db, publish.Options{Components: []publish.ConfigComponent{
			{Name: "Checkout", Group: "Store", Services: []string{"checkout"}, Automatic: true},
			{Name: "Webhooks", Services: []string{"hooks"}, Automatic: false},
			{Name: "API", Services: []string{"api"}, Automatic: true},
		}})
		list, err = e2.svc.Components(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range list {
			got = append(got, c.Name+"/"+c.Group)
			if c.Name == "Webhooks" && (c.ID != mine.ID || !c.FromConfig || c.Automatic) {
				t.Errorf("Webhooks taken over by the config: %+v", c)
			}
		}
		if strings.Join(got, ",") != "Checkout/Store,Webhooks/,API/" {
			t.Fatalf("after the config changed: %v", got)
		}
	})
}

// TestMaintenanceFollowsTheClock: a window is scheduled until its start, in progress (its
// components under maintenance) until its end, then completed, moved on by the scheduled
// job; each step is an update on the page. A window ending before it starts, or naming an
// unknown component, is refused.
func TestMaintenanceFollowsTheClock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, publish.Options{Components: shop})
		from, until := start.Add(time.Hour), start.Add(2*time.Hour)
		m, err := e.svc.CreateMaintenance(ctx, "admin", publish.MaintenanceInput{Name: ptr("Database upgrade"),
			Body: ptr("Checkout may be slow."), Components: &[]json.RawMessage{json.RawMessage(`"Checkout"`)},
			ScheduledFor: &from, ScheduledUntil: &until})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != publish.MaintenanceScheduled || len(m.ComponentNames) != 1 || m.ComponentNames[0] != "Checkout" || m.CreatedBy != "admin" {
			t.Fatalf("created: %+v", m)
		}
		advance := func(to time.Time) int {
			e.clock.Set(to)
			var n int
			err := db.InTx(ctx, func(q store.Querier) error {
				var err error
				n, err = e.svc.AdvanceMaintenancesTx(ctx, q, to)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := advance(from.Add(-time.Second)); n != 0 {
			t.Fatalf("%d windows moved before their start", n)
		}
		if n := advance(from.Add(30 * time.Second)); n != 1 {
			t.Fatalf("%d windows started, want 1", n)
		}
		snap := e.snapshot()
		if got := component(t, snap, "Checkout").Status; got != statuspage.UnderMaintenance {
			t.Fatalf("Checkout during its window: %s", got)
		}
		if len(snap.Maintenances) != 1 || snap.Maintenances[0].Status != statuspage.InProgress {
			t.Fatalf("maintenances: %+v", snap.Maintenances)
		}
		advance(until.Add(time.Minute))
		snap = e.snapshot()
		sm := snap.Maintenances[0]
		var steps []string
		for _, u := range sm.Updates {
			steps = append(steps, u.Status+": "+u.Body)
		}
		want := "scheduled: Checkout may be slow.\nin_progress: Scheduled maintenance is currently in progress. We will provide updates as necessary.\n" +
			"completed: The scheduled maintenance has been completed."
		if sm.Status != statuspage.Completed || strings.Join(steps, "\n") != want || sm.ResolvedAt == nil || !sm.ResolvedAt.Equal(until) {
			t.Fatalf("completed window: %s, resolved %v, updates:\n%s", sm.Status, sm.ResolvedAt, strings.Join(steps, "\n"))
		}
		if got := component(t, snap, "Checkout").Status; got != statuspage.Operational {
			t.Fatalf("Checkout after its window: %s", got)
		}

		// A window entered while it runs is in progress at once.
		now := e.clock.Now()
		past, later := now.Add(-time.Hour), now.Add(time.Hour)
		running, err := e.svc.CreateMaintenance(ctx, "admin", publish.MaintenanceInput{Name: ptr("Search reindex"),
			Components: &[]json.RawMessage{json.RawMessage(`"Search"`)}, ScheduledFor: &past, ScheduledUntil: &later})
		if err != nil || running.Status != publish.MaintenanceInProgress {
			t.Fatalf("a window under way: %+v, %v", running, err)
		}
		if got := component(t, e.snapshot(), "Search").Status; got != statuspage.UnderMaintenance {
			t.Fatalf("Search in a window entered late: %s", got)
		}

		for name, in := range map[string]publish.MaintenanceInput{
			"ends before it starts": {Name: ptr("x"), ScheduledFor: &later, ScheduledUntil: &past},
			"no start":              {Name: ptr("x"), ScheduledUntil: &later},
			"unknown component":     {Name: ptr("x"), ScheduledFor: &past, ScheduledUntil: &later, Components: &[]json.RawMessage{json.RawMessage(`"Payments"`)}},
		} {
			if _, err := e.svc.CreateMaintenance(ctx, "admin", in); !errors.Is(err, publish.ErrInvalid) {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		early := from.Add(-time.Minute)
		if _, err := e.svc.UpdateMaintenance(ctx, "admin", m.ID, publish.MaintenanceInput{ScheduledUntil: &early}); !errors.Is(err, publish.ErrInvalid) ||
			!strings.Contains(err.Error(), "ends before it starts") {
			t.Errorf("moving the end before the start: %v", err)
		}
		if err := e.svc.DeleteMaintenance(ctx, "admin", 999); !errors.Is(err, publish.ErrNotFound) {
			t.Errorf("deleting an unknown window: %v", err)
		}
		if err := e.svc.DeleteMaintenance(ctx, "admin", running.ID); err != nil {
			t.Fatal(err)
		}
		if got := component(t, e.snapshot(), "Search").Status; got != statuspage.Operational {
			t.Fatalf("Search after its window was deleted: %s", got)
		}
	})
}
