package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"firebreak/notify/webhook"
	"firebreak/statuspage"
)

// statusAddr is a free loopback address for a status-server.
func statusAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The status-server command on a real port: empty page before the first push, a signed
// push accepted, the page served, a clean stop on cancel, and the same page after a start
// over the same data folder.
func TestStatusServerCommand(t *testing.T) {
	dir := t.TempDir()
	addr := statusAddr(t)
	cfg := filepath.Join(dir, "status.yaml")
	os.WriteFile(cfg, []byte("listen: "+addr+"\ndata_dir: "+filepath.Join(dir, "data")+
		"\npush_secret_env: FB_TEST_STATUS_SECRET\ntitle: Acme Status\n"), 0o600)
	t.Setenv("FB_TEST_STATUS_SECRET", "s3cret")

	base := "http://" + addr
	stop := startStatusServer(t, "--config", cfg)
	if page := get200(t, base+"/"); !strings.Contains(page, "<title>Acme Status</title>") || !strings.Contains(page, "All Systems Operational") {
		t.Fatalf("page before the first push:\n%s", page)
	}
	var status struct{ Page struct{ URL string } }
	json.Unmarshal([]byte(get200(t, base+"/api/v2/status.json")), &status)
	if status.Page.URL != base {
		t.Errorf("page.url %q, want the default http://+listen %q", status.Page.URL, base)
	}

	now := time.Now()
	snap := statuspage.Snapshot{
		Sequence: 1, GeneratedAt: now, Page: statuspage.Page{Name: "Pushed Status"},
		Components: []statuspage.Component{{ID: "api", Name: "API", Status: statuspage.MajorOutage, Position: 1, CreatedAt: now, UpdatedAt: now}},
	}
	body, _ := json.Marshal(snap)
	req, _ := http.NewRequest(http.MethodPost, base+statuspage.PushPath, bytes.NewReader(body))
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte("s3cret"), now, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	page := get200(t, base+"/")
	if !strings.Contains(page, "<title>Pushed Status</title>") || !strings.Contains(page, "Major System Outage") {
		t.Fatalf("page after the push:\n%s", page)
	}
	stop()

	stop = startStatusServer(t, "--config", cfg)
	defer stop()
	if again := get200(t, base+"/"); again != page {
		t.Error("after a restart the page differs")
	}
}

// startStatusServer runs the command in process until the returned stop is called, and
// waits until it is ready.
func startStatusServer(t *testing.T, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runStatusServer(ctx, args, io.Discard) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("status-server stopped: %v", err)
		default:
		}
		if ready(args) {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("status-server not ready within 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		http.DefaultClient.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("status-server stop: %v", err)
		}
	}
}

// ready asks /-/ready of the status-server configured by args' --config.
func ready(args []string) bool {
	cfg, err := statuspage.LoadConfig(args[len(args)-1], os.Getenv)
	if err != nil {
		return false
	}
	resp, err := http.Get("http://" + cfg.Listen + "/-/ready")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func get200(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func TestStatusServerUsageAndConfigErrors(t *testing.T) {
	var out bytes.Buffer
	if err := runStatusServer(context.Background(), []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "Usage: firebreak status-server") || !strings.Contains(out.String(), "-config") {
		t.Errorf("-h printed:\n%s", out.String())
	}

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(content), 0o600)
		return p
	}
	t.Setenv("FB_TEST_EMPTY_SECRET", "")
	cases := map[string]struct {
		args []string
		want string
	}{
		"unknown key":        {[]string{"--config", write("a.yaml", "listen: 127.0.0.1:0\nlisen: x\npush_secret_env: HOME\n")}, `line 2: unknown key "lisen"`},
		"secret unset":       {[]string{"--config", write("b.yaml", "push_secret_env: FB_TEST_NOT_SET_ANYWHERE\n")}, "push_secret_env: environment variable FB_TEST_NOT_SET_ANYWHERE is not set"},
		"secret empty":       {[]string{"--config", write("c.yaml", "push_secret_env: FB_TEST_EMPTY_SECRET\n")}, "push_secret_env"},
		"bad public_url":     {[]string{"--config", write("d.yaml", "public_url: status.example.com\npush_secret_env: HOME\n")}, "public_url"},
		"extra argument":     {[]string{"now"}, "unexpected arguments"},
		"unknown flag":       {[]string{"--port", "80"}, "flag provided but not defined"},
		"missing file":       {[]string{"--config", filepath.Join(dir, "none.yaml")}, "no such file"},
		"flag without value": {[]string{"--config"}, "flag needs an argument"},
	}
	for name, tc := range cases {
		err := runStatusServer(context.Background(), tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
}

// A saved snapshot that cannot be read stops the command, naming the file, rather than
// serve an empty page in its place.
func TestStatusServerStopsOnABrokenSavedSnapshot(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(data, "snapshot.json"), []byte("{not json"), 0o600)
	cfg := filepath.Join(dir, "status.yaml")
	os.WriteFile(cfg, []byte("listen: "+statusAddr(t)+"\ndata_dir: "+data+"\npush_secret_env: FB_TEST_STATUS_SECRET\n"), 0o600)
	t.Setenv("FB_TEST_STATUS_SECRET", "s3cret")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := runStatusServer(ctx, []string{"--config", cfg}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(data, "snapshot.json")) {
		t.Errorf("runStatusServer = %v, want an error naming the saved snapshot", err)
	}
	if ctx.Err() != nil {
		t.Error("it ran until the timeout instead of stopping")
	}
}
