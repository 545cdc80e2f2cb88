// Package serve runs `firebreak serve` as a child process for the load programs in bench/
// (incidentload, alertload, rollbacklatency): it builds the binary when none is given,
// starts the server on a free loopback port with FIREBREAK_LISTEN and
// FIREBREAK_DATABASE_URL, waits for GET /-/ready, reads the admin token it writes on its
// first start to the admin-token file (beside a SQLite database, in Dir for PostgreSQL),
// samples its resident set size and CPU time from /proc, and stops it with SIGTERM, an
// unclean exit being an error.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"firebreak/store"
)

// Time limits of the server's life cycle.
const (
	StartTimeout = 60 * time.Second // /-/ready answering 200
	StopTimeout  = 30 * time.Second // SIGTERM to exit, before SIGKILL
	RSSEvery     = 100 * time.Millisecond
)

// logTailBytes is how much of the end of the server's stderr an error message carries.
const logTailBytes = 4000

// tokenPattern is the shape of the admin token `firebreak serve` writes on first start.
var tokenPattern = regexp.MustCompile(`^fb_[A-Za-z0-9_-]{20,}$`)

// adminTokenFile is the file name `firebreak serve` writes its generated admin token to.
const adminTokenFile = "admin-token"

// Options say how to start the child.
type Options struct {
	Bin        string   // the firebreak binary
	Dir        string   // working directory; the server's stderr goes to Dir/firebreak.log
	DBURL      string   // FIREBREAK_DATABASE_URL
	ConfigPath string   // when set, `serve --config ConfigPath`
	Env        []string // more environment, after (so over) FIREBREAK_LISTEN and FIREBREAK_DATABASE_URL
	SampleRSS  bool     // sample VmRSS every RSSEvery from ready to Stop (see SampledRSS)
	// Replica: another child on the same database generated the admin token already, so this
	// one writes none and Start reads none (Token stays empty).
	Replica bool
}

// Child is one running `firebreak serve`.
type Child struct {
	Base    string // http://127.0.0.1:port, no trailing slash
	Token   string // the admin token it generated
	LogPath string // its stderr

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited closes

	stopOnce     sync.Once
	stopErr      error
	stopSampling chan struct{}
	sampled      sync.WaitGroup
	rssMu        sync.Mutex
	maxRSS       int64 // largest VmRSS sampled since start or ResetRSS, bytes
	hwm          int64 // VmHWM read just before SIGTERM, bytes
}

// Start starts `firebreak serve` in o.Dir on a free loopback port on a fresh database,
// waits until it is ready and reads the admin token it generated. On error the child is
// stopped and the error carries the end of its log.
func Start(ctx context.Context, o Options) (*Child, error) {
	addr, err := FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	c := &Child{Base: "http://" + addr, LogPath: filepath.Join(o.Dir, "firebreak.log"),
		exited: make(chan struct{}), stopSampling: make(chan struct{})}
	logFile, err := os.Create(c.LogPath)
	if err != nil {
		return nil, err
	}
	args := []string{"serve"}
	if o.ConfigPath != "" {
		args = append(args, "--config", o.ConfigPath)
	}
	c.cmd = exec.Command(o.Bin, args...)
	c.cmd.Dir = o.Dir
	// Later entries win, so these override whatever FIREBREAK_* the caller has set.
	c.cmd.Env = append(os.Environ(), "FIREBREAK_LISTEN="+addr, "FIREBREAK_DATABASE_URL="+o.DBURL)
	c.cmd.Env = append(c.cmd.Env, o.Env...)
	// Stdout too: serve prints nothing there, but whatever it prints belongs in the log.
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	if err := c.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", o.Bin, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		logFile.Close()
		close(c.exited)
	}()

	fail := func(err error) (*Child, error) {
		_ = c.Stop()
		return nil, fmt.Errorf("%w\n%s", err, c.LogTail())
	}
	deadline := time.NewTimer(StartTimeout)
	defer deadline.Stop()
	if err := c.waitReady(ctx, deadline.C); err != nil {
		return fail(err)
	}
	// serve writes the file before /-/ready answers; a replica joining a database that
	// already has an admin token writes none.
	if !o.Replica {
		if c.Token, err = readAdminToken(tokenFilePath(o.Dir, o.DBURL)); err != nil {
			return fail(err)
		}
	}
	if o.SampleRSS {
		c.sampled.Add(1)
		go c.sampleRSS()
	}
	return c, nil
}

// tokenFilePath is where serve, run in dir on the database dbURL, writes a generated
// admin token: beside a SQLite database, or in dir for PostgreSQL.
func tokenFilePath(dir, dbURL string) string {
	lower := strings.ToLower(dbURL)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return filepath.Join(dir, adminTokenFile)
	}
	path, err := store.SQLitePath(dbURL)
	if err != nil {
		path = dbURL // serve fails to start on it and says why
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	return filepath.Join(filepath.Dir(path), adminTokenFile)
}

