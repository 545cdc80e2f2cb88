package statuspage

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"firebreak/internal/testkit"
)

// fixtureTime is the fixture's generated_at: the status-server's clock in these stories.
var fixtureTime = time.Date(2024, 5, 10, 18, 0, 30, 0, time.UTC)

func fixtureBytes(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestStatusServerServesPushedSnapshotAndKeepsItAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	clock := testkit.NewClock(fixtureTime)
	ls := startServer(t, dir, clock)

	// Before the first push: the configured title, nothing wrong.
	for _, p := range []string{"/-/healthy", "/-/ready"} {
		ls.mustGet(p)
	}
	if page := string(ls.mustGet("/")); !strings.Contains(page, "<title>Acme Status</title>") || !strings.Contains(page, "All Systems Operational") {
		t.Fatalf("empty page lacks the configured title or the operational status:\n%s", page)
	}
	var empty struct {
		Page   struct{ Name, URL string }
		Status Status
	}
	json.Unmarshal(ls.mustGet("/api/v2/status.json"), &empty)
	if empty.Page.Name != "Acme Status" || empty.Page.URL != ls.base || empty.Status != (Status{ImpactNone, "All Systems Operational"}) {
		t.Errorf("empty status.json: %+v", empty)
	}

	code, body := ls.push(fixtureBytes(t))
	if code != http.StatusOK || !strings.Contains(body, `"sequence":7`) {
		t.Fatalf("push: %d %s", code, body)
	}

	// Every v2 endpoint, as Statuspage shapes it.
	for _, path := range V2Paths {
		resp, got := ls.get(path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("GET %s: no Access-Control-Allow-Origin: *", path)
		}
		want, _ := os.ReadFile(filepath.Join("testdata", "v2", goldenFiles[path]))
		assertSameJSON(t, got, want)

		head, headBody := ls.request(http.MethodHead, path)
		if head.StatusCode != http.StatusOK || len(headBody) != 0 || head.ContentLength != int64(len(got)) {
			t.Errorf("HEAD %s: %d, %d body bytes, Content-Length %d (GET had %d)", path, head.StatusCode, len(headBody), head.ContentLength, len(got))
		}
	}
	// The pages, with the snapshot's title now.
	page := string(ls.mustGet("/"))
	for _, want := range []string{"<title>Example Status</title>", "Partial System Outage", "Checkout errors for some customers", "Last updated"} {
		if !strings.Contains(page, want) {
			t.Errorf("front page lacks %q", want)
		}
	}
	for path, ctype := range map[string]string{
		"/incidents/inc2": "text/html", "/incidents/mnt1": "text/html", "/history": "text/html",
		"/history.atom": "application/atom+xml", "/history.rss": "application/rss+xml", stylePath: "text/css",
	} {
		resp, _ := ls.get(path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), ctype) {
			t.Errorf("GET %s: %d %s, want 200 %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), ctype)
		}
	}
	saved, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if err != nil || !bytes.Equal(saved, fixtureBytes(t)) {
		t.Fatalf("saved snapshot differs from the push (%v)", err)
	}

	// A restart serves the same page from disk, and remembers the sequence.
	before := map[string][]byte{}
	for _, p := range append([]string{"/", "/history", "/incidents/inc2", "/history.atom"}, V2Paths...) {
		before[p] = ls.mustGet(p)
	}
	ls.stop()
	clock.Advance(time.Minute)
	ls = startServer(t, dir, clock)
	for p, want := range before {
		if got := ls.mustGet(p); !bytes.Equal(got, want) {
			t.Errorf("after a restart %s differs", p)
		}
	}
	if code, body := ls.push(fixtureBytes(t)); code != http.StatusConflict {
		t.Errorf("replay after restart: %d %s, want 409", code, body)
	}
	next := fixture(t)
	next.Sequence = 8
	next.Components[1].Status = Operational
	if code, body := ls.push(mustJSON(t, next)); code != http.StatusOK {
		t.Fatalf("push 8: %d %s", code, body)
	}
	var st struct{ Status Status }
	json.Unmarshal(ls.mustGet("/api/v2/status.json"), &st)
	if st.Status.Indicator != ImpactMajor { // the open major incident still holds it
		t.Errorf("after push 8: %+v", st.Status)
	}
}

