package main

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/postmortem"
	"firebreak/store"
	"firebreak/store/storetest"
)

// TestPostmortemCommandPrintsWhatTheAPIWrote: responders write a postmortem through a
// running serve; `firebreak postmortem ID` prints it from the same SQLite database as
// Markdown by default, as JSON or HTML with --format before or after the id, while serve
// keeps running. Mistakes on the command line exit 2, an unknown incident 1.
func TestPostmortemCommandPrintsWhatTheAPIWrote(t *testing.T) {
	dir := t.TempDir()
	fb := startServe(t, dir)
	code, inc := fb.call("POST", "/api/v1/incidents", fb.token,
		`{"title":"Checkout is failing","severity":"sev2","service":"checkout","environment":"prod"}`)
	if code != 201 {
		t.Fatalf("declare: %d %v", code, inc)
	}
	id := strconv.Itoa(int(inc["id"].(float64)))
	path := "/api/v1/incidents/" + id
	if code, body := fb.call("PUT", path+"/postmortem", fb.token,
		`{"root_cause":"A timeout was cut to **500 ms**.","action_items":[{"text":"Restore it","owner":"dana","due":"2026-03-13"}]}`); code != 200 {
		t.Fatalf("PUT postmortem: %d %v", code, body)
	}
	if code, body := fb.call("POST", path+"/resolve", fb.token, ""); code != 200 {
		t.Fatalf("resolve: %d %v", code, body)
	}
	if code, body := fb.call("POST", path+"/postmortem/publish", fb.token, ""); code != 200 || body["status"] != "published" {
		t.Fatalf("publish: %d %v", code, body)
	}

	out, errOut, exit := runCLI(t, dir, nil, "postmortem", id)
	if exit != 0 || !strings.HasPrefix(out, "# Postmortem: Checkout is failing\n") ||
		!strings.Contains(out, "A timeout was cut to **500 ms**.") || !strings.Contains(out, "- [ ] Restore it (owner dana, due 2026-03-13)") ||
		!strings.Contains(out, "- **Status:** published") {
		t.Fatalf("postmortem %s: exit %d, stderr %q, stdout:\n%s", id, exit, errOut, out)
	}

	out, errOut, exit = runCLI(t, dir, nil, "postmortem", "--format", "json", id)
	var pm struct {
		IncidentID  int64  `json:"incident_id"`
		Status      string `json:"status"`
		RootCause   string `json:"root_cause"`
		ActionItems []struct {
			Due *string `json:"due"`
		} `json:"action_items"`
	}
	if exit != 0 || json.Unmarshal([]byte(out), &pm) != nil || strconv.FormatInt(pm.IncidentID, 10) != id || pm.Status != "published" ||
		pm.RootCause != "A timeout was cut to **500 ms**." || len(pm.ActionItems) != 1 || *pm.ActionItems[0].Due != "2026-03-13" {
		t.Fatalf("postmortem --format json %s: exit %d, stderr %q, stdout:\n%s", id, exit, errOut, out)
	}
	if !strings.Contains(out, "\n  \"incident_id\": ") {
		t.Errorf("the JSON is not indented for people:\n%s", out)
	}

	out, errOut, exit = runCLI(t, dir, nil, "postmortem", id, "--format=html")
	if exit != 0 || !strings.HasPrefix(out, "<!DOCTYPE html>") || !strings.Contains(out, "<strong>500 ms</strong>") {
		t.Fatalf("postmortem %s --format=html: exit %d, stderr %q, stdout:\n%s", id, exit, errOut, out)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"postmortem", "999"}, 1, "no incident 999"},
		{[]string{"postmortem", "twelve"}, 2, `incident id "twelve" is not a positive integer`},
		{[]string{"postmortem", id, "--format", "pdf"}, 2, `--format "pdf": want md, html or json`},
	} {
		out, errOut, exit := runCLI(t, dir, nil, c.args...)
		if exit != c.code || out != "" {
			t.Errorf("firebreak %q: exit %d, stdout %q; want %d and nothing", c.args, exit, out, c.code)
		}
		oneLine(t, strings.Join(c.args, " "), errOut, c.want)
	}
	if _, errOut, exit := runCLI(t, dir, nil, "postmortem"); exit != 2 || !strings.Contains(errOut, "missing ID") {
		t.Errorf("postmortem without an id: exit %d, %q", exit, errOut)
	}
}

// TestPostmortemCommandReadsEitherDatabase: on SQLite and PostgreSQL, the command prints
// the postmortem of an incident still open (a draft that says so), and in a folder without
// a database it says where it looked and creates none.
func TestPostmortemCommandReadsEitherDatabase(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			driver, dsn := storetest.DSN(t, d)
			ctx := context.Background()
			db, err := store.Open(ctx, driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			m := incidents.NewManager(db, func() time.Time { return time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC) })
			inc, err := m.Declare(ctx, "bob", incidents.DeclareInput{Title: "Search is slow", Severity: "sev3", Service: "search"})
			if err != nil {
				t.Fatal(err)
			}
			edit, _ := postmortem.DecodeEdit([]byte(`{"went_well":"The page fired at once."}`))
			if _, err := postmortem.New(db, m, nil, nil).Update(ctx, inc.ID, edit, "bob"); err != nil {
				t.Fatal(err)
			}
			db.Close()

			out, errOut, exit := runCLI(t, t.TempDir(), []string{"FIREBREAK_DATABASE_URL=" + dsn}, "postmortem", strconv.FormatInt(inc.ID, 10))
			for _, want := range []string{"# Postmortem: Search is slow", "- **Status:** draft", "The incident is still open** (observing)",
				"Declared by bob at 2026-03-02 14:00:00 UTC", "The page fired at once."} {
				if !strings.Contains(out, want) {
					t.Errorf("exit %d, stderr %q: the postmortem lacks %q:\n%s", exit, errOut, want, out)
				}
			}
		})
	}

	dir := t.TempDir()
	out, errOut, exit := runCLI(t, dir, nil, "postmortem", "1")
	if exit != 1 || out != "" {
		t.Errorf("postmortem in an empty folder: exit %d, stdout %q", exit, out)
	}
	oneLine(t, "postmortem in an empty folder", errOut, "no database at")
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("the postmortem command created %v", entries)
	}
}
