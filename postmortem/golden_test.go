package postmortem_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"firebreak/postmortem"
	"firebreak/store"
	"firebreak/store/storetest"
)

// update rewrites the golden files from the SQLite run. The files in testdata were read
// line by line against the story before they were kept: rewrite them only to change them
// on purpose, and read the diff.
var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// humanParts is what people write into the story's postmortem.
const humanParts = `{
  "root_cause": "The deploy of checkout 1.4.2 changed the payment client's timeout from 5 s to 500 ms.\n\nUnder normal load **a third** of the calls to the payment provider took longer.",
  "contributing_factors": "- The canary stage was skipped for this release.\n- The timeout was not covered by a test.",
  "went_well": "Alerts fired within a minute and the suspect deploy was named on the incident.",
  "went_badly": "",
  "got_lucky": "It happened on a quiet Monday afternoon.",
  "action_items": [
    {"text": "Restore the canary stage for checkout", "owner": "dana", "due": "2026-03-13", "done": true},
    {"text": "Add a test for the payment client's timeout", "owner": "", "due": null, "done": false}
  ]
}`

// TestGoldenPostmortemOfTheCheckoutOutage: the story's incident, its human parts written
// the next morning and published the day after, gives exactly the Markdown and JSON kept
// in testdata, on both databases.
func TestGoldenPostmortemOfTheCheckoutOutage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		inc := s.checkoutOutage()
		ctx := context.Background()
		edit, err := postmortem.DecodeEdit([]byte(humanParts))
		if err != nil {
			t.Fatal(err)
		}
		s.set(time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC))
		if _, err := s.pm.Update(ctx, inc.ID, edit, "alice"); err != nil {
			t.Fatal(err)
		}
		s.set(time.Date(2026, 3, 4, 9, 0, 0, 0, time.UTC))
		r, err := s.pm.Publish(ctx, inc.ID, "carol")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []postmortem.Format{postmortem.FormatMarkdown, postmortem.FormatJSON} {
			got, err := postmortem.Render(r, f)
			if err != nil {
				t.Fatal(err)
			}
			if f == postmortem.FormatJSON {
				got = indentJSON(t, got) // the file is for people to read and diff
			}
			golden(t, db, "checkout_outage."+string(f)+".golden", got)
		}
	})
}

// golden compares got with testdata/name, or rewrites it under -update (from SQLite only,
// so both databases are held to one file).
func golden(t *testing.T, db *store.DB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update && db.Dialect == store.SQLite {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it, then read it through)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n%s", name, path, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines where want and got part.
func lineDiff(want, got string) string {
	w, g := bytes.Split([]byte(want), []byte("\n")), bytes.Split([]byte(got), []byte("\n"))
	var out bytes.Buffer
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 8; i++ {
		var wl, gl []byte
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if !bytes.Equal(wl, gl) {
			out.WriteString("line " + itoa(i+1) + ":\n  want " + string(wl) + "\n  got  " + string(gl) + "\n")
			shown++
		}
	}
	return out.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

func indentJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, raw)
	}
	return out.Bytes()
}
