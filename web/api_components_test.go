package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/statuspage/publish"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

// newStatusAPIEnv is newAPIEnv with a status page whose config defines Checkout (service
// checkout, in group Shop).
func newStatusAPIEnv(t *testing.T, db *store.DB) *apiEnv {
	t.Helper()
	e := newAPIEnv(t, db)
	m := incidents.NewManager(db, time.Now)
	svc := publish.New(db, m, nil, publish.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Components: []publish.ConfigComponent{{Name: "Checkout", Group: "Shop", Services: []string{"checkout"}, Automatic: true}}})
	if err := svc.SyncConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	m.OnChange(svc.OnIncidentChange)
	ts := tokens.NewStore(db, time.Now)
	e.srv = web.New(web.Deps{DB: db, Incidents: m, Auth: ts, MaxBodyBytes: 64 << 10, Statuspage: svc})
	return e
}

// TestComponentsThroughTheAPI: readers list components with their current status; only
// admins create, change and delete them; components of the config file are refused (409,
// "defined in config"); an unknown component is 404; unknown fields and bad values 400.
func TestComponentsThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newStatusAPIEnv(t, db)
		if code, _ := e.do("POST", "/api/v1/incidents", e.writer, `{"title":"Pay fails","severity":"sev1","service":"checkout"}`); code != http.StatusCreated {
			t.Fatalf("declare: %d", code)
		}
		code, list := e.do("GET", "/api/v1/components", e.reader, "")
		comps, _ := list["components"].([]any)
		if code != http.StatusOK || len(comps) != 1 {
			t.Fatalf("list: %d %v", code, list)
		}
		checkout := comps[0].(map[string]any)
		if checkout["name"] != "Checkout" || checkout["group"] != "Shop" || checkout["from_config"] != true ||
			checkout["current_status"] != "major_outage" || checkout["status"] != nil || checkout["automatic"] != true {
			t.Fatalf("Checkout: %v", checkout)
		}

		for _, c := range []struct {
			method, path, token, body string
			code                      int
			want                      string
		}{
			{"POST", "/api/v1/components", e.writer, `{"name":"API"}`, http.StatusForbidden, "admin"},
			{"PUT", "/api/v1/components/Checkout", e.admin, `{"status":"major_outage"}`, http.StatusConflict, "defined in config"},
			{"DELETE", "/api/v1/components/1", e.admin, "", http.StatusConflict, "defined in config"},
			{"PUT", "/api/v1/components/Payments", e.admin, `{"status":"major_outage"}`, http.StatusNotFound, `no component "Payments"`},
			{"DELETE", "/api/v1/components/77", e.admin, "", http.StatusNotFound, `no component "77"`},
			{"GET", "/api/v1/components/77", e.reader, "", http.StatusNotFound, `no component "77"`},
			{"POST", "/api/v1/components", e.admin, `{"name":"API","colour":"red"}`, http.StatusBadRequest, "colour"},
			{"POST", "/api/v1/components", e.admin, `{"name":"API","status":"on_fire"}`, http.StatusBadRequest, `"on_fire" is not one of`},
			{"POST", "/api/v1/components", e.admin, `{"name":"Checkout"}`, http.StatusConflict, "already exists"},
		} {
			code, body := e.do(c.method, c.path, c.token, c.body)
			if code != c.code || !strings.Contains(body["error"].(string), c.want) {
				t.Errorf("%s %s %s: %d %v, want %d with %q", c.method, c.path, c.body, code, body, c.code, c.want)
			}
		}

		code, api := e.do("POST", "/api/v1/components", e.admin,
			`{"name":"Public API","group":"Platform","services":["api"],"description":"<b>REST</b>","status":"degraded_performance"}`)
		if code != http.StatusCreated || api["status"] != "degraded_performance" || api["current_status"] != "degraded_performance" ||
			api["from_config"] != false || api["status_since"] == nil {
			t.Fatalf("create: %d %v", code, api)
		}
		code, api = e.do("PUT", "/api/v1/components/Public%20API", e.admin, `{"status":null,"automatic":false}`)
		if code != http.StatusOK || api["status"] != nil || api["current_status"] != "operational" || api["automatic"] != false || api["group"] != "Platform" {
			t.Fatalf("put: %d %v", code, api)
		}
		if code, _ := e.do("DELETE", "/api/v1/components/Public%20API", e.admin, ""); code != http.StatusNoContent {
			t.Fatalf("delete: %d", code)
		}
	})
}

