package web_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"firebreak/alerts"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

// Small limits keep the bodies of these tests small; the process tests in cmd/firebreak
// use the real ones.
const (
	apiLimit     = 64 << 10
	webhookLimit = 1 << 20
)

// liveServer is a server over a real database, listening on loopback: limits show only
// on a real listener (app.Test answers an error where the server answers 413).
type liveServer struct {
	t     *testing.T
	db    *store.DB
	base  string
	admin string
}

func startLive(t *testing.T, db *store.DB) *liveServer {
	t.Helper()
	ts := tokens.NewStore(db, time.Now)
	admin, err := ts.Create(context.Background(), "alice", []tokens.Scope{tokens.Admin})
	if err != nil {
		t.Fatal(err)
	}
	m := incidents.NewManager(db, time.Now)
	gc := store.NewGroupCommitter(db, 1, 16, 16, nil)
	t.Cleanup(gc.Close)
	srv := web.New(web.Deps{DB: db, Incidents: m, Auth: ts, Alerts: alerts.NewIngester(db, m, gc, alerts.Options{}),
		MaxBodyBytes: apiLimit, MaxWebhookBytes: webhookLimit})
	return &liveServer{t: t, db: db, base: serveOnLoopback(t, srv), admin: admin}
}

// serveOnLoopback serves srv on a loopback port until the test ends.
func serveOnLoopback(t *testing.T, srv *web.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// post sends body with the given Content-Encoding ("" for none) and returns the status
// and the "error" of the answer, failing the test when an error answer is not
// {"error": ...}. A body of type io.Reader other than *bytes.Reader goes out chunked.
func (l *liveServer) post(path, encoding string, body io.Reader) (int, string) {
	l.t.Helper()
	req, err := http.NewRequest("POST", l.base+path, body)
	if err != nil {
		l.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+l.admin)
	req.Header.Set("Content-Type", "application/json")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || e.Error == "" {
			l.t.Fatalf("POST %s: %d answer %q is not {\"error\": ...}", path, resp.StatusCode, raw)
		}
		return resp.StatusCode, e.Error
	}
	return resp.StatusCode, string(raw)
}

func gzipped(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gzipOfZeros is gzip of n zero bytes, about a thousandth of n on the wire: one gzip
// member of 1 MiB of zeros repeated, and one for the rest. A gzip body may hold several
// members (RFC 1952), and building it this way keeps the tests fast.
func gzipOfZeros(t *testing.T, n int) []byte {
	t.Helper()
	mib := gzipped(t, make([]byte, 1<<20))
	out := bytes.Repeat(mib, n>>20)
	if rest := n % (1 << 20); rest > 0 || n == 0 {
		out = append(out, gzipped(t, make([]byte, rest))...)
	}
	return out
}

// chunked hides a reader's length from net/http, which then sends it chunked, with no
// Content-Length.
type chunked struct{ r io.Reader }

func (c chunked) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestGzipBodyIsInflatedOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := startLive(t, db)
		code, body := l.post("/api/v1/alerts/alertmanager", "gzip", bytes.NewReader(gzipped(t, []byte(firingPayload))))
		if code != http.StatusOK || !strings.Contains(body, `"new":1`) {
			t.Fatalf("gzipped webhook: %d %s, want 200 with one new alert", code, body)
		}
		declare := `{"title":"Gzipped declaration","severity":"sev3","service":"zipped"}`
		code, body = l.post("/api/v1/incidents", "gzip", bytes.NewReader(gzipped(t, []byte(declare))))
		if code != http.StatusCreated || !strings.Contains(body, "Gzipped declaration") {
			t.Fatalf("gzipped declare: %d %s, want 201", code, body)
		}
		// Chunked and gzipped at once.
		declare = `{"title":"Chunked and gzipped","severity":"sev3"}`
		code, body = l.post("/api/v1/incidents", "gzip", chunked{bytes.NewReader(gzipped(t, []byte(declare)))})
		if code != http.StatusCreated {
			t.Fatalf("chunked gzipped declare: %d %s, want 201", code, body)
		}
		// Inflated once only: a gzip inside the gzip reaches the JSON decoder as gzip.
		code, msg := l.post("/api/v1/incidents", "gzip", bytes.NewReader(gzipped(t, gzipped(t, []byte(declare)))))
		if code != http.StatusBadRequest || !strings.Contains(msg, "JSON") {
			t.Fatalf("gzip in gzip: %d %q, want 400 about JSON", code, msg)
		}
		code, msg = l.post("/api/v1/incidents", "gzip", strings.NewReader("this is not gzip"))
		if code != http.StatusBadRequest || !strings.Contains(msg, "gzip") {
			t.Fatalf("corrupt gzip: %d %q, want 400 naming gzip", code, msg)
		}
	})
}

