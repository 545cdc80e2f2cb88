package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
)

// Time limits of the server's life cycle.
const (
	startTimeout = 60 * time.Second // token printed and /-/ready answering 200
	stopTimeout  = 30 * time.Second // SIGTERM to exit, before SIGKILL
	rssEvery     = 100 * time.Millisecond
)

// tokenPattern finds the admin token `firebreak serve` prints once on first start.
var tokenPattern = regexp.MustCompile(`\bfb_[A-Za-z0-9_-]{20,}`)

// server is one `firebreak serve` child process.
type server struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	token   string
	logPath string
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited closes

	stopSampling chan struct{}
	sampled      sync.WaitGroup
	maxRSS       atomic.Int64 // largest VmRSS sampled, bytes
	hwm          int64        // VmHWM read just before SIGTERM, bytes
}

// startServer starts `firebreak serve` in dir on a free loopback port with dbURL, reads the
// admin token it prints and waits until it is ready.
func startServer(ctx context.Context, bin, dir, dbURL string) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, logPath: filepath.Join(dir, "firebreak.log"),
		exited: make(chan struct{}), stopSampling: make(chan struct{})}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Dir = dir
	// Later entries win, so these override whatever FIREBREAK_* the caller has set.
	s.cmd.Env = append(os.Environ(), "FIREBREAK_LISTEN="+addr, "FIREBREAK_DATABASE_URL="+dbURL)
	s.cmd.Stderr = logFile
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	tokens := make(chan string, 1)
	go func() {
		// Read stdout to the end so the child never blocks writing to it.
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
		s.waitErr = s.cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()

	fail := func(err error) (*server, error) {
		_ = s.stop()
		return nil, fmt.Errorf("%w\n%s", err, s.logTail())
	}
	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	select {
	case s.token = <-tokens:
	case <-s.exited:
		return fail(fmt.Errorf("firebreak serve exited before printing its admin token: %v", s.waitErr))
	case <-deadline.C:
		return fail(fmt.Errorf("firebreak serve printed no admin token (fb_...) within %s", startTimeout))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
	if err := s.waitReady(ctx, deadline.C); err != nil {
		return fail(err)
	}
	s.sampled.Add(1)
	go s.sampleRSS()
	return s, nil
}

// waitReady polls GET /-/ready until it answers 200.
func (s *server) waitReady(ctx context.Context, deadline <-chan time.Time) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	last := "no answer"
	for {
		resp, err := client.Get(s.base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-s.exited:
			return fmt.Errorf("firebreak serve exited before it was ready: %v", s.waitErr)
		case <-deadline:
			return fmt.Errorf("GET %s/-/ready not 200 within %s (last: %s)", s.base, startTimeout, last)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// sampleRSS records the child's resident set size every rssEvery until stop.
func (s *server) sampleRSS() {
	defer s.sampled.Done()
	t := time.NewTicker(rssEvery)
	defer t.Stop()
	for {
		if st, err := procStatus(s.cmd.Process.Pid); err == nil {
			if rss := st["VmRSS"]; rss > s.maxRSS.Load() {
				s.maxRSS.Store(rss)
			}
		}
		select {
		case <-s.stopSampling:
			return
		case <-s.exited:
			return
		case <-t.C:
		}
	}
}

// peakRSS returns the kernel's high-water mark of the child's RSS (VmHWM, exact) and the
// largest RSS sampled while the clients ran; either is 0 where /proc is missing.
func (s *server) peakRSS() (hwm, sampled int64) { return s.hwm, s.maxRSS.Load() }

// stop reads the peak RSS, sends SIGTERM and waits for the child to exit (SIGKILL after
// stopTimeout). A non-zero exit after SIGTERM is an error: shutdown should be clean.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return fmt.Errorf("firebreak serve exited on its own during the run: %v\n%s", s.waitErr, s.logTail())
	default:
	}
	close(s.stopSampling)
	s.sampled.Wait()
	if st, err := procStatus(s.cmd.Process.Pid); err == nil {
		s.hwm = st["VmHWM"]
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM firebreak serve: %w", err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("firebreak serve did not stop within %s of SIGTERM; killed\n%s", stopTimeout, s.logTail())
	}
	if s.waitErr != nil {
		return fmt.Errorf("firebreak serve exited with %v after SIGTERM\n%s", s.waitErr, s.logTail())
	}
	return nil
}

// logTail is the end of the server's stderr, for error messages.
func (s *server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	const keep = 4000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return "server log (" + s.logPath + "), last lines:\n" + string(b)
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
		f := strings.Fields(rest)
		if len(f) == 2 && f[1] == "kB" {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				out[name] = n << 10
			}
		}
	}
	return out, nil
}

// cpuTime is the CPU time (user + system) the child has used so far, from
// /proc/<pid>/stat; 0 where /proc is missing. It assumes USER_HZ = 100, as on every Linux
// architecture Go supports.
func (s *server) cpuTime() time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces; count after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest) // f[0] is field 3 (state): utime is field 14, stime 15
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

// selfCPUTime is the CPU time (user + system) this process has used so far.
func selfCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// freeLoopbackAddr asks the kernel for a free port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
