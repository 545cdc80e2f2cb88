package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"firebreak/bench/internal/serve"
)

// buildFirebreak builds cmd/firebreak once for the test.
func buildFirebreak(t *testing.T) string {
	t.Helper()
	bin, err := serve.Build(context.Background(), t.TempDir(), "alertload_test", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestStormShortRunSQLite sends a small storm to decode-only and to a real `firebreak
// serve` on SQLite: every alert is answered as new (runStorm fails otherwise), and the
// summary says so.
func TestStormShortRunSQLite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out strings.Builder
	err := run(ctx, []string{"-bin", buildFirebreak(t), "-db", "sqlite", "-storm", "600", "-storm-groups", "12", "-senders", "4"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("storm: %v\n%s", err, out.String())
	}
	for _, want := range []string{"decode-only", "firebreak-sqlite", "received 600 = new 600", "all 600 stored as new: met",
		"result target=firebreak-sqlite run=sqlite-storm alerts=600 stored=600", "summary sqlite-storm: firebreak 600 alerts in"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestAllNewShortRunSQLite runs all-new traffic for a moment against a real `firebreak
// serve` on SQLite: Firebreak answers every acknowledged alert as new.
func TestAllNewShortRunSQLite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out strings.Builder
	err := run(ctx, []string{"-bin", buildFirebreak(t), "-db", "sqlite", "-mix", "new", "-senders", "2", "-groups", "4",
		"-warm", "10", "-duration", "400ms"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("all-new: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`firebreak-sqlite answered: received (\d+) = new (\d+) \+ deduplicated 0 \+ resolved 0`).FindStringSubmatch(out.String())
	if m == nil || m[1] != m[2] || m[1] == "0" {
		t.Fatalf("all-new traffic was not all answered as new:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "summary sqlite-new: firebreak") || !strings.Contains(out.String(), "0 repeats (0.0%)") {
		t.Fatalf("output lacks the summary or sent repeats:\n%s", out.String())
	}
}

// TestAlertmanagerMetricsCounted reads the counters of an Alertmanager /metrics page.
func TestAlertmanagerMetricsCounted(t *testing.T) {
	page := `# HELP alertmanager_alerts_received_total The total number of received alerts.
# TYPE alertmanager_alerts_received_total counter
alertmanager_alerts_received_total{status="firing",version="v2"} 1.2345e+06
alertmanager_alerts_received_total{status="resolved",version="v2"} 42
alertmanager_alerts_invalid_total{version="v2"} 3
alertmanager_alerts{state="active"} 999
alertmanager_alerts_received_totally_else 7
`
	var c amCounts
	found := false
	for _, line := range strings.Split(page, "\n") {
		c, found = addMetric(c, line, found)
	}
	if !found || c.firing != 1_234_500 || c.resolved != 42 || c.invalid != 3 {
		t.Fatalf("counted %+v (found %v), want firing 1234500, resolved 42, invalid 3", c, found)
	}
}