func TestResponsesRevalidateAndCompress(t *testing.T) {
	ls := startServer(t, t.TempDir(), testkit.NewClock(fixtureTime))
	if code, body := ls.push(fixtureBytes(t)); code != http.StatusOK {
		t.Fatalf("push: %d %s", code, body)
	}
	for _, path := range []string{"/", "/api/v2/summary.json", "/incidents/inc2", "/history.rss"} {
		resp, plain := ls.get(path)
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Cache-Control") != cacheShort || resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("GET %s: ETag %q, Cache-Control %q, Content-Encoding %q", path, etag, resp.Header.Get("Cache-Control"), resp.Header.Get("Content-Encoding"))
		}
		if resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s: Vary %q", path, resp.Header.Get("Vary"))
		}
		// The client's copy is current: 304, no body.
		for _, inm := range []string{etag, `"other", ` + etag, strings.TrimPrefix(etag, "W/"), "*"} {
			resp, body := ls.get(path, "If-None-Match", inm)
			if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != etag {
				t.Errorf("GET %s If-None-Match %s: %d with %d bytes", path, inm, resp.StatusCode, len(body))
			}
		}
		if resp, _ := ls.get(path, "If-None-Match", `W/"stale"`); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with a stale ETag: %d", path, resp.StatusCode)
		}
		// gzip when the client takes it, the same content.
		resp, zipped := ls.get(path, "Accept-Encoding", "br;q=1.0, gzip;q=0.8")
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("ETag") != etag {
			t.Fatalf("GET %s: Content-Encoding %q, ETag %q", path, resp.Header.Get("Content-Encoding"), resp.Header.Get("ETag"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(zipped))
		if err != nil {
			t.Fatal(err)
		}
		if inflated, _ := io.ReadAll(zr); !bytes.Equal(inflated, plain) {
			t.Errorf("GET %s: gzip body differs from the plain one", path)
		}
		for _, refused := range []string{"gzip;q=0", "identity", "br", "gzip; q=0.000"} {
			if resp, _ := ls.get(path, "Accept-Encoding", refused); resp.Header.Get("Content-Encoding") != "" {
				t.Errorf("GET %s Accept-Encoding %q: got gzip", path, refused)
			}
		}
	}
	resp, _ := ls.get("/")
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("HTML headers: CSP %q", resp.Header.Get("Content-Security-Policy"))
	}
	resp, _ = ls.get(stylePath)
	if !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
}

func TestMethodsPreflightAndUnknownPages(t *testing.T) {
	ls := startServer(t, t.TempDir(), testkit.NewClock(fixtureTime))
	resp, body := ls.request(http.MethodPost, "/api/v2/summary.json")
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "GET") || !strings.Contains(string(body), `"error"`) {
		t.Errorf("POST summary.json: %d, Allow %q, %s", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
	resp, _ = ls.request(http.MethodOptions, "/api/v2/summary.json", "Origin", "https://other.example", "Access-Control-Request-Method", "GET")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d, %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp, body = ls.get("/wp-login.php")
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "Page not found") {
		t.Errorf("unknown page: %d", resp.StatusCode)
	}
	resp, _ = ls.get("/api/push")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /api/push: %d", resp.StatusCode)
	}
}

func TestRefusedPushesChangeNothing(t *testing.T) {
	dir := t.TempDir()
	clock := testkit.NewClock(fixtureTime)
	ls := startServer(t, dir, clock, func(o *ServerOptions) { o.MaxPushBytes = 1 << 20 })
	accepted := fixtureBytes(t)
	if code, body := ls.push(accepted); code != http.StatusOK {
		t.Fatalf("push: %d %s", code, body)
	}
	summary := ls.mustGet("/api/v2/summary.json")
	page := ls.mustGet("/")

	older := fixture(t)
	older.Sequence = 5
	newer := fixture(t)
	newer.Sequence = 9
	invalid := fixture(t)
	invalid.Sequence = 10
	invalid.Components[0].Status = "on_fire"
	newerBytes := mustJSON(t, newer)

	cases := []struct {
		name string
		send func() (int, string)
		want int
	}{
		{"forged: other secret", func() (int, string) { return ls.pushSigned(newerBytes, []byte("guessed"), clock.Now()) }, 401},
		{"forged: body changed after signing", func() (int, string) {
			req := signedRequest(t, ls, mustJSON(t, fixture(t)), testSecret, clock.Now())
			req.Body = io.NopCloser(bytes.NewReader(newerBytes))
			req.ContentLength = int64(len(newerBytes))
			return ls.do(req)
		}, 401},
		{"unsigned", func() (int, string) {
			req, _ := http.NewRequest(http.MethodPost, ls.base+PushPath, bytes.NewReader(newerBytes))
			return ls.do(req)
		}, 401},
		{"stale: signed 6 minutes ago", func() (int, string) { return ls.pushSigned(newerBytes, testSecret, clock.Now().Add(-6*time.Minute)) }, 401},
		{"from the future: 6 minutes ahead", func() (int, string) { return ls.pushSigned(newerBytes, testSecret, clock.Now().Add(6*time.Minute)) }, 401},
		{"replayed: the accepted push again", func() (int, string) { return ls.push(accepted) }, 409},
		{"out of order: an older sequence", func() (int, string) { return ls.push(mustJSON(t, older)) }, 409},
		{"malformed JSON", func() (int, string) { return ls.push([]byte(`{"sequence": 11, "page": `)) }, 400},
		{"invalid snapshot", func() (int, string) { return ls.push(mustJSON(t, invalid)) }, 400},
		{"oversized, declared", func() (int, string) { return rawPush(t, ls, 2<<20, false) }, 413},
		{"oversized, chunked", func() (int, string) { return rawPush(t, ls, 1<<20+1, true) }, 413},
		{"encoded body", func() (int, string) {
			req := signedRequest(t, ls, newerBytes, testSecret, clock.Now())
			req.Header.Set("Content-Encoding", "gzip")
			return ls.do(req)
		}, 415},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := tc.send()
			if code != tc.want {
				t.Fatalf("answered %d %s, want %d", code, body, tc.want)
			}
			if got := ls.mustGet("/api/v2/summary.json"); !bytes.Equal(got, summary) {
				t.Error("summary.json changed")
			}
			if got := ls.mustGet("/"); !bytes.Equal(got, page) {
				t.Error("the page changed")
			}
			if saved, _ := os.ReadFile(filepath.Join(dir, snapshotFile)); !bytes.Equal(saved, accepted) {
				t.Error("the saved snapshot changed")
			}
			if seq := ls.srv.Site().Sequence(); seq != 7 {
				t.Errorf("serving sequence %d", seq)
			}
		})
	}
	// Within the window, a correctly signed newer push still goes through.
	clock.Advance(4 * time.Minute)
	if code, body := ls.pushSigned(newerBytes, testSecret, clock.Now().Add(-4*time.Minute)); code != http.StatusOK {
		t.Errorf("push 9 signed 4 minutes ago: %d %s", code, body)
	}
}

