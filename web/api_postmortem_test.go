package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/postmortem"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

// postmortemAPI is a server with the postmortem endpoints over a real database, with a
// writer (incidents:write and read), a reader and the Alertmanager's token.
type postmortemAPI struct {
	t      *testing.T
	srv    *web.Server
	writer string
	reader string
	alerts string
}

func newPostmortemAPI(t *testing.T, db *store.DB) *postmortemAPI {
	t.Helper()
	ctx := context.Background()
	ts := tokens.NewStore(db, time.Now)
	mk := func(name string, s ...tokens.Scope) string {
		tok, err := ts.Create(ctx, name, s)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	p := &postmortemAPI{t: t, writer: mk("bob", tokens.IncidentsWrite, tokens.Read), reader: mk("dashboard", tokens.Read),
		alerts: mk("alertmanager", tokens.AlertsWrite)}
	m := incidents.NewManager(db, time.Now)
	tracker := deploys.NewTracker(db, m, 30*time.Minute, nil)
	p.srv = web.New(web.Deps{DB: db, Incidents: m, Deploys: tracker, Auth: ts, MaxBodyBytes: apiLimit,
		Postmortems: postmortem.New(db, m, tracker, nil)})
	return p
}

// call sends a request and returns the status, the Content-Type and the body.
func (p *postmortemAPI) call(method, path, token, body string) (int, string, string) {
	p.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.srv.App().Test(req, 10000)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(raw)
}

// report sends a request that must answer 200 with the JSON format and decodes it.
func (p *postmortemAPI) report(method, path, body string) map[string]any {
	p.t.Helper()
	code, ctype, raw := p.call(method, path, p.writer, body)
	if code != http.StatusOK || ctype != "application/json" {
		p.t.Fatalf("%s %s: %d %s %s", method, path, code, ctype, raw)
	}
	out := map[string]any{}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		p.t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	return out
}

// declare opens an incident through the API and returns its path.
func (p *postmortemAPI) declare(title string) string {
	p.t.Helper()
	code, _, raw := p.call("POST", "/api/v1/incidents", p.writer, `{"title":"`+title+`","severity":"sev2","service":"checkout","environment":"prod"}`)
	if code != http.StatusCreated {
		p.t.Fatalf("declare: %d %s", code, raw)
	}
	var inc struct{ ID int64 }
	_ = json.Unmarshal([]byte(raw), &inc)
	return "/api/v1/incidents/" + itoa(int(inc.ID))
}

// TestPostmortemThroughTheAPI: a responder reads the draft of an open incident in the three
// formats, writes its parts a few at a time, cannot publish it until the incident is
// resolved, publishes it, and edits it again without unpublishing it.
func TestPostmortemThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPostmortemAPI(t, db)
		inc := p.declare("Checkout is failing")
		path := inc + "/postmortem"

		pm := p.report("GET", path, "")
		if pm["status"] != "draft" || pm["incident_status"] != "observing" || pm["root_cause"] != "" ||
			pm["published_at"] != nil || len(pm["action_items"].([]any)) != 0 {
			t.Fatalf("the draft of an open incident: %v", pm)
		}
		for _, k := range []string{"incident_id", "title", "severity", "service", "environment", "summary", "impact", "detection",
			"response", "remediation", "times", "suspects", "timeline", "contributing_factors", "went_well", "went_badly", "got_lucky"} {
			if _, ok := pm[k]; !ok {
				t.Errorf("the JSON format lacks %q", k)
			}
		}
		code, ctype, md := p.call("GET", path+"?format=md", p.reader, "")
		if code != 200 || ctype != "text/markdown; charset=utf-8" || !strings.HasPrefix(md, "# Postmortem: Checkout is failing\n") ||
			!strings.Contains(md, "The incident is still open") {
			t.Fatalf("format=md: %d %s\n%s", code, ctype, md)
		}
		code, ctype, html := p.call("GET", path+"?format=html", p.reader, "")
		if code != 200 || ctype != "text/html; charset=utf-8" || !strings.HasPrefix(html, "<!DOCTYPE html>") ||
			!strings.Contains(html, "<h1>Postmortem: Checkout is failing</h1>") {
			t.Fatalf("format=html: %d %s\n%s", code, ctype, html)
		}

		pm = p.report("PUT", path, `{"root_cause":"A **timeout** was cut to 500 ms.","action_items":[{"text":"Restore it","owner":"dana","due":"2026-03-13","done":false}]}`)
		if pm["root_cause"] != "A **timeout** was cut to 500 ms." || len(pm["action_items"].([]any)) != 1 || pm["updated_by"] != "bob" {
			t.Fatalf("after the first PUT: %v", pm)
		}
		pm = p.report("PUT", path, `{"went_well":"Paging worked."}`)
		if pm["root_cause"] != "A **timeout** was cut to 500 ms." || pm["went_well"] != "Paging worked." || len(pm["action_items"].([]any)) != 1 {
			t.Fatalf("a partial PUT changed what it did not carry: %v", pm)
		}
		item := pm["action_items"].([]any)[0].(map[string]any)
		if item["text"] != "Restore it" || item["owner"] != "dana" || item["due"] != "2026-03-13" || item["done"] != false {
			t.Fatalf("action item: %v", item)
		}

		code, _, raw := p.call("POST", path+"/publish", p.writer, "")
		if code != http.StatusConflict || !strings.Contains(raw, "still open") {
			t.Fatalf("publish while open: %d %s, want 409", code, raw)
		}
		if code, _, raw := p.call("POST", inc+"/resolve", p.writer, ""); code != 200 {
			t.Fatalf("resolve: %d %s", code, raw)
		}
		pm = p.report("POST", path+"/publish", "")
		published := pm["published_at"]
		if pm["status"] != "published" || published == nil || pm["published_by"] != "bob" {
			t.Fatalf("published: %v", pm)
		}
		pm = p.report("PUT", path, `{"got_lucky":"A quiet afternoon."}`)
		if pm["status"] != "published" || pm["published_at"] != published || pm["got_lucky"] != "A quiet afternoon." {
			t.Fatalf("an edit after publication: %v", pm)
		}
		pm = p.report("POST", path+"/publish", "{}")
		if pm["published_at"] != published {
			t.Fatalf("publishing again moved published_at from %v to %v", published, pm["published_at"])
		}
	})
}

