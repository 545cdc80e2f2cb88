package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

// deployAPI is the server with deploys and rollbacks wired as serve wires them, a running
// outbox, a deployer that counts rollback calls, and one token per kind of caller.
type deployAPI struct {
	t   *testing.T
	db  *store.DB
	srv *web.Server
	// ci records deploys; oncall handles incidents; reader only reads.
	ci, oncall, reader string

	mu       sync.Mutex
	rollKeys []string
}

func newDeployAPI(t *testing.T, db *store.DB) *deployAPI {
	t.Helper()
	ctx := context.Background()
	a := &deployAPI{t: t, db: db}
	deployer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.rollKeys = append(a.rollKeys, r.Header.Get("Idempotency-Key"))
		a.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(deployer.Close)

	ts := tokens.NewStore(db, time.Now)
	mk := func(name string, s ...tokens.Scope) string {
		tok, err := ts.Create(ctx, name, s)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	a.ci, a.oncall, a.reader = mk("ci", tokens.DeploysWrite), mk("carol", tokens.IncidentsWrite, tokens.Read), mk("dashboard", tokens.Read)

	m := incidents.NewManager(db, time.Now)
	ob := outbox.New(db, outbox.Options{BaseBackoff: 5 * time.Millisecond, Poll: 10 * time.Millisecond, MaxAttempts: 5})
	hooks := map[string]deploys.Hook{"checkout": {Policy: deploys.PolicyConfirm, MinSeverity: incidents.Sev2,
		WebhookURL: deployer.URL + "/rollback", Secret: []byte("s3cret"), Timeout: 5 * time.Second}}
	actions := map[string]map[string]deploys.Hook{"checkout": {deploys.ActionDisableFlag: {Policy: deploys.PolicyConfirm,
		MinSeverity: incidents.Sev2, WebhookURL: deployer.URL + "/flags", Secret: []byte("s3cret"), Timeout: 5 * time.Second}}}
	rb := deploys.NewRemedies(db, m, ob, hooks, actions, "http://firebreak.test")
	tr := deploys.NewTracker(db, m, 30*time.Minute, rb)
	m.OnChange(tr.OnIncidentChange)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ob.Run(runCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	a.srv = web.New(web.Deps{DB: db, Incidents: m, Deploys: tr, Rollbacks: rb, Auth: ts, MaxBodyBytes: 64 << 10})
	return a
}

// do sends a request and returns the status, the Location header and the decoded answer.
func (a *deployAPI) do(method, path, token, body string) (int, string, map[string]any) {
	a.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.srv.App().Test(req, 10000)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatalf("%s %s: answer is not a JSON object: %s", method, path, raw)
	}
	return resp.StatusCode, resp.Header.Get("Location"), out
}

func (a *deployAPI) count(table string) int {
	a.t.Helper()
	var n int
	if err := a.db.R.Get(&n, "SELECT COUNT(*) FROM "+table); err != nil {
		a.t.Fatal(err)
	}
	return n
}

func (a *deployAPI) rollbackCalls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.rollKeys...)
}

// keysOf lists a JSON object's keys, sorted.
func keysOf(v any) string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

const deployObjectKeys = "author,commit,description,environment,finished_at,flags,id,previous_version,reversible,service,stage,started_at,state,strategy,url,version,weight"

