package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"firebreak/bench/internal/alertsend"
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

// TestStormShortRunSQLite sends a small storm, then its end, to decode-only and to a real
// `firebreak serve` on SQLite: every alert of the storm is answered as new and every alert
// of the end as resolved (runStorm fails otherwise), and the summaries say so.
func TestStormShortRunSQLite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out strings.Builder
	err := run(ctx, []string{"-bin", buildFirebreak(t), "-db", "sqlite", "-storm", "600", "-storm-groups", "12", "-senders", "4"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("storm: %v\n%s", err, out.String())
	}
	storm, end, ok := strings.Cut(out.String(), "the storm ends: 600 resolves over 12 groups")
	if !ok {
		t.Fatalf("output lacks the storm's end:\n%s", out.String())
	}
	for _, want := range []string{"decode-only", "firebreak-sqlite", "received 600 = new 600", "all 600 stored as new: met",
		"result target=firebreak-sqlite run=sqlite-storm alerts=600 stored=600", "summary sqlite-storm: firebreak 600 alerts in"} {
		if !strings.Contains(storm, want) {
			t.Fatalf("the storm's output lacks %q:\n%s", want, out.String())
		}
	}
	for _, want := range []string{"decode-only", "firebreak-sqlite", "received 600 = new 0 + deduplicated 0 + resolved 600",
		"all 600 resolved: met", "result target=firebreak-sqlite run=sqlite-storm-end alerts=600 resolved=600",
		"summary sqlite-storm-end: firebreak 600 resolves in"} {
		if !strings.Contains(end, want) {
			t.Fatalf("the end's output lacks %q:\n%s", want, out.String())
		}
	}
	// Both tables count every alert answered, none lost.
	rows := regexp.MustCompile(`(?m)^\s+(decode-only|firebreak-sqlite)\s+(\d+)\s.*\s(\d+)\s+(\d+)\s+\S+\s+\S+\s*$`).FindAllStringSubmatch(out.String(), -1)
	if len(rows) != 4 {
		t.Fatalf("want a decode-only and a firebreak-sqlite row in each table, found %d rows:\n%s", len(rows), out.String())
	}
	for _, r := range rows {
		if r[2] != "600" || r[4] != "0" {
			t.Fatalf("%s answered %s alerts and lost %s notifications; want 600 and none:\n%s", r[1], r[2], r[4], out.String())
		}
	}
}

// TestStormEndPrintsAlertmanagerBesideFirebreak prints an end in which Firebreak resolved one
// alert too few: it says so, and the ratio and Alertmanager's figures reach the result and
// summary lines.
func TestStormEndPrintsAlertmanagerBesideFirebreak(t *testing.T) {
	o, err := parseFlags([]string{"-storm", "1000", "-storm-groups", "10"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	result := func(target string, elapsed time.Duration, resolved int64) *stormResult {
		st := &alertsend.Stats{Tally: alertsend.Tally{Alerts: 1000, Requests: 10, Answered: alertsend.Answer{Received: 1000, Resolved: resolved}},
			Elapsed: elapsed}
		return &stormResult{stats: &stats{Stats: st, target: target, hwm: 64 << 20}}
	}
	fb, am := result("firebreak-sqlite", time.Second, 999), result("alertmanager", 2*time.Second, 0)
	am.amCounted = &amCounts{firing: 1000, resolved: 1000}
	var out strings.Builder
	printStormEnd(&out, o, result("decode-only", time.Second/10, 0), fb, am)
	for _, want := range []string{"the storm ends: 1000 resolves over 10 groups", "all 1000 resolved: NOT met",
		"received 2000 = firing 1000 (the storm) + resolved 1000, invalid 0; all 1000 resolves taken: met",
		"ratio firebreak ÷ alertmanager alerts/s: 2.000",
		"result target=firebreak-sqlite run=sqlite-storm-end alerts=1000 resolved=999 seconds=1.000 alerts_per_sec=1000.0",
		"am_seconds=2.000 am_alerts_per_sec=500.0 am_rss_mib=64.0 am_ratio=2.000",
		"summary sqlite-storm-end: firebreak 1000 resolves in 1.00 s (1000 alerts/s, 999 resolved, peak RSS 64.0 MiB); alertmanager 2.00 s"} {
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