// TestMaintenancesThroughTheAPI: admins schedule, change and delete windows; a window
// ending before it starts or naming an unknown component is 400, an unknown window 404.
func TestMaintenancesThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newStatusAPIEnv(t, db)
		from := time.Now().UTC().Add(time.Hour).Truncate(time.Second)
		until := from.Add(time.Hour)
		body := `{"name":"DB upgrade","body":"Checkout may be slow.","components":["Checkout"],"scheduled_for":"` +
			from.Format(time.RFC3339) + `","scheduled_until":"` + until.Format(time.RFC3339) + `"}`
		if code, _ := e.do("POST", "/api/v1/maintenances", e.writer, body); code != http.StatusForbidden {
			t.Fatalf("a responder scheduled maintenance: %d", code)
		}
		code, m := e.do("POST", "/api/v1/maintenances", e.admin, body)
		if code != http.StatusCreated || m["status"] != "scheduled" || m["created_by"] != "alice" {
			t.Fatalf("create: %d %v", code, m)
		}
		if comps, _ := m["components"].([]any); len(comps) != 1 || comps[0] != "Checkout" {
			t.Fatalf("components: %v", m["components"])
		}
		id := itoa(int(m["id"].(float64)))
		for _, c := range []struct {
			method, path, body string
			code               int
			want               string
		}{
			{"PUT", "/api/v1/maintenances/" + id, `{"scheduled_until":"` + from.Add(-time.Minute).Format(time.RFC3339) + `"}`, http.StatusBadRequest, "ends before it starts"},
			{"PUT", "/api/v1/maintenances/" + id, `{"components":["Payments"]}`, http.StatusBadRequest, `unknown component "Payments"`},
			{"PUT", "/api/v1/maintenances/" + id, `{"starts":"now"}`, http.StatusBadRequest, "starts"},
			{"PUT", "/api/v1/maintenances/999", `{"name":"x"}`, http.StatusNotFound, "no maintenance 999"},
			{"DELETE", "/api/v1/maintenances/999", "", http.StatusNotFound, "no maintenance 999"},
		} {
			code, body := e.do(c.method, c.path, e.admin, c.body)
			if code != c.code || !strings.Contains(body["error"].(string), c.want) {
				t.Errorf("%s %s %s: %d %v, want %d with %q", c.method, c.path, c.body, code, body, c.code, c.want)
			}
		}
		code, list := e.do("GET", "/api/v1/maintenances", e.reader, "")
		if all, _ := list["maintenances"].([]any); code != http.StatusOK || len(all) != 1 {
			t.Fatalf("list: %d %v", code, list)
		}
		if code, got := e.do("PUT", "/api/v1/maintenances/"+id, e.admin, `{"name":"Database upgrade"}`); code != http.StatusOK || got["name"] != "Database upgrade" {
			t.Fatalf("rename: %d %v", code, got)
		}
		if code, _ := e.do("DELETE", "/api/v1/maintenances/"+id, e.admin, ""); code != http.StatusNoContent {
			t.Fatalf("delete: %d", code)
		}
	})
}

// TestPatchIncident: PATCH changes the named fields and answers the incident; unknown
// fields, unknown components (named in the message), a bad severity and an empty patch are
// 400; a public note may name its status page status.
func TestPatchIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newStatusAPIEnv(t, db)
		code, inc := e.do("POST", "/api/v1/incidents", e.writer, `{"title":"Pay fails","severity":"sev2","service":"checkout"}`)
		if code != http.StatusCreated {
			t.Fatalf("declare: %d %v", code, inc)
		}
		path := "/api/v1/incidents/" + itoa(int(inc["id"].(float64)))
		code, got := e.do("PATCH", path, e.writer, `{"public_title":"Payments <b>failing</b>","public_components":["Checkout"],"severity":"sev1"}`)
		if code != http.StatusOK || got["public_title"] != "Payments <b>failing</b>" || got["severity"] != "sev1" {
			t.Fatalf("patch: %d %v", code, got)
		}
		if ids, _ := got["public_components"].([]any); len(ids) != 1 {
			t.Fatalf("public_components: %v", got["public_components"])
		}
		for _, c := range []struct{ body, want string }{
			{`{"titel":"x"}`, "titel"},
			{`{"public_components":["Checkout","Payments",9]}`, `unknown component "Payments", 9`},
			{`{"public_components":[true]}`, "by its name"},
			{`{"severity":"critical"}`, `unknown severity "critical"`},
			{`{"title":""}`, "title is required"},
			{`{}`, "nothing to change"},
		} {
			code, body := e.do("PATCH", path, e.writer, c.body)
			if code != http.StatusBadRequest || !strings.Contains(body["error"].(string), c.want) {
				t.Errorf("PATCH %s: %d %v, want 400 with %q", c.body, code, body, c.want)
			}
		}
		if code, _ := e.do("PATCH", path, e.reader, `{"title":"x"}`); code != http.StatusForbidden {
			t.Errorf("a reader patched: %d", code)
		}
		if code, _ := e.do("PATCH", "/api/v1/incidents/999", e.writer, `{"title":"x"}`); code != http.StatusNotFound {
			t.Errorf("patching a missing incident: %d", code)
		}

		code, note := e.do("POST", path+"/notes", e.writer, `{"text":"Fixed; watching.","public":true,"status":"monitoring"}`)
		if code != http.StatusCreated || note["public_status"] != "monitoring" || note["kind"] != "status_update" {
			t.Fatalf("public note naming a status: %d %v", code, note)
		}
		for _, body := range []string{`{"text":"x","status":"monitoring"}`, `{"text":"x","public":true,"status":"fixed"}`} {
			if code, got := e.do("POST", path+"/notes", e.writer, body); code != http.StatusBadRequest {
				t.Errorf("note %s: %d %v, want 400", body, code, got)
			}
		}
	})
}

// TestPatchWithoutAStatusPage: without a statuspage section the component endpoints do not
// exist and PATCH refuses public_components, saying why, but changes the rest.
func TestPatchWithoutAStatusPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		_, inc := e.do("POST", "/api/v1/incidents", e.writer, `{"title":"Pay fails","severity":"sev2"}`)
		path := "/api/v1/incidents/" + itoa(int(inc["id"].(float64)))
		if code, body := e.do("PATCH", path, e.writer, `{"public_components":["Checkout"]}`); code != http.StatusBadRequest ||
			!strings.Contains(body["error"].(string), "no status page") {
			t.Errorf("public_components without a status page: %d %v", code, body)
		}
		if code, body := e.do("PATCH", path, e.writer, `{"summary":"Card payments fail."}`); code != http.StatusOK || body["summary"] != "Card payments fail." {
			t.Errorf("summary: %d %v", code, body)
		}
		if code, _ := e.do("GET", "/api/v1/components", e.reader, ""); code != http.StatusNotFound {
			t.Errorf("components without a status page: %d, want 404", code)
		}
	})
}
