package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

// apiEnv is a server over a real database with one token per role.
type apiEnv struct {
	t      *testing.T
	db     *store.DB
	srv    *web.Server
	admin  string
	reader string
	alerts string
	writer string
}

func newAPIEnv(t *testing.T, db *store.DB) *apiEnv {
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
	e := &apiEnv{t: t, db: db}
	e.admin = mk("alice", tokens.Admin)
	e.reader = mk("dashboard", tokens.Read)
	e.alerts = mk("alertmanager", tokens.AlertsWrite)
	e.writer = mk("bob", tokens.IncidentsWrite, tokens.Read)
	e.srv = web.New(web.Deps{DB: db, Incidents: incidents.NewManager(db, time.Now), Auth: ts, MaxBodyBytes: 64 << 10})
	return e
}

// do sends a request and decodes the JSON answer into a map (or a list under "raw").
func (e *apiEnv) do(method, path, token, body string) (int, map[string]any) {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.srv.App().Test(req, 10000)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, out
}

func (e *apiEnv) count(table string) int {
	e.t.Helper()
	var n int
	if err := e.db.R.Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestIncidentLifecycleThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		code, inc := e.do("POST", "/api/v1/incidents", e.writer,
			`{"title":"Checkout is failing","severity":"sev2","service":"checkout","environment":"prod","summary":"5xx on /pay","impact_started_at":"2020-01-01T00:00:00Z"}`)
		if code != http.StatusCreated {
			t.Fatalf("declare: %d %v", code, inc)
		}
		id := int(inc["id"].(float64))
		if inc["status"] != "observing" || inc["impact_started_at"] != "2020-01-01T00:00:00Z" || inc["group_key"] != nil {
			t.Fatalf("declared incident: %v", inc)
		}
		path := "/api/v1/incidents/" + itoa(id)
		steps := []struct {
			action, wantStatus string
			wantSet            string
		}{
			{"acknowledge", "responding", "acknowledged_at"},
			{"remediate", "remediating", "remediation_started_at"},
			{"mitigate", "remediating", "mitigated_at"},
			{"resolve", "resolved", "resolved_at"},
			{"reopen", "responding", ""},
			{"resolve", "resolved", "resolved_at"},
		}
		for _, s := range steps {
			code, got := e.do("POST", path+"/"+s.action, e.writer, `{"note":"step `+s.action+`"}`)
			if code != http.StatusOK || got["status"] != s.wantStatus {
				t.Fatalf("%s: %d %v", s.action, code, got)
			}
			if s.wantSet != "" && got[s.wantSet] == nil {
				t.Fatalf("%s left %s null: %v", s.action, s.wantSet, got)
			}
		}
		code, note := e.do("POST", path+"/notes", e.writer, `{"text":"Payments are flowing again.","public":true}`)
		if code != http.StatusCreated || note["public"] != true || note["kind"] != "status_update" {
			t.Fatalf("note: %d %v", code, note)
		}
		code, detail := e.do("GET", path, e.reader, "")
		if code != http.StatusOK {
			t.Fatalf("get: %d %v", code, detail)
		}
		if detail["reopened_count"].(float64) != 1 || detail["status"] != "resolved" {
			t.Fatalf("detail: %v", detail)
		}
		timeline := detail["timeline"].([]any)
		var kinds []string
		for _, ev := range timeline {
			m := ev.(map[string]any)
			kinds = append(kinds, m["kind"].(string))
			if m["actor"] == "" || m["at"] == nil {
				t.Fatalf("event without actor or time: %v", m)
			}
		}
		want := "declared acknowledged remediation_started mitigated resolved reopened resolved status_update"
		if strings.Join(kinds, " ") != want {
			t.Fatalf("timeline kinds %v, want %s", kinds, want)
		}
		if timeline[1].(map[string]any)["actor"] != "bob" {
			t.Fatalf("actor of acknowledge: %v", timeline[1])
		}
		for _, k := range []string{"alerts", "suspects"} {
			if _, ok := detail[k].([]any); !ok {
				t.Fatalf("%s is not a list: %v", k, detail[k])
			}
		}
	})
}

func TestBadRequestsChangeNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		code, inc := e.do("POST", "/api/v1/incidents", e.admin, `{"title":"seed","severity":"sev3"}`)
		if code != http.StatusCreated {
			t.Fatalf("seed: %d %v", code, inc)
		}
		id := itoa(int(inc["id"].(float64)))
		if code, _ := e.do("POST", "/api/v1/incidents/"+id+"/resolve", e.admin, ""); code != http.StatusOK {
			t.Fatalf("resolve: %d", code)
		}
		incidentsBefore, eventsBefore := e.count("incidents"), e.count("timeline_events")
		cases := []struct {
			name, method, path, token, body string
			code                            int
			msg                             string
		}{
			{"invalid JSON", "POST", "/api/v1/incidents", e.admin, `{"title":`, 400, "JSON"},
			{"not an object", "POST", "/api/v1/incidents", e.admin, `[1,2]`, 400, "JSON"},
			{"unknown field", "POST", "/api/v1/incidents", e.admin, `{"title":"x","severity":"sev1","colour":"red"}`, 400, "colour"},
			{"wrong type", "POST", "/api/v1/incidents", e.admin, `{"title":42,"severity":"sev1"}`, 400, "title"},
			{"unknown severity", "POST", "/api/v1/incidents", e.admin, `{"title":"x","severity":"sev9"}`, 400, "sev9"},
			{"empty title", "POST", "/api/v1/incidents", e.admin, `{"title":"  ","severity":"sev1"}`, 400, "title"},
			{"huge title", "POST", "/api/v1/incidents", e.admin, `{"title":"` + strings.Repeat("x", 10000) + `","severity":"sev1"}`, 400, "title"},
			{"bad time", "POST", "/api/v1/incidents", e.admin, `{"title":"x","severity":"sev1","impact_started_at":"yesterday"}`, 400, "RFC 3339"},
			{"trailing data", "POST", "/api/v1/incidents", e.admin, `{"title":"x","severity":"sev1"} {}`, 400, "after"},
			{"body over the limit", "POST", "/api/v1/incidents", e.admin, `{"title":"x","severity":"sev1","summary":"` + strings.Repeat("y", 70<<10) + `"}`, 413, "larger"},
			{"id not a number", "POST", "/api/v1/incidents/abc/acknowledge", e.admin, "", 400, "abc"},
			{"unknown incident", "POST", "/api/v1/incidents/999999/acknowledge", e.admin, "", 404, "999999"},
			{"unknown action", "POST", "/api/v1/incidents/" + id + "/explode", e.admin, "", 404, "explode"},
			{"resolve a resolved incident", "POST", "/api/v1/incidents/" + id + "/resolve", e.admin, "", 409, "resolved"},
			{"acknowledge a resolved incident", "POST", "/api/v1/incidents/" + id + "/acknowledge", e.admin, "", 409, "resolved"},
			{"empty note", "POST", "/api/v1/incidents/" + id + "/notes", e.admin, `{"text":""}`, 400, "text"},
			{"no token", "POST", "/api/v1/incidents", "", `{"title":"x","severity":"sev1"}`, 401, "token"},
			{"bad token", "POST", "/api/v1/incidents", "fb_forged", `{"title":"x","severity":"sev1"}`, 401, "token"},
			{"read scope cannot write", "POST", "/api/v1/incidents", e.reader, `{"title":"x","severity":"sev1"}`, 403, "incidents:write"},
			{"alerts scope cannot write incidents", "POST", "/api/v1/incidents/" + id + "/reopen", e.alerts, "", 403, "incidents:write"},
			{"alerts scope cannot read", "GET", "/api/v1/incidents", e.alerts, "", 403, "read"},
			{"unknown status filter", "GET", "/api/v1/incidents?status=sleeping", e.admin, "", 400, "sleeping"},
			{"bad limit", "GET", "/api/v1/incidents?limit=5000", e.admin, "", 400, "limit"},
			{"bad group_by", "GET", "/api/v1/metrics/mttr?group_by=team", e.admin, "", 400, "team"},
			{"NUL in a title", "POST", "/api/v1/incidents", e.admin, `{"title":"a\u0000b","severity":"sev1"}`, 400, "NUL"},
			{"NUL in a note", "POST", "/api/v1/incidents/" + id + "/notes", e.admin, `{"text":"a\u0000b"}`, 400, "NUL"},
			{"impact before 1970", "POST", "/api/v1/incidents", e.admin, `{"title":"x","severity":"sev1","impact_started_at":"0000-01-01T00:00:00Z"}`, 400, "1970"},
			{"since overflowing", "GET", "/api/v1/incidents?since=99999999999d", e.admin, "", 400, "since"},
			{"since at year one", "GET", "/api/v1/metrics/mttr?since=0001-01-01T00:00:00Z", e.admin, "", 400, "1970"},
		}
		for _, c := range cases {
			code, body := e.do(c.method, c.path, c.token, c.body)
			msg, _ := body["error"].(string)
			if code != c.code || !strings.Contains(msg, c.msg) {
				t.Errorf("%s: got %d %q, want %d with %q", c.name, code, msg, c.code, c.msg)
			}
		}
		if n := e.count("incidents"); n != incidentsBefore {
			t.Errorf("incidents went from %d to %d", incidentsBefore, n)
		}
		if n := e.count("timeline_events"); n != eventsBefore {
			t.Errorf("timeline events went from %d to %d", eventsBefore, n)
		}
	})
}

func TestListFiltersAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		for i := 0; i < 7; i++ {
			svc := "checkout"
			if i%2 == 1 {
				svc = "search"
			}
			code, _ := e.do("POST", "/api/v1/incidents", e.admin, `{"title":"t`+itoa(i)+`","severity":"sev2","service":"`+svc+`"}`)
			if code != http.StatusCreated {
				t.Fatal(code)
			}
		}
		seen := map[float64]bool{}
		cursor := ""
		var pages int
		for {
			path := "/api/v1/incidents?service=checkout&limit=3"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			code, page := e.do("GET", path, e.reader, "")
			if code != 200 {
				t.Fatal(code, page)
			}
			pages++
			prev := 1e18
			for _, it := range page["incidents"].([]any) {
				m := it.(map[string]any)
				id := m["id"].(float64)
				if m["service"] != "checkout" || seen[id] || id >= prev {
					t.Fatalf("page %d: %v (seen %v)", pages, m, seen)
				}
				seen[id], prev = true, id
			}
			next, _ := page["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != 4 || pages != 2 {
			t.Fatalf("walked %d checkout incidents over %d pages, want 4 over 2", len(seen), pages)
		}
		code, open := e.do("GET", "/api/v1/incidents?status=open&severity=sev2", e.reader, "")
		if code != 200 || len(open["incidents"].([]any)) != 7 {
			t.Fatalf("open list: %d %v", code, open)
		}
		code, either := e.do("GET", "/api/v1/incidents?status=open,resolved", e.reader, "")
		if code != 200 || len(either["incidents"].([]any)) != 7 {
			t.Fatalf("open or resolved: %d %v", code, either)
		}
	})
}

func TestHealthReadyAndMetricsNeedNoToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		e.do("POST", "/api/v1/incidents", e.admin, `{"title":"x","severity":"sev1"}`)
		for _, p := range []string{"/-/healthy", "/-/ready"} {
			if code, _ := e.do("GET", p, "", ""); code != 200 {
				t.Fatalf("%s: %d", p, code)
			}
		}
		req := httptest.NewRequest("GET", "/metrics", nil)
		resp, err := e.srv.App().Test(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		for _, want := range []string{`firebreak_open_incidents{severity="sev1"} 1`, `firebreak_http_requests_total{code="201",method="POST",route="/api/v1/incidents"} 1`, "firebreak_http_request_duration_seconds_bucket"} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
		db.Close()
		if code, _ := e.do("GET", "/-/ready", "", ""); code != http.StatusServiceUnavailable {
			t.Fatalf("ready with the database closed: %d, want 503", code)
		}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestBasicAuthCarriesTheTokenAsPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		for _, c := range []struct {
			password string
			code     int
		}{{e.reader, 200}, {"wrong", 401}} {
			req := httptest.NewRequest("GET", "/api/v1/incidents", nil)
			req.SetBasicAuth("alertmanager", c.password)
			resp, err := e.srv.App().Test(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.code {
				t.Errorf("basic auth with %q: %d, want %d", c.password, resp.StatusCode, c.code)
			}
		}
	})
}
