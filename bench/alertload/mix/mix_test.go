package mix

import (
	"testing"
	"time"

	"firebreak/alerts"
)

func TestPrefillChunksDecodeAndNeverRepeatAFingerprint(t *testing.T) {
	p := NewPrefill("t", 250, 100, 3, func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) })
	if p.Chunks() != 3 {
		t.Fatalf("chunks = %d, want 3", p.Chunks())
	}
	seen := map[string]bool{}
	total := 0
	var firing, resolved []byte
	for k := range p.Chunks() {
		var n int
		firing, resolved, n = p.Render(k, firing[:0], resolved[:0])
		total += n
		f, err := alerts.Decode(firing)
		if err != nil {
			t.Fatalf("chunk %d firing: %v", k, err)
		}
		r, err := alerts.Decode(resolved)
		if err != nil {
			t.Fatalf("chunk %d resolved: %v", k, err)
		}
		if len(f.Alerts) != n || len(r.Alerts) != n || f.Status != "firing" || r.Status != "resolved" {
			t.Fatalf("chunk %d: %d firing (%s), %d resolved (%s), want %d each", k, len(f.Alerts), f.Status, len(r.Alerts), r.Status, n)
		}
		for i, a := range f.Alerts {
			if seen[a.Fingerprint] {
				t.Fatalf("chunk %d repeats fingerprint %s", k, a.Fingerprint)
			}
			seen[a.Fingerprint] = true
			if b := r.Alerts[i]; b.Fingerprint != a.Fingerprint || !b.StartsAt.Equal(a.StartsAt) || b.EndsAt.IsZero() {
				t.Fatalf("chunk %d alert %d: the resolved copy is not the same occurrence, ended", k, i)
			}
		}
	}
	if total != 250 {
		t.Fatalf("rendered %d alerts, want 250", total)
	}
}

func TestGeneratorNeverNamesAnAlertTwiceInAPayload(t *testing.T) {
	g, err := NewGenerator(Config{Run: "t", Groups: []int{0, 1}, PerRequest: 10, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Few firing alerts per group, so picks collide often.
	if err := g.Warmup(12, 100, func([]byte, Batch) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for n := range 2000 {
		body, b := g.Next()
		p, err := alerts.Decode(body)
		if err != nil {
			t.Fatalf("payload %d: %v", n, err)
		}
		seen := map[string]bool{}
		for _, a := range p.Alerts {
			if seen[a.Fingerprint] {
				t.Fatalf("payload %d names %s twice", n, a.Fingerprint)
			}
			seen[a.Fingerprint] = true
		}
		if b.Len() != 10 {
			t.Fatalf("payload %d has %d alerts", n, b.Len())
		}
	}
	c := g.Counts()
	if c.Alerts != 20000 || c.Repeats+c.New+c.Resolves != c.Alerts {
		t.Fatalf("counts do not add up: %+v", c)
	}
}
