package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"firebreak/bench/alertload/mix"
	"firebreak/bench/internal/pgschema"
	"firebreak/store/storetest"
)

// TestDecodeOnlyShortRun runs the decode-only phase for a moment: the generated payloads
// pass alerts.Decode (any 400 would count as an error) and the figures add up.
func TestDecodeOnlyShortRun(t *testing.T) {
	o, err := parseFlags([]string{"-senders", "2", "-groups", "4", "-warm", "10", "-duration", "300ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	st, err := measureDecodeOnly(context.Background(), o, "test")
	if err != nil {
		t.Fatal(err)
	}
	if st.ErrorCount() != 0 {
		t.Fatalf("decode-only answered errors: %v %v", st.Errors, st.Samples)
	}
	if st.Requests == 0 || st.Alerts != st.Requests*10 || int64(len(st.Latencies)) != st.Requests {
		t.Fatalf("requests %d, alerts %d, latencies %d: want alerts = 10 × requests = latencies × 10", st.Requests, st.Alerts, len(st.Latencies))
	}
	if st.Sent.Alerts < st.Alerts || st.Elapsed < 300*time.Millisecond {
		t.Fatalf("sent %d alerts, acknowledged %d, in %s", st.Sent.Alerts, st.Alerts, st.Elapsed)
	}
}

func TestParseFlagsRefusesNonsense(t *testing.T) {
	for _, args := range [][]string{
		{"-db", "mysql"},
		{"-senders", "0"},
		{"-senders", "16", "-groups", "8"},
		{"-duration", "11m"},
		{"-per-request", "20", "-warm", "10"},
		{"-prefill", "-1"},
		{"-mix", "chaos"},
		{"-storm", "100", "-storm-groups", "200"},
		{"-storm", "1000", "-prefill", "10"},
		{"-alertmanager", "/nonexistent/alertmanager"},
		{"-db", "postgres", "-twins", "-storm", "1000"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%s) accepted it", strings.Join(args, " "))
		}
	}
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.senders != 16 || o.perRequest != 10 || o.duration != 10*time.Second || o.groups != 200 || o.prefill != 0 || o.db != "sqlite" ||
		o.mix != mix.Default || o.storm != 0 || o.stormGroups != 200 || o.alertmanager != "" {
		t.Fatalf("defaults are not the issue's: %+v", o)
	}
	if o, err := parseFlags([]string{"-mix", "new"}, io.Discard); err != nil || o.mix != mix.AllNew || o.label() != "sqlite-new" {
		t.Fatalf("-mix new: %+v, %v", o, err)
	}
}

// TestTwinsShortRun runs the HA twin load for a moment against two real replicas on
// PostgreSQL: both take every payload, and their answers add up (runTwins checks it).
func TestTwinsShortRun(t *testing.T) {
	pg := os.Getenv(storetest.PostgresURLEnv)
	if pg == "" {
		t.Skip("needs PostgreSQL: " + storetest.PostgresURLEnv + " is not set")
	}
	t.Setenv(pgschema.URLEnv, pg)
	var out strings.Builder
	err := run(context.Background(), []string{"-db", "postgres", "-twins", "-senders", "2", "-groups", "4", "-warm", "10",
		"-duration", "500ms"}, &out, io.Discard)
	if err != nil {
		t.Fatalf("twins: %v\n%s", err, out.String())
	}
	for _, want := range []string{"replica-a", "replica-b", "result target=twins-postgres", "errors=0"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
}
