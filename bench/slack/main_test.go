package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBenchmarkSmoke runs both measurements small on SQLite, so `go test ./...` exercises
// the code the published figures come from and fails if a message went missing.
func TestBenchmarkSmoke(t *testing.T) {
	var out, log bytes.Buffer
	err := run(context.Background(), []string{"-db", "sqlite", "-incidents", "5", "-limited", "4", "-replies", "2",
		"-interval", "100ms", "-timeout", "2m"}, &out, &log)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), log.String())
	}
	for _, want := range []string{"latency:", "p99", "rate limit: 4 incidents", "12 messages expected", "delivered 12 in",
		"missing 0, twice 0, out of order 0"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{{"-db", "mysql"}, {"-mode", "fast"}, {"-incidents", "0"}, {"-replies", "9"}, {"-interval", "0s"}, {"extra"}} {
		var log bytes.Buffer
		if _, err := parseFlags(args, &log); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