// Concurrent pushes are ordered: the newest wins, each older one either lands first or is
// refused, never overwrites a newer one.
func TestConcurrentPushesKeepTheNewest(t *testing.T) {
	ls := startServer(t, t.TempDir(), testkit.NewClock(fixtureTime))
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for seq := int64(1); seq <= 20; seq++ {
		s := fixture(t)
		s.Sequence = seq
		body := mustJSON(t, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := ls.push(body)
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK && code != http.StatusConflict {
			t.Errorf("push answered %d", code)
		}
	}
	if seq := ls.srv.Site().Sequence(); seq != 20 {
		t.Errorf("serving sequence %d, want 20", seq)
	}
	saved, _ := os.ReadFile(filepath.Join(ls.dir, snapshotFile))
	if s, err := Decode(saved); err != nil || s.Sequence != 20 {
		t.Errorf("saved sequence %d (%v), want 20", s.Sequence, err)
	}
}

func TestNotReadyUntilLoaded(t *testing.T) {
	dir := t.TempDir()
	srv, err := NewServer(ServerOptions{DataDir: dir, Secret: testSecret, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	app := srv.App()
	for path, want := range map[string]int{"/-/healthy": 200, "/-/ready": 503, "/": 503, "/api/v2/status.json": 503} {
		resp, err := app.Test(httptestRequest(http.MethodGet, path))
		if err != nil || resp.StatusCode != want {
			t.Errorf("GET %s before Load: %v %v, want %d", path, resp.StatusCode, err, want)
		}
	}
	if err := srv.Load(); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/-/ready", "/"} {
		if resp, err := app.Test(httptestRequest(http.MethodGet, path)); err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s after Load: %v %v", path, resp.StatusCode, err)
		}
	}
}

func TestBrokenSavedSnapshotStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, snapshotFile), []byte(`{"sequence": 3, "generated_at": "garbage"`), 0o600)
	// A save that crashed half way leaves a temporary file; the next start removes it.
	leftover := filepath.Join(dir, tempPrefix+"12345")
	os.WriteFile(leftover, []byte("half"), 0o600)
	srv, err := NewServer(ServerOptions{DataDir: dir, Secret: testSecret, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover temporary file still there: %v", err)
	}
	err = srv.Load()
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, snapshotFile)) {
		t.Errorf("Load = %v, want an error naming the file", err)
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Pages keep the connection open for the next request (a GET carries no body); a request
// that came with a body nobody reads closes it, so its bytes are never taken for a request.
func TestPagesKeepConnectionsAlive(t *testing.T) {
	ls := startServer(t, t.TempDir(), testkit.NewClock(fixtureTime))
	conn, err := net.Dial("tcp", strings.TrimPrefix(ls.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	for i, path := range []string{"/", "/api/v2/status.json", "/history"} {
		io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: status\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("request %d on one connection: %v", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("GET %s: %d, connection closed: %v", path, resp.StatusCode, resp.Close)
		}
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: status\r\nContent-Length: 40000\r\n\r\n"+strings.Repeat("x", 40000))
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !resp.Close {
		t.Error("a GET with an unread body left the connection open")
	}
}
