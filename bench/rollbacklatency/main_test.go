package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"firebreak/bench/internal/serve"
	"firebreak/notify/webhook"
)

// TestFiveIncidentsSQLite builds firebreak and runs the benchmark's core with five
// incidents on SQLite: five alerts, five validly signed hook calls with the right keys and
// bodies, nothing refused or repeated. So `go test ./...` notices when the rollback flow,
// `firebreak serve`'s start-up or the benchmark itself stops working.
func TestFiveIncidentsSQLite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log bytes.Buffer
	o, err := parseFlags([]string{"-db", "sqlite", "-incidents", "5", "-concurrency", "2", "-timeout", "2m"}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if o.bin, err = serve.Build(ctx, t.TempDir(), "rollbacklatency", &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	r, err := measure(ctx, o)
	if err != nil {
		t.Fatalf("measure: %v\n%s", err, log.String())
	}
	if err := r.problem(); err != nil {
		t.Errorf("run had problems: %v; samples %q; refused %q", err, r.samples, r.recv.problems)
	}
	if len(r.total) != 5 || r.recv.valid != 5 {
		t.Errorf("%d incidents got their hook call, receiver saw %d valid calls; want 5 and 5", len(r.total), r.recv.valid)
	}
	if r.recv.rejected != 0 {
		t.Errorf("receiver refused %d calls: %q", r.recv.rejected, r.recv.problems)
	}
	for i, d := range r.total {
		if d <= 0 || d > o.wait {
			t.Errorf("latency %d is %s, want between 0 and %s", i, d, o.wait)
		}
	}
	var out bytes.Buffer
	printResult(&out, o, r)
	if !strings.Contains(out.String(), "hooks called 5 of 5; failures 0") {
		t.Errorf("printed figures do not say 5 of 5 hooks:\n%s", out.String())
	}
}

// TestReceiverChecksSignatures sends the receiver a call signed with the right secret by
// Firebreak's own webhook client, one with a wrong secret and the right one again: the
// wrong one is refused and the repeat is counted as a duplicate.
func TestReceiverChecksSignatures(t *testing.T) {
	secret := []byte("right secret")
	rc, err := startReceiver(secret)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.close()
	body := []byte(`{"action":"rollback","incident":{"id":7,"severity":"sev1"},"service":"svc-0","environment":"prod",` +
		`"deploy":{"id":3},"rollback_from":"v2","rollback_to":"v1"}`)
	headers := map[string]string{"Idempotency-Key": idempotencyKey(7, 3)}
	ctx := context.Background()
	client := webhook.NewClient()
	if resp, _, err := client.Post(ctx, rc.url, []byte("wrong secret"), body, headers, 5*time.Second); err == nil || resp.Status != http.StatusUnauthorized {
		t.Errorf("wrongly signed call: status %d, err %v; want 401", resp.Status, err)
	}
	if _, _, err := client.Post(ctx, rc.url, secret, body, headers, 5*time.Second); err != nil {
		t.Fatalf("rightly signed call: %v", err)
	}
	c := rc.wait(ctx, idempotencyKey(7, 3), time.Now().Add(time.Second))
	if c == nil || c.body.Service != "svc-0" || c.body.RollbackTo == nil || *c.body.RollbackTo != "v1" {
		t.Fatalf("call not recorded as expected: %+v", c)
	}
	if _, _, err := client.Post(ctx, rc.url, secret, body, headers, 5*time.Second); err != nil {
		t.Fatalf("repeated call: %v", err)
	}
	s := rc.stats(map[string]bool{idempotencyKey(7, 3): true})
	if s.valid != 2 || s.rejected != 1 || s.duplicates != 1 || s.unexpected != 0 || len(s.repeats) != 1 {
		t.Errorf("stats %+v, want 2 valid, 1 rejected, 1 duplicate described", s)
	}
	if s := rc.stats(nil); s.unexpected != 1 {
		t.Errorf("a key nobody waited for: %d unexpected, want 1", s.unexpected)
	}
}

func TestParseFlagsBounds(t *testing.T) {
	for _, args := range [][]string{
		{"-incidents", "0"}, {"-incidents", "100000"}, {"-concurrency", "0"}, {"-concurrency", "1000"},
		{"-db", "mysql"}, {"-db", "both"}, {"-background-senders", "-1"}, {"-background-senders", "1000"}, {"-wait", "0s"}, {"-wait", "2h"}, {"-timeout", "0s"}, {"extra"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted it", args)
		}
	}
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.db != "sqlite" || o.incidents != 200 || o.concurrency != 1 || o.wait != 10*time.Second || o.backgroundSenders != 0 {
		t.Errorf("defaults: %s, %d incidents, concurrency %d, wait %s; want sqlite, 200, 1, 10s", o.db, o.incidents, o.concurrency, o.wait)
	}
}

// TestBackgroundMixSQLite measures five incidents while two senders post the alert mix to
// the same server: every hook call still arrives, the background traffic was answered
// (new + deduplicated + resolved = the alerts it got 200s for) and the figures say so.
func TestBackgroundMixSQLite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var log bytes.Buffer
	o, err := parseFlags([]string{"-db", "sqlite", "-incidents", "5", "-background-senders", "2", "-timeout", "2m"}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if o.bin, err = serve.Build(ctx, t.TempDir(), "rollbacklatency", &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	r, err := measure(ctx, o)
	if err != nil {
		t.Fatalf("measure: %v\n%s", err, log.String())
	}
	if err := r.problem(); err != nil {
		t.Errorf("run had problems: %v; samples %q", err, r.samples)
	}
	bg := r.background
	if bg == nil || bg.Alerts == 0 || bg.ErrorCount() != 0 {
		t.Fatalf("background traffic: %+v", bg)
	}
	if a := bg.Answered; a.Received != bg.Alerts || a.New+a.Deduplicated+a.Resolved != bg.Alerts || a.Deduplicated == 0 {
		t.Errorf("background answers %+v do not add up to the %d alerts answered 200 (with repeats among them)", a, bg.Alerts)
	}
	if len(r.total) != 5 {
		t.Errorf("%d of 5 hook calls arrived beside the background traffic", len(r.total))
	}
	var out bytes.Buffer
	printResult(&out, o, r)
	for _, want := range []string{"background alert mix (2 senders", "summary rollback-sqlite-background: alert → hook p50", "with the alert mix at full speed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed figures lack %q:\n%s", want, out.String())
		}
	}
}

// TestBackgroundServicesAreNotMeasured checks that no group of the background traffic is
// on a measured service: an alert of it would open the measured service's incident before
// its deploy, and the rollback would never come.
func TestBackgroundServicesAreNotMeasured(t *testing.T) {
	gens, err := backgroundGenerators(16)
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for _, g := range gens {
		for _, key := range g.GroupKeys() {
			keys++
			for i := range maxIncidents {
				if strings.Contains(key, fmt.Sprintf("service=%q", serviceName(i))) {
					t.Fatalf("background group %s is on measured service %s", key, serviceName(i))
				}
			}
		}
	}
	if keys != backgroundGroups {
		t.Fatalf("%d background groups, want %d", keys, backgroundGroups)
	}
}
