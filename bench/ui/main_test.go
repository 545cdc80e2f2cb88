package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestSmallRunPrintsTheFigures runs the benchmark on a few rows for a moment: every target
// answers, and the figures and the ratio are printed.
func TestSmallRunPrintsTheFigures(t *testing.T) {
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"-incidents", "1500", "-alerts", "1200", "-events", "600", "-conns", "2", "-duration", "400ms"}, &out, &errs)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errs.String())
	}
	for _, want := range []string{"stored 1501 incidents", "GET /incidents (page)", "GET /api/v1/incidents", "GET /incidents/1501 (page)", "page/API requests/s:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