// TestPostmortemRefusals: unknown incidents are 404; bad formats, unknown fields, bad dates
// and oversized texts are 400 naming what is wrong; scopes hold; nothing changes.
func TestPostmortemRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPostmortemAPI(t, db)
		path := p.declare("Search is slow") + "/postmortem"
		p.report("PUT", path, `{"root_cause":"kept"}`)
		long := strings.Repeat("x", postmortem.MaxText+1)
		cases := []struct {
			name, method, path, token, body string
			code                            int
			msg                             string
		}{
			{"unknown incident", "GET", "/api/v1/incidents/999999/postmortem", p.reader, "", 404, "999999"},
			{"unknown incident, PUT", "PUT", "/api/v1/incidents/999999/postmortem", p.writer, `{"root_cause":"x"}`, 404, "999999"},
			{"unknown incident, publish", "POST", "/api/v1/incidents/999999/postmortem/publish", p.writer, "", 404, "999999"},
			{"id not a number", "GET", "/api/v1/incidents/abc/postmortem", p.reader, "", 400, "abc"},
			{"unknown format", "GET", path + "?format=pdf", p.reader, "", 400, `"pdf"`},
			{"unknown field", "PUT", path, p.writer, `{"root_cause":"x","lessons":"y"}`, 400, `unknown field "lessons"`},
			{"unknown field of an action item", "PUT", path, p.writer, `{"action_items":[{"text":"x","priority":"high"}]}`, 400, `"priority"`},
			{"due not a date", "PUT", path, p.writer, `{"action_items":[{"text":"x","due":"31/03/2026"}]}`, 400, "action_items[0].due"},
			{"text too long", "PUT", path, p.writer, `{"went_badly":"` + long + `"}`, 400, "went_badly is 50001 characters long"},
			{"wrong type", "PUT", path, p.writer, `{"root_cause":["a"]}`, 400, "root_cause must be a string"},
			{"not JSON", "PUT", path, p.writer, `root cause: x`, 400, "JSON"},
			{"empty PUT", "PUT", path, p.writer, ``, 400, "empty"},
			{"publish with a body", "POST", path + "/publish", p.writer, `{"status":"published"}`, 400, "status"},
			{"read scope cannot PUT", "PUT", path, p.reader, `{"root_cause":"x"}`, 403, "incidents:write"},
			{"read scope cannot publish", "POST", path + "/publish", p.reader, "", 403, "incidents:write"},
			{"alerts scope cannot read", "GET", path, p.alerts, "", 403, "read"},
			{"no token", "GET", path, "", "", 401, "token"},
		}
		for _, c := range cases {
			code, ctype, raw := p.call(c.method, c.path, c.token, c.body)
			var e struct{ Error string }
			_ = json.Unmarshal([]byte(raw), &e)
			if code != c.code || !strings.Contains(e.Error, c.msg) || !strings.HasPrefix(ctype, "application/json") {
				t.Errorf("%s: got %d %s %q, want %d with %q", c.name, code, ctype, raw, c.code, c.msg)
			}
		}
		if pm := p.report("GET", path, ""); pm["root_cause"] != "kept" || pm["status"] != "draft" {
			t.Errorf("refused requests changed the postmortem: %v", pm)
		}
	})
}

