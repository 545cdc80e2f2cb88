package app_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/store"
	"firebreak/tokens"
)

// adminTokenFile is where Build must write the generated admin token for cfg: beside the
// SQLite database, or in opts.WorkDir for PostgreSQL.
func adminTokenFile(t *testing.T, cfg config.Config, opts app.Options) string {
	t.Helper()
	if cfg.Database.Driver == config.DriverPostgres {
		return filepath.Join(opts.WorkDir, app.AdminTokenFile)
	}
	return filepath.Join(filepath.Dir(cfg.Database.URL), app.AdminTokenFile)
}

// TestBuildWritesTheAdminTokenToAPrivateFileOnce: the first Build on an empty database
// writes a working admin token to the admin-token file, mode 0600, replacing an older file
// (world-readable here), and logs the file's path; the next Build writes none.
func TestBuildWritesTheAdminTokenToAPrivateFileOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		ctx := context.Background()
		var logs bytes.Buffer
		opts := app.Options{Log: slog.New(slog.NewTextHandler(&logs, nil)), WorkDir: t.TempDir()}
		path := adminTokenFile(t, cfg, opts)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("fb_an_old_token_from_a_wiped_database\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := app.Build(ctx, cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("no admin-token file: %v", err)
		}
		token := strings.TrimSpace(string(raw))
		if p, err := a.Tokens.Authenticate(ctx, token); err != nil || !p.Scopes.Allows(tokens.Admin) {
			t.Fatalf("the token in %s, %q: %+v, %v; want an admin", path, token, p, err)
		}
		if st, err := os.Stat(path); err != nil {
			t.Fatal(err)
		} else if st.Mode().Perm() != 0o600 {
			t.Fatalf("admin-token file mode %v, want 0600", st.Mode().Perm())
		}
		if !strings.Contains(logs.String(), "file="+path) {
			t.Errorf("the log does not name %s:\n%s", path, logs.String())
		}
		if strings.Contains(logs.String(), token) {
			t.Errorf("the log holds the token itself:\n%s", logs.String())
		}
		if entries, _ := os.ReadDir(filepath.Dir(path)); hasTemp(entries) {
			t.Errorf("a temporary file was left beside it: %v", entries)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}

		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		logs.Reset()
		again, err := app.Build(ctx, cfg, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		if _, err := os.Stat(path); err == nil {
			t.Errorf("the second start wrote %s again", path)
		}
		if strings.Contains(logs.String(), app.AdminTokenFile) {
			t.Errorf("the second start logged about an admin token:\n%s", logs.String())
		}
	})
}

func hasTemp(entries []os.DirEntry) bool {
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "."+app.AdminTokenFile) {
			return true
		}
	}
	return false
}

// TestAnAdminTokenInTheConfigMeansNoneIsGenerated: a bootstrap token with the admin scope
// counts as the admin token; one with other scopes does not.
func TestAnAdminTokenInTheConfigMeansNoneIsGenerated(t *testing.T) {
	for _, c := range []struct {
		scopes   []string
		generate bool
	}{
		{[]string{"read", "admin"}, false},
		{[]string{"alerts:write", "read"}, true},
	} {
		t.Run(strings.Join(c.scopes, ","), func(t *testing.T) {
			eachDialect(t, func(t *testing.T, cfg config.Config) {
				ctx := context.Background()
				cfg.Tokens = []config.Token{{Name: "ops", TokenEnv: "OPS_TOKEN", Token: "fb_ops_secret_from_the_environment_0123", Scopes: c.scopes}}
				opts := testOptions(t)
				a, err := app.Build(ctx, cfg, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				_, statErr := os.Stat(adminTokenFile(t, cfg, opts))
				stored, err := a.Tokens.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if generated := statErr == nil; generated != c.generate || len(stored) != map[bool]int{true: 1}[c.generate] {
					t.Errorf("config token with %v: admin-token file written %v, %d stored tokens; want %v",
						c.scopes, generated, len(stored), c.generate)
				}
			})
		})
	}
}

// TestTokenUsageIsFlushedOnScheduleAndAtShutdown: the App schedules the flush of the
// tokens' last use, and a stop writes what was gathered since, so `token list` is current.
func TestTokenUsageIsFlushedOnScheduleAndAtShutdown(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		ctx := context.Background()
		a, err := app.Build(ctx, cfg, testOptions(t))
		if err != nil {
			t.Fatal(err)
		}
		if !contains(a.Scheduler.Jobs(), app.TokenUsageJob) {
			t.Fatalf("jobs %v, want %s", a.Scheduler.Jobs(), app.TokenUsageJob)
		}
		plain, err := a.Tokens.Create(ctx, "grafana", []tokens.Scope{tokens.Read})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Tokens.Authenticate(ctx, plain); err != nil {
			t.Fatal(err)
		}
		if ran, err := a.Scheduler.RunNow(ctx, app.TokenUsageJob); err != nil || !ran {
			t.Fatalf("RunNow(%s): ran %v, %v", app.TokenUsageJob, ran, err)
		}
		if used := lastUsed(t, a.DB, "grafana"); !used {
			t.Error("after the scheduled flush: grafana never used")
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}

		r := startApp(t, cfg)
		if code, body := r.api.call("GET", "/api/v1/incidents", ""); code != 200 {
			t.Fatalf("GET incidents: %d %v", code, body)
		}
		if err := r.stop(); err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(ctx, cfg.Database.Driver, cfg.Database.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if !lastUsed(t, db, "test-") { // startApp's token
			t.Errorf("after a stop: the token used just before shows as never used")
		}
	})
}

// lastUsed reports whether the stored token whose name starts with name has a last use
// recorded.
func lastUsed(t *testing.T, db *store.DB, name string) bool {
	t.Helper()
	list, err := tokens.NewStore(db, nil).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range list {
		if strings.HasPrefix(info.Name, name) {
			return info.LastUsedAt != nil
		}
	}
	t.Fatalf("no token %q in %+v", name, list)
	return false
}