func rfc3339(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

func TestRecordDeployThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newDeployAPI(t, db)
		finished := time.Now().Add(-3 * time.Minute).UTC().Truncate(time.Second)
		body := `{"service":"checkout","environment":"prod","version":"1.4.2","previous_version":"1.4.1","commit":"abc123",
			"author":"alice","url":"https://ci.example.com/runs/42","description":"faster cart",
			"started_at":"` + rfc3339(finished.Add(-2*time.Minute)) + `","finished_at":"` + rfc3339(finished) + `"}`
		code, loc, d := a.do("POST", "/api/v1/deploys", a.ci, body)
		if code != http.StatusCreated {
			t.Fatalf("record: %d %v", code, d)
		}
		if keysOf(d) != deployObjectKeys {
			t.Fatalf("deploy object keys %s, want %s", keysOf(d), deployObjectKeys)
		}
		want := map[string]any{"service": "checkout", "environment": "prod", "version": "1.4.2", "previous_version": "1.4.1",
			"commit": "abc123", "author": "alice", "url": "https://ci.example.com/runs/42", "description": "faster cart",
			"started_at": rfc3339(finished.Add(-2 * time.Minute)), "finished_at": rfc3339(finished)}
		for k, v := range want {
			if d[k] != v {
				t.Errorf("%s = %v, want %v", k, d[k], v)
			}
		}
		id := strconv.Itoa(int(d["id"].(float64)))
		if loc != "/api/v1/deploys/"+id {
			t.Errorf("Location %q", loc)
		}
		code, _, got := a.do("GET", "/api/v1/deploys/"+id, a.reader, "")
		if code != http.StatusOK || keysOf(got) != deployObjectKeys || got["version"] != "1.4.2" || got["finished_at"] != d["finished_at"] {
			t.Fatalf("get: %d %v", code, got)
		}

		// Without finished_at, a deploy finished when Firebreak received it.
		before := time.Now().UTC().Add(-time.Second)
		code, _, bare := a.do("POST", "/api/v1/deploys", a.ci, `{"service":"search","version":"7"}`)
		if code != http.StatusCreated {
			t.Fatalf("bare deploy: %d %v", code, bare)
		}
		at, err := time.Parse(time.RFC3339, bare["finished_at"].(string))
		if err != nil || at.Before(before) || at.After(time.Now().Add(time.Second)) {
			t.Fatalf("finished_at %v, want about now", bare["finished_at"])
		}
		for _, k := range []string{"previous_version", "commit", "author", "url", "description", "started_at"} {
			if v, ok := bare[k]; !ok || v != nil {
				t.Errorf("%s = %v, want null", k, v)
			}
		}
		if code, _, got := a.do("GET", "/api/v1/deploys/999999", a.reader, ""); code != http.StatusNotFound {
			t.Fatalf("unknown deploy: %d %v", code, got)
		}
	})
}

func TestBadDeployRequestsStoreNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newDeployAPI(t, db)
		future := rfc3339(time.Now().Add(time.Hour))
		cases := []struct {
			name, token, body string
			code              int
			msg               string
		}{
			{"read-only token", a.reader, `{"service":"checkout","version":"1"}`, 403, "deploys:write"},
			{"incidents token", a.oncall, `{"service":"checkout","version":"1"}`, 403, "deploys:write"},
			{"no token", "", `{"service":"checkout","version":"1"}`, 401, "token"},
			{"bad JSON", a.ci, `{"service":"checkout",`, 400, "JSON"},
			{"empty body", a.ci, ``, 400, "empty"},
			{"unknown field", a.ci, `{"service":"checkout","version":"1","colour":"red"}`, 400, "colour"},
			{"wrong type", a.ci, `{"service":"checkout","version":1.5}`, 400, "version"},
			{"missing version", a.ci, `{"service":"checkout","environment":"prod"}`, 400, "version is required"},
			{"missing service", a.ci, `{"version":"1"}`, 400, "service is required"},
			{"bad time", a.ci, `{"service":"checkout","version":"1","finished_at":"yesterday"}`, 400, "RFC 3339"},
			{"finished in the future", a.ci, `{"service":"checkout","version":"1","finished_at":"` + future + `"}`, 400, "future"},
			{"started after finished", a.ci, `{"service":"checkout","version":"1","started_at":"2026-01-02T00:00:00Z","finished_at":"2026-01-01T00:00:00Z"}`, 400, "started_at"},
			{"huge description", a.ci, `{"service":"checkout","version":"1","description":"` + strings.Repeat("x", 10000) + `"}`, 400, "description"},
		}
		for _, c := range cases {
			code, _, body := a.do("POST", "/api/v1/deploys", c.token, c.body)
			msg, _ := body["error"].(string)
			if code != c.code || !strings.Contains(msg, c.msg) {
				t.Errorf("%s: got %d %q, want %d with %q", c.name, code, msg, c.code, c.msg)
			}
		}
		for _, q := range []string{"since=yesterday", "limit=0", "limit=5000", "cursor=abc"} {
			if code, _, body := a.do("GET", "/api/v1/deploys?"+q, a.reader, ""); code != 400 {
				t.Errorf("GET ?%s: %d %v, want 400", q, code, body)
			}
		}
		if code, _, _ := a.do("GET", "/api/v1/deploys", a.ci, ""); code != 403 {
			t.Errorf("deploys:write alone may list deploys: %d", code)
		}
		if n := a.count("deploys"); n != 0 {
			t.Fatalf("%d deploys stored by bad requests", n)
		}
	})
}

func TestListDeploysThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newDeployAPI(t, db)
		now := time.Now()
		for i, s := range []struct {
			svc, env string
			ago      time.Duration
		}{
			{"checkout", "prod", 5 * time.Hour}, {"checkout", "staging", 90 * time.Minute}, {"search", "prod", time.Hour},
			{"checkout", "prod", 50 * time.Minute}, {"checkout", "prod", 20 * time.Minute}, {"checkout", "prod", 10 * time.Minute},
		} {
			body := `{"service":"` + s.svc + `","environment":"` + s.env + `","version":"v` + strconv.Itoa(i) +
				`","finished_at":"` + rfc3339(now.Add(-s.ago)) + `"}`
			if code, _, d := a.do("POST", "/api/v1/deploys", a.ci, body); code != 201 {
				t.Fatalf("record: %d %v", code, d)
			}
		}
		list := func(query string) ([]map[string]any, any) {
			t.Helper()
			code, _, page := a.do("GET", "/api/v1/deploys?"+query, a.reader, "")
			if code != 200 || keysOf(page) != "deploys,next_cursor" {
				t.Fatalf("GET ?%s: %d %v", query, code, page)
			}
			var out []map[string]any
			for _, d := range page["deploys"].([]any) {
				out = append(out, d.(map[string]any))
			}
			return out, page["next_cursor"]
		}
		versions := func(ds []map[string]any) string {
			var vs []string
			for _, d := range ds {
				vs = append(vs, d["version"].(string))
			}
			return strings.Join(vs, " ")
		}
		if all, next := list(""); versions(all) != "v5 v4 v3 v2 v1 v0" || next != nil {
			t.Fatalf("all: %s, next %v", versions(all), next)
		}
		if got, _ := list("service=checkout&env=prod"); versions(got) != "v5 v4 v3 v0" {
			t.Fatalf("checkout prod: %s", versions(got))
		}
		if got, _ := list("service=checkout&environment=staging"); versions(got) != "v1" {
			t.Fatalf("checkout staging: %s", versions(got))
		}
		if got, _ := list("service=checkout&since=" + rfc3339(now.Add(-time.Hour))); versions(got) != "v5 v4 v3" {
			t.Fatalf("checkout since an hour ago: %s", versions(got))
		}
		if got, _ := list("service=checkout&since=2h"); versions(got) != "v5 v4 v3 v1" {
			t.Fatalf("checkout since=2h: %s", versions(got))
		}
		if got, next := list("service=payments"); len(got) != 0 || next != nil {
			t.Fatalf("payments: %v %v", got, next)
		}
		code, _, empty := a.do("GET", "/api/v1/deploys?service=payments", a.reader, "")
		if code != 200 || empty["deploys"] == nil {
			t.Fatalf("an empty list must be [], not null: %v", empty)
		}

		var walked []string
		query := "service=checkout&limit=2"
		for pages := 1; ; pages++ {
			page, next := list(query)
			walked = append(walked, versions(page))
			if next == nil {
				break
			}
			cursor, ok := next.(string)
			if !ok || pages > 5 {
				t.Fatalf("next_cursor %v (%T)", next, next)
			}
			query = "service=checkout&limit=2&cursor=" + cursor
		}
		if got := strings.Join(walked, " | "); got != "v5 v4 | v3 v1 | v0" {
			t.Fatalf("pages: %s", got)
		}
	})
}

