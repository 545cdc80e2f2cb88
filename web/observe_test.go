package web_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/metrics"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// scrape reads /metrics of srv.
func scrape(t *testing.T, srv *web.Server) string {
	t.Helper()
	resp, err := srv.App().Test(httptest.NewRequest("GET", "/metrics", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	return string(raw)
}

// TestRefusedAndUnavailableNotificationsAreCounted: a notification refused as malformed
// counts its alerts as refused and leaves a debug line saying why; one answered 503 (the
// write queue closed) counts as unavailable. Both show on /metrics.
func TestRefusedAndUnavailableNotificationsAreCounted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := tokens.NewStore(db, time.Now)
		tok, err := ts.Create(context.Background(), "am", []tokens.Scope{tokens.AlertsWrite})
		if err != nil {
			t.Fatal(err)
		}
		m := incidents.NewManager(db, time.Now)
		gc := store.NewGroupCommitter(db, 1, 16, 16, nil)
		t.Cleanup(gc.Close)
		reg := prometheus.NewRegistry()
		logs := &lockedBuffer{}
		srv := web.New(web.Deps{DB: db, Incidents: m, Auth: ts, Alerts: alerts.NewIngester(db, m, gc, alerts.Options{}),
			Registry: reg, Metrics: metrics.New(reg, nil),
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		post := func(body string) int {
			req := httptest.NewRequest("POST", "/api/v1/alerts/alertmanager", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := srv.App().Test(req, 10000)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		before := scrape(t, srv)
		for _, want := range []string{`firebreak_alerts_received_total{result="refused"} 0`, `firebreak_alertmanager_notifications_unavailable_total 0`} {
			if !strings.Contains(before, want) {
				t.Errorf("before any notification, /metrics lacks %s", want)
			}
		}
		v3 := strings.Replace(firingPayload, `"version":"4"`, `"version":"3"`, 1)
		v3 = strings.Replace(v3, `"alerts":[{`, `"alerts":[{"status":"firing","labels":{"alertname":"Other"},"startsAt":"2026-11-23T10:00:00Z"},{`, 1)
		if code := post(v3); code != http.StatusBadRequest {
			t.Fatalf("version 3 payload: %d, want 400", code)
		}
		if code := post(firingPayload); code != http.StatusOK {
			t.Fatalf("well-formed payload: %d", code)
		}
		gc.Close()
		if code := post(firingPayload); code != http.StatusServiceUnavailable {
			t.Fatalf("with the write queue closed: %d, want 503", code)
		}
		after := scrape(t, srv)
		for _, want := range []string{
			`firebreak_alerts_received_total{result="refused"} 2`,
			`firebreak_alertmanager_notifications_unavailable_total 1`,
		} {
			if !strings.Contains(after, want) {
				t.Errorf("/metrics lacks %s:\n%s", want, grepLines(after, "firebreak_al"))
			}
		}
		out := logs.String()
		if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "refused as malformed") || !strings.Contains(out, `version \"3\"`) ||
			!strings.Contains(out, "alerts=2") {
			t.Errorf("no debug line naming the refusal's reason and alerts:\n%s", out)
		}
	})
}

// TestIncidentSaysWhetherDeploysAreKnown: an incident of a service and environment with no
// deploy on record answers deploys_known false and says so on its timeline; once CI records
// a deploy of them, deploys_known is true.
func TestIncidentSaysWhetherDeploysAreKnown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newDeployAPI(t, db)
		code, _, inc := a.do("POST", "/api/v1/incidents", a.oncall, `{"title":"Checkout is failing","severity":"sev2","service":"checkout","environment":"prod"}`)
		if code != http.StatusCreated {
			t.Fatalf("declare: %d %v", code, inc)
		}
		path := "/api/v1/incidents/" + itoa(int(inc["id"].(float64)))
		code, _, detail := a.do("GET", path, a.reader, "")
		if code != http.StatusOK || detail["deploys_known"] != false {
			t.Fatalf("before any deploy: %d deploys_known=%v", code, detail["deploys_known"])
		}
		said := false
		for _, ev := range detail["timeline"].([]any) {
			ev := ev.(map[string]any)
			if ev["kind"] == "no_deploy_recorded" && strings.Contains(ev["text"].(string), "No deploy of checkout in prod has been recorded") {
				said = true
			}
		}
		if !said {
			t.Fatalf("the timeline does not say no deploy is on record: %v", detail["timeline"])
		}
		if code, _, d := a.do("POST", "/api/v1/deploys", a.ci, `{"service":"checkout","environment":"prod","version":"1.4.3"}`); code != http.StatusCreated {
			t.Fatalf("record deploy: %d %v", code, d)
		}
		if _, _, detail = a.do("GET", path, a.reader, ""); detail["deploys_known"] != true {
			t.Fatalf("after a deploy was recorded: deploys_known=%v", detail["deploys_known"])
		}
	})
}
