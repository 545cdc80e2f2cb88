package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"firebreak/config"
	"firebreak/internal/testkit"
)

// scrapeMetrics reads /metrics of a running App, as Prometheus would: no token.
func scrapeMetrics(t *testing.T, r *running) string {
	t.Helper()
	resp, err := http.Get(r.api.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, raw)
	}
	return string(raw)
}

// seriesAt returns the value line of a series (name with labels) in a scrape, or "" if it
// is missing.
func seriesAt(scrape, series string) string {
	for _, line := range strings.Split(scrape, "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" ")
		}
	}
	return ""
}

// alertBody is an Alertmanager notification of one checkout alert in env.
func alertBody(status, name, env string, startsAt, endsAt time.Time) string {
	ends := "0001-01-01T00:00:00Z"
	if !endsAt.IsZero() {
		ends = endsAt.Format(time.RFC3339)
	}
	return fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"%[2]s\"}","status":%[1]q,"receiver":"firebreak",
		"groupLabels":{"alertname":%[2]q},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager",
		"alerts":[{"status":%[1]q,"labels":{"alertname":%[2]q,"service":"checkout","env":%[3]q,"severity":"critical"},
		"annotations":{},"startsAt":%[4]q,"endsAt":%[5]q,"generatorURL":""}]}`, status, name, env, startsAt.Format(time.RFC3339), ends)
}

// TestMetricsTellHowFirebreakIsDoing: right after the start every series Firebreak defines
// is on /metrics at 0, so alerts on them work from the first scrape. Then an alert storm in
// miniature moves them: a new alert opens a sev1 incident and its automatic rollback
// succeeds; a repeat, a resolve, a late delivery, a resolve of an alert never seen and a
// malformed notification are each counted under their result; the incident resolves; group
// commit reports its batches.
func TestMetricsTellHowFirebreakIsDoing(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		cfg.Services = map[string]config.Service{"checkout": {Rollback: &config.Rollback{
			Policy: config.PolicyAuto, MinSeverity: "sev2", Timeout: config.Duration(time.Minute),
			Command: []string{"sh", "-c", "echo rolled back"},
		}}}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		r := startApp(t, cfg)
		start := scrapeMetrics(t, r)
		var atZero []string
		for _, v := range []string{"new", "duplicate", "resolved", "late", "refused"} {
			atZero = append(atZero, `firebreak_alerts_received_total{result="`+v+`"}`)
		}
		atZero = append(atZero, "firebreak_alertmanager_notifications_unavailable_total")
		for _, sev := range []string{"sev1", "sev2", "sev3", "sev4"} {
			atZero = append(atZero, `firebreak_incidents_opened_total{severity="`+sev+`"}`,
				`firebreak_incidents_resolved_total{severity="`+sev+`"}`, `firebreak_open_incidents{severity="`+sev+`"}`)
		}
		for _, action := range []string{"rollback", "abort_canary", "disable_flag"} {
			for _, o := range []string{"requested", "succeeded", "failed", "unknown", "cancelled"} {
				atZero = append(atZero, `firebreak_remedies_total{action="`+action+`",outcome="`+o+`"}`)
			}
		}
		atZero = append(atZero, `firebreak_outbox_retries_total{kind="rollback"}`, `firebreak_outbox_given_up_total{kind="rollback"}`,
			`firebreak_outbox_jobs{kind="rollback",state="waiting"}`, `firebreak_outbox_jobs{kind="rollback",state="in_flight"}`,
			`firebreak_outbox_oldest_waiting_seconds{kind="rollback"}`,
			"firebreak_group_commit_batch_size_count", "firebreak_group_commit_wait_seconds_count")
		for _, s := range atZero {
			if v := seriesAt(start, s); v != "0" {
				t.Errorf("right after the start, %s is %q, want 0", s, v)
			}
		}
		if t.Failed() {
			t.FailNow()
		}

		now := time.Now().UTC().Truncate(time.Second)
		if code, body := r.api.call("POST", "/api/v1/deploys", fmt.Sprintf(`{"service":"checkout","environment":"prod","version":"v2","previous_version":"v1","finished_at":%q}`,
			now.Add(-5*time.Minute).Format(time.RFC3339))); code != http.StatusCreated {
			t.Fatalf("record deploy: %d %v", code, body)
		}
		post := func(what, body string, want int) map[string]any {
			t.Helper()
			code, out := r.api.call("POST", "/api/v1/alerts/alertmanager", body)
			if code != want {
				t.Fatalf("%s: %d %v, want %d", what, code, out, want)
			}
			return out
		}
		firing := alertBody("firing", "CheckoutDown", "prod", now.Add(-time.Minute), time.Time{})
		opened := post("new alert", firing, http.StatusOK)
		ids, _ := opened["incidents"].([]any)
		if len(ids) != 1 {
			t.Fatalf("the alert opened %v", opened)
		}
		path := fmt.Sprintf("/api/v1/incidents/%d", int64(ids[0].(float64)))
		testkit.WaitFor(t, 30*time.Second, "the rollback to succeed", func() bool {
			_, inc := r.api.call("GET", path, "")
			rbs, _ := inc["rollbacks"].([]any)
			return len(rbs) == 1 && rbs[0].(map[string]any)["status"] == "succeeded"
		})
		post("repeat", firing, http.StatusOK)
		post("resolve", alertBody("resolved", "CheckoutDown", "prod", now.Add(-time.Minute), now), http.StatusOK)
		post("late delivery", firing, http.StatusOK)
		post("resolve of an alert never seen", alertBody("resolved", "NeverSeen", "prod", now.Add(-time.Hour), now), http.StatusOK)
		post("malformed", strings.Replace(firing, `"version":"4"`, `"version":"3"`, 1), http.StatusBadRequest)
		if _, inc := r.api.call("GET", path, ""); inc["status"] != "resolved" {
			t.Fatalf("incident %v after its alert resolved, want resolved (only automation touched it)", inc["status"])
		}

		after := scrapeMetrics(t, r)
		for s, want := range map[string]string{
			`firebreak_alerts_received_total{result="new"}`:                                               "1",
			`firebreak_alerts_received_total{result="duplicate"}`:                                         "1",
			`firebreak_alerts_received_total{result="resolved"}`:                                          "1",
			`firebreak_alerts_received_total{result="late"}`:                                              "2",
			`firebreak_alerts_received_total{result="refused"}`:                                           "1",
			`firebreak_incidents_opened_total{severity="sev1"}`:                                           "1",
			`firebreak_incidents_resolved_total{severity="sev1"}`:                                         "1",
			`firebreak_open_incidents{severity="sev1"}`:                                                   "0",
			`firebreak_remedies_total{action="rollback",outcome="requested"}`:                             "1",
			`firebreak_remedies_total{action="rollback",outcome="succeeded"}`:                             "1",
			`firebreak_remedies_total{action="rollback",outcome="failed"}`:                                "0",
			`firebreak_outbox_jobs{kind="rollback",state="waiting"}`:                                      "0",
			`firebreak_alertmanager_notifications_unavailable_total`:                                      "0",
			`firebreak_incidents_opened_total{severity="sev2"}`:                                           "0",
			`firebreak_remedies_total{action="abort_canary",outcome="requested"}`:                         "0",
			`firebreak_remedies_total{action="rollback",outcome="cancelled"}`:                             "0",
			`firebreak_outbox_given_up_total{kind="rollback"}`:                                            "0",
			`firebreak_http_requests_total{code="400",method="POST",route="/api/v1/alerts/alertmanager"}`: "1",
		} {
			if v := seriesAt(after, s); v != want {
				t.Errorf("after the story, %s is %q, want %s", s, v, want)
			}
		}
		// Every notification that needed the writer went through group commit: all but the
		// repeat, which is answered from memory (its count is written by the flusher).
		var batches, waits int
		// The repeat's count waits in memory for the flusher, or was written by it already.
		if v := seriesAt(after, "firebreak_alert_repeats_unwritten"); v != "0" && v != "1" {
			t.Errorf("firebreak_alert_repeats_unwritten is %q, want 0 or 1 (the one repeat)", v)
		}
		_, _ = fmt.Sscan(seriesAt(after, "firebreak_group_commit_batch_size_count"), &batches)
		_, _ = fmt.Sscan(seriesAt(after, "firebreak_group_commit_wait_seconds_count"), &waits)
		if batches < 1 || waits < 4 {
			t.Errorf("group commit reported %d batches and %d waits, want at least one batch and a wait per stored notification (4)", batches, waits)
		}
	})
}
