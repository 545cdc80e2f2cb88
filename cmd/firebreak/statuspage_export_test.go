package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/incidents"
)

// exportConfig is a firebreak.yaml with a status page that publishes to a status-server
// whose secret the export never needs.
const exportConfig = `database: {url: firebreak.db}
statuspage:
  title: Acme Status
  url: https://status.acme.test
  components:
    - {name: Checkout, group: Shop, services: [checkout]}
  publish:
    - {url: "https://status.acme.test/api/push", secret_env: STATUS_PUSH_SECRET_NOT_SET}
`

// TestStatuspageExportWritesTheSite: `firebreak statuspage export --out DIR` writes the page
// of the database serve keeps as static files, without the push secret: index.html with the
// public incident (its HTML title escaped) and Statuspage's summary.json. Mistakes exit 2,
// a config without a status page 1.
func TestStatuspageExportWritesTheSite(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "firebreak.yaml"), []byte(exportConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	seedStatusPage(t, dir)

	out, errOut, code := runCLI(t, dir, nil, "statuspage", "export", "--config", "firebreak.yaml", "--out", "site")
	if code != 0 || !strings.Contains(out, "wrote the status page to site (components: 1, incidents: 1, maintenances: 0)") {
		t.Fatalf("export: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	index, err := os.ReadFile(filepath.Join(dir, "site", "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(index)
	if !strings.Contains(page, "Acme Status") || !strings.Contains(page, "Checkout") ||
		!strings.Contains(page, "Payments &lt;b&gt;failing&lt;/b&gt;") || strings.Contains(page, "<b>failing") {
		t.Fatalf("index.html does not show the escaped public incident:\n%s", page)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "site", "api", "v2", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var summary struct {
		Page struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"page"`
		Components []struct {
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"components"`
		Incidents []struct {
			Name string `json:"name"`
		} `json:"incidents"`
	}
	if err := json.Unmarshal(raw, &summary); err != nil {
		t.Fatal(err)
	}
	checkout := ""
	for _, c := range summary.Components {
		if c.Name == "Checkout" {
			checkout = c.Status
		}
	}
	if summary.Page.Name != "Acme Status" || summary.Page.URL != "https://status.acme.test" || checkout != "partial_outage" ||
		len(summary.Incidents) != 1 || summary.Incidents[0].Name != "Payments <b>failing</b>" {
		t.Fatalf("summary.json: %s", raw)
	}
	if _, err := os.Stat(filepath.Join(dir, "site", "incidents", "1", "index.html")); err != nil {
		t.Fatalf("the incident's page: %v", err)
	}

	if _, errOut, code := runCLI(t, dir, nil, "statuspage", "export", "--config", "firebreak.yaml"); code != 2 || !strings.Contains(errOut, "--out is required") {
		t.Errorf("without --out: exit %d, %q", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(dir, "plain.yaml"), []byte("database: {url: firebreak.db}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, dir, nil, "statuspage", "export", "--config", "plain.yaml", "--out", "site"); code != 1 ||
		!strings.Contains(errOut, "no statuspage section") {
		t.Errorf("a config without a status page: exit %d, %q", code, errOut)
	}
}

// seedStatusPage opens the database as serve would and records a public sev2 incident of
// checkout with an HTML public title.
func seedStatusPage(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.LoadWithoutSecrets(filepath.Join(dir, "firebreak.yaml"), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database.URL = filepath.Join(dir, "firebreak.db")
	cfg.Statuspage.Publish = nil // serve would need the secret; only the export is under test
	a, err := app.Build(ctx, cfg, app.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), WorkDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	inc, err := a.Incidents.Declare(ctx, "alice", incidents.DeclareInput{Title: "db OOM", Severity: "sev2", Service: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	title := "Payments <b>failing</b>"
	if _, err := a.Incidents.Patch(ctx, inc.ID, "alice", incidents.Patch{PublicTitle: &title}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Incidents.AddNote(ctx, inc.ID, "alice", "Card payments fail.", true); err != nil {
		t.Fatal(err)
	}
}