// TestGzipBombGets413 sends bodies a thousand times smaller on the wire than inflated: the
// route's limit holds for the inflated bytes, and nothing of them is stored.
func TestGzipBombGets413(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := startLive(t, db)
		for _, c := range []struct {
			path  string
			limit int
		}{{"/api/v1/alerts/alertmanager", webhookLimit}, {"/api/v1/incidents", apiLimit}} {
			bomb := gzipOfZeros(t, 64<<20)
			code, msg := l.post(c.path, "gzip", bytes.NewReader(bomb))
			if code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, fmt.Sprint(c.limit)) || !strings.Contains(msg, "decompressed") {
				t.Errorf("%s: %d-byte gzip of 64 MiB of zeros: %d %q, want 413 naming the limit once decompressed", c.path, len(bomb), code, msg)
			}
			// One byte past the limit is refused; exactly the limit is not (it is read, and
			// then it is no JSON).
			code, msg = l.post(c.path, "gzip", bytes.NewReader(gzipOfZeros(t, c.limit+1)))
			if code != http.StatusRequestEntityTooLarge {
				t.Errorf("%s: limit+1 bytes inflated: %d %q, want 413", c.path, code, msg)
			}
			code, msg = l.post(c.path, "gzip", bytes.NewReader(gzipOfZeros(t, c.limit)))
			if code != http.StatusBadRequest {
				t.Errorf("%s: exactly the limit inflated: %d %q, want 400 (read, not JSON)", c.path, code, msg)
			}
		}
		var n int
		if err := db.R.Get(&n, "SELECT COUNT(*) FROM incidents"); err != nil || n != 0 {
			t.Fatalf("refused bodies stored %d incidents (%v)", n, err)
		}
	})
}

func TestEncodingsOtherThanGzipGet415(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := startLive(t, db)
		var deflated bytes.Buffer
		fw, _ := flate.NewWriter(&deflated, flate.BestCompression)
		_, _ = fw.Write([]byte(`{"title":"x","severity":"sev1"}`))
		_ = fw.Close()
		twice := gzipped(t, gzipped(t, []byte(`{"title":"x","severity":"sev1"}`)))
		for _, c := range []struct {
			encoding string
			body     []byte
		}{
			{"deflate", deflated.Bytes()},
			{"br", []byte{0x0b, 0x02, 0x80}},
			{"compress", []byte("x")},
			{"gzip, gzip", twice},
			{"GZIP,deflate", twice},
		} {
			code, msg := l.post("/api/v1/incidents", c.encoding, bytes.NewReader(c.body))
			if code != http.StatusUnsupportedMediaType || !strings.Contains(msg, "gzip") {
				t.Errorf("Content-Encoding %q: %d %q, want 415 pointing at gzip", c.encoding, code, msg)
			}
		}
		// Two Content-Encoding headers stack as well.
		req, _ := http.NewRequest("POST", l.base+"/api/v1/alerts/alertmanager", bytes.NewReader(twice))
		req.Header.Set("Authorization", "Bearer "+l.admin)
		req.Header.Add("Content-Encoding", "gzip")
		req.Header.Add("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("two Content-Encoding: gzip headers: %d, want 415", resp.StatusCode)
		}
		// identity is no encoding at all.
		code, body := l.post("/api/v1/incidents", "identity", strings.NewReader(`{"title":"plain","severity":"sev4"}`))
		if code != http.StatusCreated {
			t.Errorf("Content-Encoding identity: %d %s, want 201", code, body)
		}
	})
}

func TestChunkedBodiesAreBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := startLive(t, db)
		over := `{"title":"x","severity":"sev1","summary":"` + strings.Repeat("y", apiLimit) + `"}`
		code, msg := l.post("/api/v1/incidents", "", chunked{strings.NewReader(over)})
		if code != http.StatusRequestEntityTooLarge || !strings.Contains(msg, fmt.Sprint(apiLimit)) {
			t.Fatalf("chunked body past the limit: %d %q, want 413", code, msg)
		}
		// A chunked body that never ends: refused, and the connection is closed rather than
		// read to its end.
		resp := l.postEndless("/api/v1/alerts/alertmanager")
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
			t.Fatalf("endless chunked webhook: %d (connection close %v), want 413 and the connection closed", resp.StatusCode, resp.Close)
		}
		code, body := l.post("/api/v1/incidents", "", chunked{strings.NewReader(`{"title":"chunked","severity":"sev4"}`)})
		if code != http.StatusCreated {
			t.Fatalf("small chunked body: %d %s, want 201", code, body)
		}
	})
}

// postEndless posts a chunked body that never ends and reads the answer while still
// writing, as a client must to see an answer given before its body was read.
func (l *liveServer) postEndless(path string) *http.Response {
	l.t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(l.base, "http://"))
	if err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	head := "POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + l.admin + "\r\nTransfer-Encoding: chunked\r\n\r\n"
	if _, err := conn.Write([]byte(head)); err != nil {
		l.t.Fatal(err)
	}
	go func() {
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 32<<10, strings.Repeat("a", 32<<10))
		for {
			if _, err := conn.Write([]byte(chunk)); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		l.t.Fatalf("POST %s with an endless body: %v", path, err)
	}
	resp.Body.Close()
	return resp
}

// TestConnectionSurvivesAnUnreadBody: a request answered without its body being read (a
// 401, a 413 from Content-Length) leaves body bytes on the connection; they must not be
// taken for the next request.
func TestConnectionSurvivesAnUnreadBody(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		l := startLive(t, db)
		conn, err := net.Dial("tcp", strings.TrimPrefix(l.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		r := bufio.NewReader(conn)
		// The bodies are requests themselves: if they were parsed as the next request, the
		// incidents they declare would exist.
		declare := `{"title":"smuggled","severity":"sev1"}`
		smuggled := fmt.Sprintf("POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", l.admin, len(declare), declare)
		big := smuggled + strings.Repeat(" ", apiLimit)
		for _, c := range []struct {
			name, head string
			body       string
			want       int
		}{
			{"no token", "POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\n", smuggled, 401},
			{"over the route's limit", "POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + l.admin + "\r\n", big, 413},
			{"a GET with a body", "GET /-/healthy HTTP/1.1\r\nHost: x\r\n", smuggled, 413},
		} {
			req := c.head + fmt.Sprintf("Content-Length: %d\r\n\r\n", len(c.body)) + c.body
			if _, err := conn.Write([]byte(req)); err != nil {
				t.Fatalf("%s: write: %v", c.name, err)
			}
			resp, err := http.ReadResponse(r, nil)
			if err != nil {
				t.Fatalf("%s: read answer: %v", c.name, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Fatalf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
			}
		}
		if _, err := conn.Write([]byte("GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("next request on the connection: %v %v", resp, err)
		}
		var n int
		if err := db.R.Get(&n, "SELECT COUNT(*) FROM incidents"); err != nil || n != 0 {
			t.Fatalf("a body was taken for a request: %d incidents (%v)", n, err)
		}
	})
}
