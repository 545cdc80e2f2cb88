package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBodiesPastTheirLimitCostNoMemory runs a real `firebreak serve` (default limits: 64 MiB
// for the Alertmanager webhook, 1 MiB for the rest of the API) and sends it bodies that cost
// a lot when a server reads or inflates them whole. Each must be refused with 413 while the
// server's peak resident memory (VmHWM) grows by less than the largest route limit plus
// 32 MB: a body refused one byte past its limit was held up to that limit (the webhook's
// 64 MiB fits a 50,000-alert group), once, however many such bodies come. Reading them whole, the 300 MiB gzip bomb alone took the
// process from 26 MB to 1.3 GB.
func TestBodiesPastTheirLimitCostNoMemory(t *testing.T) {
	fb := startServe(t, t.TempDir())
	pid := fb.cmd.Process.Pid
	before := peakRSS(t, pid)
	webhook := fb.base + "/api/v1/alerts/alertmanager"
	declare := fb.base + "/api/v1/incidents"

	// A small gzipped webhook is taken.
	payload := bigWebhook("zipped", time.Now().Add(-time.Minute).UTC(), 1)
	if code, body := postEncoded(t, webhook, fb.token, "gzip", gzipBytes(t, payload, 0)); code != http.StatusOK {
		t.Fatalf("small gzipped webhook: %d %s, want 200", code, body)
	}

	// 300 MiB of zeros in a 300 KB gzip, then just past each route's limit.
	for _, c := range []struct {
		url   string
		zeros int
	}{{webhook, 300 << 20}, {webhook, 65 << 20}, {declare, 2 << 20}} {
		bomb := gzipBytes(t, nil, c.zeros)
		code, body := postEncoded(t, c.url, fb.token, "gzip", bomb)
		if code != http.StatusRequestEntityTooLarge || !bytes.Contains(body, []byte(`"error"`)) {
			t.Fatalf("%s: %d-byte gzip of %d MiB of zeros: %d %s, want 413 with {\"error\": ...}", c.url, len(bomb), c.zeros>>20, code, body)
		}
	}

	// A chunked body, so no Content-Length to judge it by, of 65 MiB.
	if code := postChunkedReadingEarly(t, fb.base, "/api/v1/alerts/alertmanager", fb.token, 65<<20); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("65 MiB chunked webhook: %d, want 413", code)
	}

	// Twenty 9 MiB bodies at once to a route that takes 1 MiB: under the webhook's limit,
	// so a server reading every body up to its largest limit would hold all of them.
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	big := bytes.Repeat([]byte("x"), 9<<20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _ := postEncoded(t, declare, fb.token, "", big)
			codes <- code
		}()
	}
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusRequestEntityTooLarge {
			t.Fatalf("9 MiB declaration: %d, want 413", code)
		}
	}

	after := peakRSS(t, pid)
	t.Logf("serve's peak RSS: %d MB after start, %d MB after the refused bodies", before>>20, after>>20)
	const bound = 64<<20 + 32<<20
	if grown := after - before; grown > bound {
		t.Fatalf("refusing the bodies grew serve's peak RSS by %d MB (from %d MB to %d MB), want under %d MB", grown>>20, before>>20, after>>20, bound>>20)
	}
	if code, _ := fb.call("GET", "/api/v1/incidents?service=zipped", fb.token, ""); code != http.StatusOK {
		t.Fatalf("serve after the bodies: %d", code)
	}
	fb.stop()
}

// peakRSS reads a process's peak resident set size (VmHWM) from /proc.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the process status: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// gzipBytes is gzip of data followed by zeros zero bytes, with the zeros as repeats of one
// gzip member of 1 MiB of zeros: a gzip body may hold several members (RFC 1952), and
// compressing 300 MiB afresh would take most of the test's time.
func gzipBytes(t *testing.T, data []byte, zeros int) []byte {
	t.Helper()
	member := func(b []byte) []byte {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(b); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	out := member(append(data, make([]byte, zeros%(1<<20))...))
	return append(out, bytes.Repeat(member(make([]byte, 1<<20)), zeros>>20)...)
}

func postEncoded(t *testing.T, url, token, encoding string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST %s (%d bytes): %v", url, len(body), err)
		return 0, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// postChunkedReadingEarly sends size bytes as a chunked body over a raw connection and reads
// the answer while still writing: the server answers, and closes, before the end.
func postChunkedReadingEarly(t *testing.T, base, path, token string, size int) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	written := make(chan struct{})
	go func() {
		defer close(written)
		w := bufio.NewWriter(conn)
		fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", path, token)
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			fmt.Fprintf(w, "%x\r\n%s\r\n", len(chunk), chunk)
		}
		fmt.Fprint(w, "0\r\n\r\n")
		_ = w.Flush() // fails once the server has answered and closed
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s chunked: reading the response: %v", path, err)
	}
	resp.Body.Close()
	conn.Close()
	<-written
	return resp.StatusCode
}
