package serve

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

// TestProcStatusOfSelf reads this test process's own /proc/<pid>/status: the fields the
// load programs use are there, in bytes.
func TestProcStatusOfSelf(t *testing.T) {
	st, err := ProcStatus(os.Getpid())
	if err != nil {
		t.Fatalf("read /proc/self/status (the benchmarks sample RSS there; Linux only): %v", err)
	}
	if st["VmRSS"] <= 0 || st["VmHWM"] < st["VmRSS"] || st["VmRSS"]%1024 != 0 {
		t.Errorf("VmRSS %d, VmHWM %d: want positive multiples of 1024, VmHWM ≥ VmRSS", st["VmRSS"], st["VmHWM"])
	}
	if SelfCPUTime() <= 0 {
		t.Errorf("SelfCPUTime() = %s, want more than 0", SelfCPUTime())
	}
}

// TestStartReadsTheGeneratedAdminToken starts a real `firebreak serve` on a fresh SQLite
// database (a relative path and a file: URL) and, when PostgreSQL is configured, on a
// fresh schema: Start finds the admin token serve wrote to its file, and it works.
func TestStartReadsTheGeneratedAdminToken(t *testing.T) {
	ctx := context.Background()
	bin, err := Build(ctx, t.TempDir(), "serve_test", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	urls := map[string]string{"sqlite path": "db/fb.db", "sqlite file URL": "file:state/fb.db?_busy_timeout=9000"}
	if _, dsn := postgresDSN(t); dsn != "" {
		urls["postgres"] = dsn
	}
	for name, dbURL := range urls {
		t.Run(name, func(t *testing.T) {
			c, err := Start(ctx, Options{Bin: bin, Dir: t.TempDir(), DBURL: dbURL})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Stop()
			req, _ := http.NewRequest("GET", c.Base+"/api/v1/incidents", nil)
			req.Header.Set("Authorization", "Bearer "+c.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET incidents with the token Start read: %s", resp.Status)
			}
			if err := c.Stop(); err != nil {
				t.Error(err)
			}
		})
	}
}

// postgresDSN is a fresh PostgreSQL schema for this test, or "" when PostgreSQL is not
// configured.
func postgresDSN(t *testing.T) (string, string) {
	if os.Getenv(storetest.PostgresURLEnv) == "" {
		return "", ""
	}
	return storetest.DSN(t, store.Postgres)
}
