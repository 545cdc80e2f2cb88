package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"firebreak/alerts"
)

// Time limits of the child's life cycle.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
	rssEvery     = 100 * time.Millisecond
)

// tokenPattern finds the admin token `firebreak serve` prints once on its first start.
var tokenPattern = regexp.MustCompile(`\bfb_[A-Za-z0-9_-]{20,}`)

// child is one `firebreak serve` process.
type child struct {
	cmd     *exec.Cmd
	base    string
	token   string
	logPath string
	exited  chan struct{}
	waitErr error

	stopSampling chan struct{}
	sampled      sync.WaitGroup
	measuring    atomic.Bool  // sample into measuredRSS only while the measured load runs
	measuredRSS  atomic.Int64 // largest VmRSS sampled during the measured load, bytes
	hwm          int64        // VmHWM just before SIGTERM, bytes
}

// startChild starts `firebreak serve` in dir on a free loopback port with dbURL, reads the
// admin token from its stdout and waits for /-/ready.
func startChild(ctx context.Context, bin, dir, dbURL string) (*child, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	c := &child{base: "http://" + addr, logPath: filepath.Join(dir, "firebreak.log"),
		exited: make(chan struct{}), stopSampling: make(chan struct{})}
	logFile, err := os.Create(c.logPath)
	if err != nil {
		return nil, err
	}
	c.cmd = exec.Command(bin, "serve")
	c.cmd.Dir = dir
	// Later entries win over whatever FIREBREAK_* the caller has set.
	c.cmd.Env = append(os.Environ(), "FIREBREAK_LISTEN="+addr, "FIREBREAK_DATABASE_URL="+dbURL)
	c.cmd.Stderr = logFile
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	tokens := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if tok := tokenPattern.FindString(sc.Text()); tok != "" {
				select {
				case tokens <- tok:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		c.waitErr = c.cmd.Wait()
		logFile.Close()
		close(c.exited)
	}()
	fail := func(err error) (*child, error) {
		_ = c.stop()
		return nil, fmt.Errorf("%w\n%s", err, c.logTail())
	}
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	select {
	case c.token = <-tokens:
	case <-c.exited:
		return fail(fmt.Errorf("firebreak serve exited before printing its admin token: %v", c.waitErr))
	case <-deadline.C:
		return fail(fmt.Errorf("firebreak serve printed no admin token (fb_...) within %s", startTimeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	for {
		resp, err := client.Get(c.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-c.exited:
			return fail(fmt.Errorf("firebreak serve exited before it was ready: %v", c.waitErr))
		case <-deadline.C:
			return fail(fmt.Errorf("GET %s/-/ready not 200 within %s", c.base, startTimeout))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	c.sampled.Add(1)
	go c.sampleRSS()
	return c, nil
}

func (c *child) sampleRSS() {
	defer c.sampled.Done()
	t := time.NewTicker(rssEvery)
	defer t.Stop()
	for {
		if c.measuring.Load() {
			if st, err := procStatus(c.cmd.Process.Pid); err == nil && st["VmRSS"] > c.measuredRSS.Load() {
				c.measuredRSS.Store(st["VmRSS"])
			}
		}
		select {
		case <-c.stopSampling:
			return
		case <-c.exited:
			return
		case <-t.C:
		}
	}
}

// stop reads VmHWM, sends SIGTERM and waits for a clean exit (SIGKILL after stopTimeout).
func (c *child) stop() error {
	select {
	case <-c.exited:
		return fmt.Errorf("firebreak serve exited on its own: %v\n%s", c.waitErr, c.logTail())
	default:
	}
	close(c.stopSampling)
	c.sampled.Wait()
	if st, err := procStatus(c.cmd.Process.Pid); err == nil {
		c.hwm = st["VmHWM"]
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM firebreak serve: %w", err)
	}
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("firebreak serve did not stop within %s of SIGTERM; killed", stopTimeout)
	}
	if c.waitErr != nil {
		return fmt.Errorf("firebreak serve exited with %v after SIGTERM\n%s", c.waitErr, c.logTail())
	}
	return nil
}

// cpuTime is the CPU time (user + system) the child has used so far, from /proc/<pid>/stat
// (USER_HZ = 100 on every Linux Go supports); 0 where /proc is missing.
func (c *child) cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * (time.Second / 100)
}

func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	const keep = 3000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return "server log (" + c.logPath + "), last lines:\n" + string(b)
}

// procStatus reads the kB fields of /proc/<pid>/status, in bytes.
func procStatus(pid int) (map[string]int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64)
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if f := strings.Fields(rest); len(f) == 2 && f[1] == "kB" {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				out[name] = n << 10
			}
		}
	}
	return out, nil
}

// selfCPUTime is the CPU time this process has used so far.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// decodeOnly serves, in this process, a webhook endpoint that reads the body, decodes and
// validates it with alerts.Decode and answers 200 {}: the floor under what HTTP and JSON
// cost, for the ratio.
type decodeOnly struct {
	srv  *http.Server
	base string
	done chan struct{}
}

func startDecodeOnly() (*decodeOnly, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/alerts/alertmanager", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 10<<20))
		if err != nil {
			http.Error(w, `{"error":"read body"}`, http.StatusBadRequest)
			return
		}
		if _, err := alerts.Decode(body); err != nil {
			msg, _ := json.Marshal(map[string]string{"error": err.Error()})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(msg)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})
	d := &decodeOnly{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, base: "http://" + ln.Addr().String(),
		done: make(chan struct{})}
	go func() {
		_ = d.srv.Serve(ln)
		close(d.done)
	}()
	return d, nil
}

func (d *decodeOnly) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.srv.Shutdown(ctx)
	<-d.done
}

// createSchema makes a fresh schema bench_<random> on the PostgreSQL server at base and
// returns base with search_path set to it, and a function that drops it.
func createSchema(ctx context.Context, base string) (string, func() error, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", postgresURLEnv, err)
	}
	if err := checkLoopback(u); err != nil {
		return "", nil, err
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", u.Redacted(), err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(cctx); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("connect to %s (set %s): %w", u.Redacted(), postgresURLEnv, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "bench_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(cctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	drop := func() error {
		defer db.Close()
		dctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := db.ExecContext(dctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// checkLoopback refuses a PostgreSQL server on another machine: the benchmark floods it and
// creates and drops schemas. An empty host is a Unix socket.
func checkLoopback(u *url.URL) error {
	host := u.Hostname()
	if host == "" || host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s points at %q: the benchmark only uses a PostgreSQL server on loopback", postgresURLEnv, host)
}
