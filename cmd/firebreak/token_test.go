package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestTokenListShowsLastUseAndRevokeStopsAToken: `token list` prints a table of name,
// scopes, created and last used ("never" until a use is flushed, which serve does at
// shutdown); `token revoke NAME` removes one, with its flags before or after the name, and
// an unknown name exits 1 saying so.
func TestTokenListShowsLastUseAndRevokeStopsAToken(t *testing.T) {
	dir := t.TempDir()
	fb := startServe(t, dir)
	grafana := createToken(t, dir, sqlitePath(dir), "grafana", "read")
	ci := createToken(t, dir, sqlitePath(dir), "ci", "deploys:write,read")
	if code, body := fb.call("GET", "/api/v1/incidents", grafana, ""); code != 200 {
		t.Fatalf("GET incidents with grafana's token: %d %v", code, body)
	}
	fb.stop() // flushes grafana's last use

	out, errOut, code := runCLI(t, dir, nil, "token", "list")
	if code != 0 {
		t.Fatalf("token list: exit %d, %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := regexp.MustCompile(`^NAME\s+SCOPES\s+CREATED\s+LAST USED$`)
	stamp := `\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`
	rows := map[string]*regexp.Regexp{
		"admin":   regexp.MustCompile(`^admin\s+admin\s+` + stamp + `\s+never$`),
		"grafana": regexp.MustCompile(`^grafana\s+read\s+` + stamp + `\s+` + stamp + `$`),
		"ci":      regexp.MustCompile(`^ci\s+deploys:write,read\s+` + stamp + `\s+never$`),
	}
	if len(lines) != 4 || !header.MatchString(lines[0]) || !rows["admin"].MatchString(lines[1]) ||
		!rows["grafana"].MatchString(lines[2]) || !rows["ci"].MatchString(lines[3]) {
		t.Fatalf("token list printed:\n%s\nwant a header, then admin and ci never used and grafana used", out)
	}

	out, errOut, code = runCLI(t, dir, nil, "token", "revoke", "ci", "--config", "")
	if code != 0 || !strings.Contains(out, `revoked token "ci"`) || !strings.Contains(out, "within 10 s") {
		t.Fatalf("token revoke ci --config '': exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, dir, nil, "token", "revoke", "--config", "", "grafana")
	if code != 0 || !strings.Contains(out, `revoked token "grafana"`) {
		t.Fatalf("token revoke --config '' grafana: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, dir, nil, "token", "revoke", "ci")
	if code != 1 || out != "" {
		t.Errorf("revoking ci again: exit %d, stdout %q; want 1 and nothing", code, out)
	}
	oneLine(t, "revoking an unknown token", errOut, `no token named "ci"`)

	restarted := startServe(t, dir)
	if code, _ := restarted.call("GET", "/api/v1/incidents", grafana, ""); code != 401 {
		t.Errorf("grafana's revoked token: %d, want 401", code)
	}
	if code, _ := restarted.call("GET", "/api/v1/incidents", ci, ""); code != 401 {
		t.Errorf("ci's revoked token: %d, want 401", code)
	}
	restarted.stop()
	out, _, _ = runCLI(t, dir, nil, "token", "list")
	if strings.Contains(out, "grafana") || strings.Contains(out, "ci") {
		t.Errorf("token list after revoking grafana and ci:\n%s", out)
	}
}

// TestAdminCommandsNeverCreateADatabase: run in a folder without the default database and
// without --config, the token commands say where they looked and exit 1, creating nothing;
// migrate (like serve) may create it.
func TestAdminCommandsNeverCreateADatabase(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"token", "list"},
		{"token", "create", "--name", "ci", "--scopes", "deploys:write"},
		{"token", "revoke", "ci"},
	} {
		out, errOut, code := runCLI(t, dir, nil, args...)
		if code != 1 || out != "" {
			t.Errorf("firebreak %q: exit %d, stdout %q; want 1 and nothing", args, code, out)
		}
		oneLine(t, strings.Join(args, " "), errOut,
			"no database at "+filepath.Join("data", "firebreak.db")+"; run `firebreak serve` first or pass --config")
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Fatalf("the token commands created %v", entries)
	}
	out, errOut, code := runCLI(t, dir, nil, "migrate")
	if code != 0 || !strings.Contains(out, "schema version") {
		t.Fatalf("migrate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if _, err := os.Stat(sqlitePath(dir)); err != nil {
		t.Fatalf("migrate did not create the database: %v", err)
	}
	if out, errOut, code := runCLI(t, dir, nil, "token", "list"); code != 0 || !strings.HasPrefix(out, "NAME") {
		t.Fatalf("token list after migrate: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestOnlyServeNeedsTheConfigSecrets: with the secrets of a config file unset, migrate and
// the token commands work (they use none), while serve refuses to start, naming the key.
func TestOnlyServeNeedsTheConfigSecrets(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "firebreak.yaml")
	yaml := `database:
  url: state/fb.db
tokens:
  - name: alertmanager
    token_env: FB_TEST_UNSET_AM_TOKEN
    scopes: [alerts:write]
services:
  checkout:
    rollback:
      policy: auto
      webhook:
        url: http://127.0.0.1:1/rollback
        secret_env: FB_TEST_UNSET_ROLLBACK_SECRET
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := runCLI(t, dir, nil, "migrate", "--config", cfg); code != 0 {
		t.Fatalf("migrate without the secrets: exit %d, %q %q", code, out, errOut)
	}
	if out, errOut, code := runCLI(t, dir, nil, "token", "create", "--config", cfg, "--name", "ci", "--scopes", "deploys:write"); code != 0 || !tokenLine.MatchString(out) {
		t.Fatalf("token create without the secrets: exit %d, %q %q", code, out, errOut)
	}
	if out, errOut, code := runCLI(t, dir, nil, "token", "list", "--config", cfg); code != 0 || !strings.Contains(out, "ci") {
		t.Fatalf("token list without the secrets: exit %d, %q %q", code, out, errOut)
	}
	_, errOut, code := runCLI(t, dir, []string{"FIREBREAK_LISTEN=" + freeAddr(t)}, "serve", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "FB_TEST_UNSET_AM_TOKEN") || !strings.Contains(errOut, "FB_TEST_UNSET_ROLLBACK_SECRET") {
		t.Errorf("serve without the secrets: exit %d, stderr %q; want 1 naming both variables", code, errOut)
	}

	// A config naming a database that is not there: said so, nothing created.
	other := filepath.Join(dir, "other.yaml")
	if err := os.WriteFile(other, []byte("database:\n  url: elsewhere/fb.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCLI(t, dir, nil, "token", "list", "--config", other)
	if code != 1 {
		t.Errorf("token list with a config naming no database: exit %d", code)
	}
	oneLine(t, "token list --config other.yaml", errOut, "no database at elsewhere/fb.db", other)
	if _, err := os.Stat(filepath.Join(dir, "elsewhere")); err == nil {
		t.Error("token list created the folder of the missing database")
	}
}
