package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"firebreak/incidents"
	"firebreak/internal/testkit"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

// TestOffsetTimesSentUnencoded: "since=2026-11-20T10:00:00+02:00" typed into curl or a
// browser reaches the server as "2026-11-20T10:00:00 02:00", since a + in a query string
// means a space. It is read as the +02:00 it was.
func TestOffsetTimesSentUnencoded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clock := testkit.NewClock(time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC))
		m := incidents.NewManager(db, clock.Now)
		if _, err := m.Declare(ctx, "alice", incidents.DeclareInput{Title: "At 08:30 UTC", Severity: "sev2"}); err != nil {
			t.Fatal(err)
		}
		ts := tokens.NewStore(db, clock.Now)
		tok, err := ts.Create(ctx, "reader", []tokens.Scope{tokens.Read})
		if err != nil {
			t.Fatal(err)
		}
		base := serveOnLoopback(t, web.New(web.Deps{DB: db, Incidents: m, Auth: ts}))
		list := func(query string) (int, string, int) {
			req, _ := http.NewRequest("GET", base+"/api/v1/incidents?"+query, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			if !strings.Contains(req.URL.RawQuery, "+") && strings.Contains(query, "+") {
				t.Fatalf("the client encoded the +: %s", req.URL.RawQuery)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			var out struct {
				Incidents []any  `json:"incidents"`
				Error     string `json:"error"`
			}
			_ = json.Unmarshal(raw, &out)
			return resp.StatusCode, out.Error, len(out.Incidents)
		}
		// 10:00+02:00 is 08:00 UTC, before the incident; 11:00+02:00 is after it.
		for _, c := range []struct {
			query string
			want  int
		}{
			{"since=2026-11-20T10:00:00+02:00", 1},
			{"since=2026-11-20T11:00:00+02:00", 0},
			{"since=2026-11-20T10:00:00%2B02:00", 1},
			{"since=2026-11-20T10:00:00.5+02:00", 1},
			{"since=2026-11-20T08:00:00Z", 1},
			{"since=2026-11-20T07:00:00-02:00", 0},
		} {
			code, msg, n := list(c.query)
			if code != http.StatusOK || n != c.want {
				t.Errorf("%s: %d %q with %d incidents, want 200 with %d", c.query, code, msg, n, c.want)
			}
		}
		// A space that cannot have been a +: the error says how to send one.
		code, msg, _ := list("since=2026-11-20%2010:00:00+02:00")
		if code != http.StatusBadRequest || !strings.Contains(msg, "%2B") {
			t.Errorf("a time with a space for its T: %d %q, want 400 saying to encode + as %%2B", code, msg)
		}
	})
}
