package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"firebreak/statuspage"
)

func TestMain(m *testing.M) {
	// The load program runs its servers as children of its own executable: here, this
	// test binary.
	if served, err := serveChild(); served {
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The load program end to end, briefly: both child servers start, the push is accepted,
// every request answers with the expected bytes.
func TestLoadProgramRuns(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-duration", "200ms", "-warmup", "0s", "-rounds", "2", "-incidents", "10,200", "-conns", "4"}, &out, &errOut)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), errOut.String())
	}
	t.Log("\n" + out.String())
	lines := strings.Split(out.String(), "\n")
	var rows int
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 13 && (f[0] == "10" || f[0] == "200") {
			rows++
			if f[12] != "0" {
				t.Errorf("errors in %q", l)
			}
		}
	}
	if rows != 4 {
		t.Errorf("%d result rows, want 4 (2 sizes × 2 paths):\n%s", rows, out.String())
	}
}

func TestFlagsAreBounded(t *testing.T) {
	for _, args := range [][]string{{"-conns", "0"}, {"-conns", "1000"}, {"-duration", "1h"}, {"-rounds", "0"}, {"-incidents", "ten"}, {"-incidents", "1"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// BenchmarkServe compares, in process over loopback, status-server and the bare handler on
// the same bytes, for / and summary.json with 10 and 10,000 incidents in history. 32
// goroutines (GOMAXPROCS × 16) share 32 keep-alive connections; each reports req/s.
//
//	go test -run xxx -bench Serve -benchtime 3s ./bench/statuspage/
func BenchmarkServe(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		status, bare := benchServers(b, n)
		for _, r := range bareRoutes {
			for _, target := range []struct{ name, addr string }{{"status-server", status}, {"bare", bare}} {
				b.Run(fmt.Sprintf("incidents=%d/path=%s/%s", n, r.path, target.name), func(b *testing.B) {
					benchGet(b, target.addr, r.path)
				})
			}
		}
	}
}

// benchServers starts a status-server holding a pushed snapshot of n incidents and a bare
// server with the same gzip bodies, both on loopback, stopped when the benchmark ends.
func benchServers(b *testing.B, n int) (status, bare string) {
	b.Helper()
	srv, err := statuspage.NewServer(statuspage.ServerOptions{DataDir: b.TempDir(), Secret: []byte("k"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Load(); err != nil {
		b.Fatal(err)
	}
	status = serveApp(b, srv.App())
	body, _ := json.Marshal(synthSnapshot(1, n, time.Now()))
	if err := push(status, "k", body); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, r := range bareRoutes {
		gz, err := fetchGzip(status, r.path)
		if err != nil {
			b.Fatal(err)
		}
		os.WriteFile(dir+"/"+r.file, gz, 0o644)
	}
	app, err := bareApp(dir)
	if err != nil {
		b.Fatal(err)
	}
	return status, serveApp(b, app)
}

func serveApp(b *testing.B, app *fiber.App) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go app.Listener(ln)
	b.Cleanup(func() { app.ShutdownWithTimeout(5 * time.Second) })
	return ln.Addr().String()
}

func benchGet(b *testing.B, addr, path string) {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: 32, ReadBufferSize: 16 << 10}
	defer hc.CloseIdleConnections()
	var failed atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://" + addr + path)
		req.Header.Set("Accept-Encoding", "gzip")
		for pb.Next() {
			if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
				failed.Add(1)
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	if failed.Load() > 0 {
		b.Fatalf("%d requests failed", failed.Load())
	}
}
