package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// loadResult is one measured run against one server and path.
type loadResult struct {
	requests int64
	errors   int64
	elapsed  time.Duration
	// cpu is the server process's CPU time (user + system) during the run.
	cpu time.Duration
}

func (r loadResult) perSecond() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// load sends GET path with Accept-Encoding: gzip over conns keep-alive connections as fast
// as answers come, for d. Only a 200 whose body has wantBytes bytes counts; anything else
// is an error. pid is the server's process, whose CPU time is measured (0: not measured).
func load(ctx context.Context, addr, path string, wantBytes, conns int, d time.Duration, pid int) loadResult {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: conns, MaxIdleConnDuration: time.Minute, ReadBufferSize: 16 << 10}
	defer hc.CloseIdleConnections()
	var ok, failed atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	cpuBefore := processCPU(pid)
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + addr + path)
			req.Header.Set("Accept-Encoding", "gzip")
			for !stop.Load() {
				err := hc.DoTimeout(req, resp, 10*time.Second)
				if err == nil && resp.StatusCode() == 200 && len(resp.Body()) == wantBytes {
					ok.Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	stop.Store(true)
	elapsed := time.Since(start)
	wg.Wait()
	return loadResult{requests: ok.Load(), errors: failed.Load(), elapsed: elapsed, cpu: processCPU(pid) - cpuBefore}
}

// fetchGzip gets path once with Accept-Encoding: gzip and returns the body as sent.
func fetchGzip(addr, path string) ([]byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + addr + path)
	req.Header.Set("Accept-Encoding", "gzip")
	if err := fasthttp.DoTimeout(req, resp, 30*time.Second); err != nil {
		return nil, err
	}
	if resp.StatusCode() != 200 || string(resp.Header.Peek("Content-Encoding")) != "gzip" {
		return nil, fmt.Errorf("GET %s: %d, Content-Encoding %q", path, resp.StatusCode(), resp.Header.Peek("Content-Encoding"))
	}
	return append([]byte(nil), resp.Body()...), nil
}

// processCPU is the user + system time of process pid from /proc; 0 when unknown.
func processCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start after the last ')'.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const ticksPerSecond = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticksPerSecond
}

// peakRSS is process pid's peak resident memory (VmHWM) in bytes; 0 when unknown.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