func TestIncidentShowsSuspectsAndRollbackRunsOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newDeployAPI(t, db)
		now := time.Now()
		code, _, d := a.do("POST", "/api/v1/deploys", a.ci, `{"service":"checkout","environment":"prod","version":"1.4.2",
			"previous_version":"1.4.1","author":"alice","commit":"abc123","finished_at":"`+rfc3339(now.Add(-5*time.Minute))+`"}`)
		if code != 201 {
			t.Fatalf("record: %d %v", code, d)
		}
		depID := int(d["id"].(float64))
		code, _, inc := a.do("POST", "/api/v1/incidents", a.oncall, `{"title":"Checkout is failing","severity":"sev1",
			"service":"checkout","environment":"prod","impact_started_at":"`+rfc3339(now.Add(-time.Minute))+`"}`)
		if code != 201 {
			t.Fatalf("declare: %d %v", code, inc)
		}
		path := "/api/v1/incidents/" + strconv.Itoa(int(inc["id"].(float64)))

		code, _, detail := a.do("GET", path, a.reader, "")
		if code != 200 {
			t.Fatalf("get: %d %v", code, detail)
		}
		suspects, _ := detail["suspects"].([]any)
		if len(suspects) != 1 {
			t.Fatalf("suspects %v", detail["suspects"])
		}
		s := suspects[0].(map[string]any)
		if keysOf(s) != "deploy,reason,score" || keysOf(s["deploy"]) != deployObjectKeys {
			t.Fatalf("suspect %v", s)
		}
		score, _ := s["score"].(float64)
		if s["deploy"].(map[string]any)["id"].(float64) != float64(depID) || !strings.Contains(s["reason"].(string), "4 min before") ||
			score <= 0 || score >= 1 {
			t.Fatalf("suspect %v", s)
		}
		var sawSuspected bool
		for _, ev := range detail["timeline"].([]any) {
			sawSuspected = sawSuspected || ev.(map[string]any)["kind"] == "deploy_suspected"
		}
		if !sawSuspected {
			t.Fatalf("timeline without deploy_suspected: %v", detail["timeline"])
		}

		// Asking for the rollback needs incidents:write; CI's token cannot.
		if code, _, _ := a.do("POST", path+"/rollback", a.ci, ""); code != http.StatusForbidden {
			t.Fatalf("rollback with deploys:write: %d, want 403", code)
		}
		code, _, rb := a.do("POST", path+"/rollback", a.oncall, "")
		if code != http.StatusAccepted || rb["status"] != "pending" || rb["deploy_id"].(float64) != float64(depID) || rb["requested_by"] != "carol" {
			t.Fatalf("first rollback: %d %v", code, rb)
		}
		code, _, again := a.do("POST", path+"/rollback", a.oncall, `{"deploy_id":`+strconv.Itoa(depID)+`}`)
		if msg, _ := again["error"].(string); code != http.StatusConflict || !strings.Contains(msg, "already requested") || !strings.Contains(msg, "carol") {
			t.Fatalf("second rollback: %d %v, want 409 saying it was already requested", code, again)
		}
		if code, _, got := a.do("POST", "/api/v1/incidents/999999/rollback", a.oncall, ""); code != http.StatusNotFound {
			t.Fatalf("rollback of an unknown incident: %d %v", code, got)
		}
		if code, _, got := a.do("POST", path+"/rollback", a.oncall, `{"deploy_id":999999}`); code != http.StatusNotFound {
			t.Fatalf("rollback of an unknown deploy: %d %v", code, got)
		}
		if code, _, got := a.do("POST", path+"/rollback", a.oncall, `{"deploy":1}`); code != http.StatusBadRequest {
			t.Fatalf("rollback with an unknown field: %d %v", code, got)
		}

		deadline := time.Now().Add(10 * time.Second)
		for {
			_, _, detail = a.do("GET", path, a.reader, "")
			rbs, _ := detail["rollbacks"].([]any)
			if len(rbs) == 1 && rbs[0].(map[string]any)["status"] == "succeeded" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rollback did not succeed: %v", detail["rollbacks"])
			}
			time.Sleep(10 * time.Millisecond)
		}
		// Read again: one GET reads the incident before its rollbacks, not in one snapshot.
		_, _, detail = a.do("GET", path, a.reader, "")
		// A rollback's success is a timeline line, not mitigation (PRODUCT.md "Incidents").
		if detail["status"] != "remediating" || detail["mitigated_at"] != nil {
			t.Fatalf("after the rollback: status %v, mitigated_at %v", detail["status"], detail["mitigated_at"])
		}
		time.Sleep(50 * time.Millisecond)
		if calls := a.rollbackCalls(); len(calls) != 1 || calls[0] != "rollback-"+strconv.Itoa(int(inc["id"].(float64)))+"-"+strconv.Itoa(depID) {
			t.Fatalf("deployer got %v, want one call", calls)
		}

		// A hotfix during the incident is shown apart from the suspects.
		if code, _, got := a.do("POST", "/api/v1/deploys", a.ci, `{"service":"checkout","environment":"prod","version":"1.4.3"}`); code != 201 {
			t.Fatalf("hotfix: %d %v", code, got)
		}
		_, _, detail = a.do("GET", path, a.reader, "")
		during, _ := detail["deploys_during"].([]any)
		if len(during) != 1 || len(detail["suspects"].([]any)) != 1 ||
			!strings.Contains(during[0].(map[string]any)["reason"].(string), "during the incident") {
			t.Fatalf("deploys_during %v, suspects %v", detail["deploys_during"], detail["suspects"])
		}
	})
}

func TestRollbackRefusalsThroughTheAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newDeployAPI(t, db)
		declare := func(svc string) string {
			t.Helper()
			code, _, inc := a.do("POST", "/api/v1/incidents", a.oncall, `{"title":"`+svc+` down","severity":"sev1","service":"`+svc+`","environment":"prod"}`)
			if code != 201 {
				t.Fatalf("declare: %d %v", code, inc)
			}
			return "/api/v1/incidents/" + strconv.Itoa(int(inc["id"].(float64)))
		}
		noSuspect := declare("checkout")
		code, _, body := a.do("POST", noSuspect+"/rollback", a.oncall, "")
		if msg, _ := body["error"].(string); code != http.StatusConflict || !strings.Contains(msg, "deploy_id") {
			t.Fatalf("no suspect: %d %v", code, body)
		}
		code, _, d := a.do("POST", "/api/v1/deploys", a.ci, `{"service":"search","environment":"prod","version":"9"}`)
		if code != 201 {
			t.Fatalf("record: %d %v", code, d)
		}
		noHook := declare("search")
		code, _, body = a.do("POST", noHook+"/rollback", a.oncall, `{"deploy_id":`+strconv.Itoa(int(d["id"].(float64)))+`}`)
		if msg, _ := body["error"].(string); code != http.StatusConflict || !strings.Contains(msg, "no rollback hook") {
			t.Fatalf("no hook: %d %v", code, body)
		}
		if n := a.count("rollbacks"); n != 0 {
			t.Fatalf("%d rollbacks after refusals", n)
		}
	})
}