// TestPostmortemRoutesComeBeforeStateChanges: POST /incidents/{id}/:action takes any
// action name, so the postmortem routes are registered before it; each postmortem path
// reaches its own handler, and the state changes still reach theirs.
func TestPostmortemRoutesComeBeforeStateChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		p := newPostmortemAPI(t, db)
		// Fiber keeps each method's routes in the order they were registered and tries them
		// in that order.
		order := map[string]int{}
		for i, r := range p.srv.App().GetRoutes(true) {
			if _, seen := order[r.Method+" "+r.Path]; !seen {
				order[r.Method+" "+r.Path] = i
			}
		}
		action, ok := order["POST /api/v1/incidents/:id/:action"]
		publish, found := order["POST /api/v1/incidents/:id/postmortem/publish"]
		if !ok || !found || publish > action {
			t.Errorf("POST routes: publish at %d (%v), state changes at %d (%v); publish must come first", publish, found, action, ok)
		}
		for _, r := range []string{"GET /api/v1/incidents/:id/postmortem", "PUT /api/v1/incidents/:id/postmortem"} {
			if _, ok := order[r]; !ok {
				t.Errorf("%s is not registered", r)
			}
		}

		inc := p.declare("Checkout is failing")
		if code, _, raw := p.call("POST", inc+"/resolve", p.writer, ""); code != 200 || !strings.Contains(raw, `"status":"resolved"`) {
			t.Fatalf("resolve: %d %s", code, raw)
		}
		pm := p.report("POST", inc+"/postmortem/publish", "")
		if pm["status"] != "published" || pm["incident_id"] == nil || pm["reopened_count"] != nil {
			t.Fatalf("publish answered %v, not a postmortem", pm)
		}
		code, _, raw := p.call("POST", inc+"/postmortem", p.writer, "")
		if code != http.StatusNotFound || !strings.Contains(raw, `no such action \"postmortem\"`) {
			t.Errorf("POST .../postmortem: %d %s, want the state changes' 404", code, raw)
		}
		if code, _, raw := p.call("POST", inc+"/reopen", p.writer, `{"note":"again"}`); code != 200 || !strings.Contains(raw, `"status":"responding"`) {
			t.Errorf("reopen after the postmortem routes: %d %s", code, raw)
		}
	})
}

// TestPostmortemPutOverItsLimitGets413: on a real listener, a PUT body larger than the
// route's limit is refused with 413 before it is read.
func TestPostmortemPutOverItsLimitGets413(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	p := newPostmortemAPI(t, db)
	path := p.declare("Search is slow") + "/postmortem"
	base := serveOnLoopback(t, p.srv)
	body := append([]byte(`{"root_cause":"`), bytes.Repeat([]byte("x"), postmortem.MaxEditBytes)...)
	body = append(body, `"}`...)
	req, _ := http.NewRequest("PUT", base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.writer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), "larger") {
		t.Fatalf("PUT of %d bytes: %d %s, want 413", len(body), resp.StatusCode, raw)
	}
}
