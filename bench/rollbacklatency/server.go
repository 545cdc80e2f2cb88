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
	"syscall"
	"time"
)

// Time limits of the server's life cycle.
const (
	startTimeout = 60 * time.Second // token printed and /-/ready answering 200
	stopTimeout  = 30 * time.Second // SIGTERM to exit, before SIGKILL
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
}

// startServer starts `firebreak serve --config cfgPath` in dir with FIREBREAK_LISTEN on a
// free loopback port, FIREBREAK_DATABASE_URL=dbURL and the extra environment, reads the
// admin token it prints and waits until it is ready.
func startServer(ctx context.Context, bin, dir, cfgPath, dbURL string, env []string) (*server, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + addr, logPath: filepath.Join(dir, "firebreak.log"), exited: make(chan struct{})}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "serve", "--config", cfgPath)
	s.cmd.Dir = dir
	// Later entries win, so these override whatever FIREBREAK_* the caller has set.
	s.cmd.Env = append(os.Environ(), "FIREBREAK_LISTEN="+addr, "FIREBREAK_DATABASE_URL="+dbURL)
	s.cmd.Env = append(s.cmd.Env, env...)
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

// stop sends SIGTERM and waits for the child to exit (SIGKILL after stopTimeout). A
// non-zero exit after SIGTERM is an error: shutdown should be clean.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return fmt.Errorf("firebreak serve exited on its own during the run: %v\n%s", s.waitErr, s.logTail())
	default:
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

// freeLoopbackAddr asks the kernel for a free port on 127.0.0.1.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free loopback port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
