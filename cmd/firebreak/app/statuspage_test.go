package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/statuspage"
)

// liveStatusServer is a real status-server on a loopback port, as it runs on its own host.
type liveStatusServer struct {
	t    *testing.T
	base string
	dir  string
}

const statusSecret = "push-secret-shared-by-the-platform-and-the-page"

func startStatusServer(t *testing.T) *liveStatusServer {
	t.Helper()
	dir := t.TempDir()
	srv, err := statuspage.NewServer(statuspage.ServerOptions{DataDir: dir, Secret: []byte(statusSecret), Logger: quiet(),
		Defaults: statuspage.Defaults{Title: "Status"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.App().Listener(ln)
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		_ = srv.App().ShutdownWithTimeout(5 * time.Second)
	})
	return &liveStatusServer{t: t, base: "http://" + ln.Addr().String(), dir: dir}
}

func (ss *liveStatusServer) get(path string) (int, string) {
	ss.t.Helper()
	resp, err := http.Get(ss.base + path)
	if err != nil {
		ss.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitPage polls path until its body holds every want.
func (ss *liveStatusServer) waitPage(path string, want ...string) string {
	ss.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := ss.get(path)
		ok := code == http.StatusOK
		for _, w := range want {
			ok = ok && strings.Contains(body, w)
		}
		if ok {
			return body
		}
		if time.Now().After(deadline) {
			ss.t.Fatalf("%s never showed %q; it shows %d:\n%s", path, want, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sequence is the sequence of the snapshot the status-server keeps.
func (ss *liveStatusServer) sequence() int64 {
	ss.t.Helper()
	raw, err := os.ReadFile(filepath.Join(ss.dir, "snapshot.json"))
	if err != nil {
		return 0
	}
	var s struct {
		Sequence int64 `json:"sequence"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		ss.t.Fatal(err)
	}
	return s.Sequence
}

// TestTheStatusPageFollowsThePlatform is issue 11's story against a real platform and a
// real status-server: an incident of a configured component's service puts the component in
// partial outage; it shows on the page only with its public note, under its public title,
// with the standard update of its resolve after it, and without the internal note. The
// page keeps serving while the platform is stopped, and after a restart the platform's
// pushes carry greater sequences. The config's component cannot be changed through the API.
func TestTheStatusPageFollowsThePlatform(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		ss := startStatusServer(t)
		cfg.Statuspage = &config.Statuspage{Title: "Acme Status", MinSeverity: "sev2",
			Components: []config.Component{{Name: "Checkout", Group: "Shop", Services: []string{"checkout"}, Automatic: true}},
			Publish:    []config.Publish{{URL: ss.base + statuspage.PushPath, SecretEnv: "STATUS_PUSH_SECRET", Secret: statusSecret}},
		}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		fb := startApp(t, cfg)
		if jobs := fb.app.Scheduler.Jobs(); !contains(jobs, app.StatusHeartbeatJob) || !contains(jobs, app.StatusMaintenanceJob) {
			t.Fatalf("scheduled jobs %v, want the heartbeat and the maintenance windows", jobs)
		}
		code, inc := fb.api.call("POST", "/api/v1/incidents", `{"title":"checkout-db OOM","severity":"sev2","service":"checkout","environment":"prod"}`)
		if code != http.StatusCreated {
			t.Fatalf("declare: %d %v", code, inc)
		}
		path := "/api/v1/incidents/" + strconv.Itoa(int(inc["id"].(float64)))
		ss.waitPage("/api/v2/components.json", `"name":"Checkout"`, `"status":"partial_outage"`)
		if _, body := ss.get("/api/v2/incidents.json"); strings.Contains(body, "OOM") {
			t.Fatalf("the incident is public before any public update:\n%s", body)
		}

		if code, body := fb.api.call("PUT", "/api/v1/components/Checkout", `{"status":"major_outage"}`); code != http.StatusConflict ||
			!strings.Contains(body["error"].(string), "defined in config") {
			t.Fatalf("changing the config's component: %d %v", code, body)
		}
		if code, body := fb.api.call("PATCH", path, `{"public_title":"Payments are failing","public_components":["Nope"]}`); code != http.StatusBadRequest {
			t.Fatalf("PATCH naming an unknown component: %d %v", code, body)
		}
		if code, body := fb.api.call("PATCH", path, `{"public_title":"Payments are failing","public_components":["Checkout"]}`); code != http.StatusOK {
			t.Fatalf("PATCH: %d %v", code, body)
		}
		if code, body := fb.api.call("POST", path+"/notes", `{"text":"db-7 swapped; do not tell customers","public":false}`); code != http.StatusCreated {
			t.Fatalf("internal note: %d %v", code, body)
		}
		if code, body := fb.api.call("POST", path+"/notes", `{"text":"Some card payments fail. We are on it.","public":true}`); code != http.StatusCreated {
			t.Fatalf("public note: %d %v", code, body)
		}
		ss.waitPage("/api/v2/summary.json", `"name":"Payments are failing"`, `"status":"investigating"`,
			"Some card payments fail. We are on it.", `"status":"partial_outage"`)

		if code, body := fb.api.call("POST", path+"/resolve", ""); code != http.StatusOK {
			t.Fatalf("resolve: %d %v", code, body)
		}
		page := ss.waitPage("/api/v2/incidents.json", `"status":"resolved"`, "This incident has been resolved.", "Some card payments fail.")
		ss.waitPage("/api/v2/components.json", `"status":"operational"`)
		for _, secret := range []string{"db-7", "OOM"} {
			if strings.Contains(page, secret) {
				t.Fatalf("%q reached the page:\n%s", secret, page)
			}
		}
		id := strconv.Itoa(int(inc["id"].(float64)))
		ss.waitPage("/incidents/"+id, "Payments are failing", "This incident has been resolved.")

		before := ss.sequence()
		if err := fb.stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if code, body := ss.get("/"); code != http.StatusOK || !strings.Contains(body, "Acme Status") || !strings.Contains(body, "Checkout") {
			t.Fatalf("the page while the platform is down: %d\n%s", code, body)
		}

		again := startApp(t, cfg)
		if code, body := again.api.call("POST", "/api/v1/components", `{"name":"Webhooks","services":["hooks"]}`); code != http.StatusCreated {
			t.Fatalf("create a component after the restart: %d %v", code, body)
		}
		ss.waitPage("/api/v2/components.json", `"name":"Webhooks"`)
		if after := ss.sequence(); after <= before {
			t.Fatalf("after the restart the page took sequence %d, not greater than %d before it", after, before)
		}
	})
}

// TestNoStatusPageSectionNoStatusPage: without a statuspage section nothing of the status
// page is wired: no service, no jobs, no endpoints.
func TestNoStatusPageSectionNoStatusPage(t *testing.T) {
	cfg := testConfig(t, "sqlite")
	a, err := app.Build(context.Background(), cfg, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Statuspage != nil || contains(a.Scheduler.Jobs(), app.StatusMaintenanceJob) || contains(a.Scheduler.Jobs(), app.StatusHeartbeatJob) {
		t.Fatalf("status page wired without a statuspage section: %v %v", a.Statuspage, a.Scheduler.Jobs())
	}
}
