package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"firebreak/store"
	"firebreak/store/storetest"
)

// binary is the firebreak executable built once for the process tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "firebreak-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "firebreak")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build firebreak: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// serveProc is one running `firebreak serve`.
type serveProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	base  string
	token string // the admin token this start generated, if it did
	out   *syncBuffer
	// stdout is what it printed on stdout, which systemd and Kubernetes keep.
	stdout *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var tokenLine = regexp.MustCompile(`fb_[A-Za-z0-9_-]+`)

// startServe runs serve in dir with env, waits until it is ready and returns it. When the
// start generated an admin token, it is read from the admin-token file (which must exist
// once /-/ready answers) and the file is removed, so a later start's token is its own.
// Nothing token-like may appear on stdout.
func startServe(t *testing.T, dir string, env ...string) *serveProc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append(env, "FIREBREAK_LISTEN="+addr)...)
	p := &serveProc{t: t, cmd: cmd, base: "http://" + addr, out: &syncBuffer{}, stdout: &syncBuffer{}}
	cmd.Stderr = p.out
	cmd.Stdout = p.stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not become ready: %s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	file := adminTokenFile(t, dir, env)
	if raw, err := os.ReadFile(file); err == nil {
		p.token = strings.TrimSpace(string(raw))
		if !tokenLine.MatchString(p.token) {
			t.Fatalf("%s holds %q, not a token", file, raw)
		}
		if st, err := os.Stat(file); err != nil {
			t.Fatal(err)
		} else if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, want 0600", file, st.Mode().Perm())
		}
		if !strings.Contains(p.out.String(), "file="+file) {
			t.Fatalf("the log does not name %s:\n%s", file, p.out.String())
		}
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
	}
	if tokenLine.MatchString(p.stdout.String()) {
		t.Fatalf("serve printed a token on stdout: %q", p.stdout.String())
	}
	return p
}

// adminTokenFile is where serve in dir with env writes a generated admin token: beside the
// SQLite database, or in dir for PostgreSQL.
func adminTokenFile(t *testing.T, dir string, env []string) string {
	t.Helper()
	dbURL := filepath.Join("data", "firebreak.db")
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "FIREBREAK_DATABASE_URL="); ok {
			dbURL = v
		}
	}
	if strings.HasPrefix(dbURL, "postgres") {
		return filepath.Join(dir, "admin-token")
	}
	path, err := store.SQLitePath(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return filepath.Join(filepath.Dir(path), "admin-token")
}

// stop sends SIGTERM and waits for a clean exit.
func (p *serveProc) stop() {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("serve exited with %v: %s", err, p.out.String())
	}
}

func (p *serveProc) call(method, path, token, body string) (int, map[string]any) {
	p.t.Helper()
	req, _ := http.NewRequest(method, p.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestServeKeepsIncidentsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	first := startServe(t, dir)
	if first.token == "" {
		t.Fatalf("first start wrote no admin token: %s", first.out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "firebreak.db")); err != nil {
		t.Fatalf("default database file: %v", err)
	}
	code, inc := first.call("POST", "/api/v1/incidents", first.token, `{"title":"Checkout down","severity":"sev1","service":"checkout"}`)
	if code != 201 {
		t.Fatalf("declare: %d %v", code, inc)
	}
	id := fmt.Sprint(inc["id"])
	if code, got := first.call("POST", "/api/v1/incidents/"+id+"/resolve", first.token, `{"note":"rolled back"}`); code != 200 || got["status"] != "resolved" {
		t.Fatalf("resolve: %d %v", code, got)
	}
	first.stop()

	second := startServe(t, dir)
	if second.token != "" {
		t.Fatalf("second start wrote a new admin token")
	}
	// Its timeline: declared, no deploy of checkout on record, resolved.
	code, got := second.call("GET", "/api/v1/incidents/"+id, first.token, "")
	if code != 200 || got["status"] != "resolved" || got["title"] != "Checkout down" || len(got["timeline"].([]any)) != 3 {
		t.Fatalf("after restart: %d %v", code, got)
	}
	second.stop()
}

func TestTwoReplicasOnPostgresActAsOne(t *testing.T) {
	_, dsn := storetest.DSN(t, store.Postgres)
	dir := t.TempDir()
	env := "FIREBREAK_DATABASE_URL=" + dsn
	a := startServe(t, dir, env)
	b := startServe(t, dir, env)
	token := a.token + b.token // exactly one of them created the admin token
	if a.token != "" && b.token != "" {
		t.Fatal("both replicas created an admin token")
	}
	code, inc := a.call("POST", "/api/v1/incidents", token, `{"title":"Search slow","severity":"sev2"}`)
	if code != 201 {
		t.Fatalf("declare on a: %d %v", code, inc)
	}
	id := fmt.Sprint(inc["id"])
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(p *serveProc) {
			defer wg.Done()
			c, _ := p.call("POST", "/api/v1/incidents/"+id+"/acknowledge", token, "")
			codes <- c
		}([]*serveProc{a, b}[i%2])
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[200] != 1 || count[409] != 19 {
		t.Fatalf("20 acknowledges over two replicas: %v, want one 200 and nineteen 409", count)
	}
	_, got := b.call("GET", "/api/v1/incidents/"+id, token, "")
	var acks int
	for _, ev := range got["timeline"].([]any) {
		if ev.(map[string]any)["kind"] == "acknowledged" {
			acks++
		}
	}
	if acks != 1 {
		t.Fatalf("%d acknowledged events, want 1", acks)
	}
	a.stop()
	b.stop()
}

func TestSIGTERMWithAnIdleClientConnectionExitsCleanly(t *testing.T) {
	p := startServe(t, t.TempDir())
	// HTTP clients open spare connections and may never send on them; fasthttp counts such
	// a connection as busy, which used to hold shutdown until the grace ran out (exit 1).
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p.stop() // fails unless serve exits 0
}

func TestServeOpensTheFileAFileURLNames(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, dir, "FIREBREAK_DATABASE_URL=file:state/fb.db?_busy_timeout=9000")
	code, inc := p.call("POST", "/api/v1/incidents", p.token, `{"title":"Search slow","severity":"sev3"}`)
	if code != 201 {
		t.Fatalf("declare: %d %v", code, inc)
	}
	p.stop()
	if _, err := os.Stat(filepath.Join(dir, "state", "fb.db")); err != nil {
		t.Fatalf("file:state/fb.db did not open state/fb.db: %v", err)
	}
	for _, wrong := range []string{"file:state", filepath.Join("data", "firebreak.db")} {
		if _, err := os.Stat(filepath.Join(dir, wrong)); err == nil {
			t.Errorf("serve created %s instead", wrong)
		}
	}
}
