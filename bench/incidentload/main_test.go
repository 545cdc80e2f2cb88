package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunSQLiteBriefly builds firebreak, runs two clients against SQLite for a moment and
// checks the table, so the orchestration (token on stdout, /-/ready, SIGTERM) cannot rot
// unnoticed when `firebreak serve` changes.
func TestRunSQLiteBriefly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"-db", "sqlite", "-clients", "2", "-duration", "500ms", "-max-flows", "40"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("run: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	var row []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "sqlite" {
			row = f
		}
	}
	// db incidents/s requests/s p50 p99 p50 p99 incidents errors rss
	if len(row) != 10 {
		t.Fatalf("no sqlite row of 10 columns in:\n%s", out)
	}
	if row[7] == "0" {
		t.Errorf("no incident flow completed:\n%s", out)
	}
	if row[8] != "0" {
		t.Errorf("errors column is %s, want 0:\n%s", row[8], out)
	}
}

func TestParseFlagsBounds(t *testing.T) {
	for _, args := range [][]string{
		{"-clients", "0"}, {"-clients", "100000"}, {"-duration", "0s"}, {"-duration", "2h"},
		{"-db", "mysql"}, {"-max-flows", "0"}, {"extra"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted it", args)
		}
	}
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.clients != 16 || o.duration != 10*time.Second || len(o.dbs) != 2 {
		t.Errorf("defaults: %d clients, %s, %v; want 16, 10s, [sqlite postgres]", o.clients, o.duration, o.dbs)
	}
}
