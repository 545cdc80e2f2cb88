package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

const firingPayload = `{"version":"4","groupKey":"{}:{alertname=\"Down\"}","status":"firing","receiver":"firebreak",
"alerts":[{"status":"firing","labels":{"alertname":"Down","service":"api","severity":"critical"},"annotations":{},
"startsAt":"2026-11-23T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"0123456789abcdef"}]}`

// TestWebhookAnswers503WhenTheDatabaseIsGone: Alertmanager retries 5xx and drops 4xx, so
// an outage on our side must read as "retry", never as the sender's fault.
func TestWebhookAnswers503WhenTheDatabaseIsGone(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ts := tokens.NewStore(db, time.Now)
		tok, err := ts.Create(context.Background(), "am", []tokens.Scope{tokens.AlertsWrite})
		if err != nil {
			t.Fatal(err)
		}
		m := incidents.NewManager(db, time.Now)
		gc := store.NewGroupCommitter(db, 1, 16, 16, nil)
		t.Cleanup(gc.Close)
		srv := web.New(web.Deps{DB: db, Incidents: m, Auth: ts, Alerts: alerts.NewIngester(db, m, gc, alerts.Options{})})
		post := func(payload string) (int, string, string) {
			req := httptest.NewRequest("POST", "/api/v1/alerts/alertmanager", strings.NewReader(payload))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := srv.App().Test(req, 10000)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header.Get("Retry-After"), string(body)
		}
		if code, _, body := post(firingPayload); code != http.StatusOK || !strings.Contains(body, `"new":1`) {
			t.Fatalf("first delivery: %d %s", code, body)
		}
		db.Close()
		// A new alert: a repeat of a stored one may be answered from memory (its count is
		// written within a second), a new one only once committed.
		code, retryAfter, body := post(strings.ReplaceAll(firingPayload, "0123456789abcdef", "fedcba9876543210"))
		if code != http.StatusServiceUnavailable || retryAfter == "" || !strings.Contains(body, "retry") {
			t.Fatalf("with the database closed: %d (Retry-After %q) %s, want 503 asking to retry", code, retryAfter, body)
		}
	})
}
