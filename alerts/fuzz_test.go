package alerts_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"firebreak/alerts"
)

var canonicalFingerprint = regexp.MustCompile(`^[0-9a-f]{16}$`)

// FuzzDecode checks that no body, however malformed, makes Decode panic, and that whatever
// it accepts is something ingestion can rely on.
func FuzzDecode(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	seeded := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		seeded++
	}
	if seeded < 4 {
		f.Fatalf("%d testdata seeds, want the 4 Alertmanager bodies at least", seeded)
	}
	for _, c := range badBodies {
		f.Add([]byte(c.body))
	}
	f.Add([]byte(body(validAlertJSON)))
	// NUL bytes and lone surrogates are taken and cleaned, never refused.
	for _, b := range dirtyBodies {
		f.Add([]byte(b))
	}
	f.Add([]byte(alertWith(`"service":"api"`, `"service":"a\u0000p\udc00i"`)))
	// Valid fingerprints in unusual spellings: Fingerprint must still give the canonical form.
	f.Add([]byte(alertWith(`0123456789abcdef`, `ABC`)))
	f.Add([]byte(alertWith(`0123456789abcdef`, `000000000000000000000123456789abcdef`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := alerts.Decode(b)
		if err != nil {
			if len(p.Alerts) != 0 || p.Version != "" {
				t.Fatalf("refused body returned a partly filled payload: %+v", p)
			}
			return
		}
		if p.Version != "4" {
			t.Fatalf("accepted version %q", p.Version)
		}
		if len(p.Alerts) == 0 {
			t.Fatal("accepted a payload without alerts")
		}
		for i, a := range p.Alerts {
			if a.Status != "firing" && a.Status != "resolved" {
				t.Fatalf("alerts[%d]: accepted status %q", i, a.Status)
			}
			if len(a.Labels) == 0 {
				t.Fatalf("alerts[%d]: accepted empty labels", i)
			}
			if a.StartsAt.IsZero() {
				t.Fatalf("alerts[%d]: accepted a zero startsAt", i)
			}
			if y := a.StartsAt.UTC().Year(); y < 1970 || y > 9999 {
				t.Fatalf("alerts[%d]: accepted startsAt %s", i, a.StartsAt)
			}
			if fp := alerts.Fingerprint(a); !canonicalFingerprint.MatchString(fp) {
				t.Fatalf("alerts[%d]: fingerprint %q is not 16 lowercase hex digits (sent %q)", i, fp, a.Fingerprint)
			}
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Decode accepted what Validate refuses: %v", err)
		}
		// What ingestion stores is valid UTF-8 without NUL bytes, whatever was sent.
		c := p.Clean()
		storable := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
		if !storable(c.GroupKey) {
			t.Fatalf("cleaned group key %q is not storable", c.GroupKey)
		}
		for i, a := range c.Alerts {
			for _, kv := range []map[string]string{a.Labels, a.Annotations} {
				for k, v := range kv {
					if !storable(k) || !storable(v) {
						t.Fatalf("alerts[%d]: cleaned %q=%q is not storable", i, k, v)
					}
				}
			}
			if !storable(a.GeneratorURL) {
				t.Fatalf("alerts[%d]: cleaned generatorURL %q is not storable", i, a.GeneratorURL)
			}
		}
	})
}
