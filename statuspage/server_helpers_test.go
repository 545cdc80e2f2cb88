package statuspage

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"firebreak/internal/testkit"
	"firebreak/notify/webhook"
)

var testSecret = []byte("shared-push-secret-for-tests")

// liveServer is a status-server on a loopback listener.
type liveServer struct {
	t     *testing.T
	srv   *Server
	base  string
	dir   string
	clock *testkit.Clock
	done  chan error
}

// startServer runs a status-server over dir on a free loopback port, loads it and waits for
// nothing more: Load has returned before the first request.
func startServer(t *testing.T, dir string, clock *testkit.Clock, tweak ...func(*ServerOptions)) *liveServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := ServerOptions{
		DataDir: dir, Secret: testSecret, Now: clock.Now,
		Defaults: Defaults{Title: "Acme Status", URL: "http://" + ln.Addr().String()},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, f := range tweak {
		f(&opts)
	}
	srv, err := NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(); err != nil {
		t.Fatal(err)
	}
	ls := &liveServer{t: t, srv: srv, base: "http://" + ln.Addr().String(), dir: dir, clock: clock, done: make(chan error, 1)}
	go func() { ls.done <- srv.App().Listener(ln) }()
	t.Cleanup(ls.stop)
	return ls
}

// stop shuts the server down and waits for it; stopping twice is fine.
func (ls *liveServer) stop() {
	if ls.done == nil {
		return
	}
	// fasthttp waits at shutdown for connections that never sent a request, like the spares
	// an HTTP client keeps; status-server's command closes those (web/serving), a test
	// closes its own.
	client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ls.srv.App().ShutdownWithContext(ctx); err != nil {
		ls.t.Errorf("shutdown: %v", err)
	}
	<-ls.done
	ls.done = nil
}

// client talks HTTP without Go's transparent gzip, so tests choose Accept-Encoding.
var client = &http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: 30 * time.Second}

// push sends body signed with the test secret at the server clock's time.
func (ls *liveServer) push(body []byte) (int, string) {
	return ls.pushSigned(body, testSecret, ls.clock.Now())
}

func (ls *liveServer) pushSigned(body, secret []byte, at time.Time) (int, string) {
	ls.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ls.base+PushPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, at, body))
	return ls.do(req)
}

func (ls *liveServer) do(req *http.Request) (int, string) {
	ls.t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		ls.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// get fetches path with optional request headers (name, value, name, value…).
func (ls *liveServer) get(path string, headers ...string) (*http.Response, []byte) {
	return ls.request(http.MethodGet, path, headers...)
}

func (ls *liveServer) request(method, path string, headers ...string) (*http.Response, []byte) {
	ls.t.Helper()
	req, _ := http.NewRequest(method, ls.base+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		ls.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		ls.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp, b
}

// mustGet fetches path and fails unless it answers 200.
func (ls *liveServer) mustGet(path string) []byte {
	ls.t.Helper()
	resp, body := ls.get(path)
	if resp.StatusCode != http.StatusOK {
		ls.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	return body
}

// signedRequest is a push request for body, signed with secret at at.
func signedRequest(t *testing.T, ls *liveServer, body, secret []byte, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ls.base+PushPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, at, body))
	return req
}

// rawPush sends a push of size bytes over a plain connection: with its length declared
// (only the headers and the first 16 KiB go out: fasthttp reads up to 8 KiB before any
// handler runs, and the answer must come before the rest) or chunked (the whole body goes out in one
// chunk).
func rawPush(t *testing.T, ls *liveServer, size int, chunked bool) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ls.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	head := "POST " + PushPath + " HTTP/1.1\r\nHost: status\r\nContent-Type: application/json\r\n" +
		"X-Firebreak-Timestamp: " + strconv.FormatInt(ls.clock.Now().Unix(), 10) + "\r\nX-Firebreak-Signature: sha256=00\r\n"
	w := bufio.NewWriter(conn)
	if chunked {
		fmt.Fprintf(w, "%sTransfer-Encoding: chunked\r\n\r\n%x\r\n", head, size)
		w.Write(bytes.Repeat([]byte{' '}, size))
		w.WriteString("\r\n0\r\n\r\n")
	} else {
		fmt.Fprintf(w, "%sContent-Length: %d\r\n\r\n", head, size)
		w.Write(bytes.Repeat([]byte{' '}, min(size, 16<<10)))
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// httptestRequest is a request for fiber's app.Test.
func httptestRequest(method, path string) *http.Request {
	req, _ := http.NewRequest(method, "http://status.test"+path, nil)
	return req
}