// readAdminToken reads the admin token serve wrote to path.
func readAdminToken(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read the admin token firebreak serve generates on a fresh database: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if !tokenPattern.MatchString(tok) {
		return "", fmt.Errorf("%s holds no admin token (fb_...)", path)
	}
	return tok, nil
}

// waitReady polls GET /-/ready until it answers 200.
func (c *Child) waitReady(ctx context.Context, deadline <-chan time.Time) error {
	return WaitReady(ctx, c.Base, "firebreak serve", c.exited, func() error { return c.waitErr }, deadline)
}

// WaitReady polls GET base/-/ready until it answers 200, the process named name exits
// (exited closes; exitErr says how), the deadline passes or ctx ends. Firebreak and
// Alertmanager both answer /-/ready.
func WaitReady(ctx context.Context, base, name string, exited <-chan struct{}, exitErr func() error, deadline <-chan time.Time) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	last := "no answer"
	for {
		resp, err := client.Get(base + "/-/ready")
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
		case <-exited:
			return fmt.Errorf("%s exited before it was ready: %v", name, exitErr())
		case <-deadline:
			return fmt.Errorf("GET %s/-/ready not 200 within %s (last: %s)", base, StartTimeout, last)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// PID is the child's process id.
func (c *Child) PID() int { return c.cmd.Process.Pid }

// Exited is closed once the child has exited, for whatever reason.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// WatchExit returns a context that is also cancelled when the child exits: once the server
// is gone every further request would fail at once.
func (c *Child) WatchExit(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-c.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// RunError is err, unless the child has exited: then an error saying so, with the end of
// its log, since that is why the run failed.
func (c *Child) RunError(err error) error {
	select {
	case <-c.exited:
		return fmt.Errorf("firebreak serve exited during the run: %v\n%s", c.waitErr, c.LogTail())
	default:
		return err
	}
}

// sampleRSS records the child's resident set size every RSSEvery until Stop.
func (c *Child) sampleRSS() {
	defer c.sampled.Done()
	t := time.NewTicker(RSSEvery)
	defer t.Stop()
	for {
		if st, err := ProcStatus(c.PID()); err == nil {
			c.rssMu.Lock()
			c.maxRSS = max(c.maxRSS, st["VmRSS"])
			c.rssMu.Unlock()
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

// ResetRSS forgets the RSS sampled so far, so that SampledRSS covers only what follows.
func (c *Child) ResetRSS() {
	c.rssMu.Lock()
	c.maxRSS = 0
	c.rssMu.Unlock()
}

// SampledRSS is the largest VmRSS sampled since the child was ready or since ResetRSS, in
// bytes; 0 without Options.SampleRSS or where /proc is missing.
func (c *Child) SampledRSS() int64 {
	c.rssMu.Lock()
	defer c.rssMu.Unlock()
	return c.maxRSS
}

// PeakRSS is the kernel's exact high-water mark of the child's RSS (VmHWM), read by Stop
// just before SIGTERM, in bytes; 0 before Stop or where /proc is missing.
func (c *Child) PeakRSS() int64 { return c.hwm }

// Stop reads the peak RSS, sends SIGTERM and waits for the child to exit (SIGKILL after
// StopTimeout). A non-zero exit after SIGTERM is an error: shutdown should be clean, and so
// is having exited before Stop. Later calls return the first call's error.
func (c *Child) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Child) stop() error {
	select {
	case <-c.exited:
		return fmt.Errorf("firebreak serve exited on its own during the run: %v\n%s", c.waitErr, c.LogTail())
	default:
	}
	close(c.stopSampling)
	c.sampled.Wait()
	if st, err := ProcStatus(c.PID()); err == nil {
		c.hwm = st["VmHWM"]
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM firebreak serve: %w", err)
	}
	select {
	case <-c.exited:
	case <-time.After(StopTimeout):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("firebreak serve did not stop within %s of SIGTERM; killed\n%s", StopTimeout, c.LogTail())
	}
	if c.waitErr != nil {
		return fmt.Errorf("firebreak serve exited with %v after SIGTERM\n%s", c.waitErr, c.LogTail())
	}
	return nil
}

// LogTail is the end of the server's stderr, for error messages.
func (c *Child) LogTail() string {
	b, err := os.ReadFile(c.LogPath)
	if err != nil {
		return "(no server log: " + err.Error() + ")"
	}
	if len(b) > logTailBytes {
		b = b[len(b)-logTailBytes:]
	}
	return "server log (" + c.LogPath + "), last lines:\n" + string(b)
}

// CPUTime is the CPU time (user + system) the child has used so far; 0 where /proc is
// missing.
func (c *Child) CPUTime() time.Duration { return ProcCPUTime(c.PID()) }
