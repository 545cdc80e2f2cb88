// Command statuspage measures how fast status-server serves its page and its v2 JSON
// against a bare handler that returns the same bytes from memory on the same HTTP stack.
//
// For each history size (-incidents, default 10 and 10,000 incidents) it starts two child
// processes of itself: a status-server (statuspage.NewServer over a temporary data folder),
// to which it pushes a signed synthetic snapshot, and a bare fiber server holding the gzip
// bodies status-server sent for / and /api/v2/summary.json. Then, for each path, it loads
// both alternately (-rounds times -duration each, after a -warmup) over -conns keep-alive
// connections asking for gzip, and prints requests/s, the ratio (target: at least 0.95),
// the server CPU time per request, and errors.
//
//	go run ./bench/statuspage
//	go run ./bench/statuspage -incidents 10000 -duration 10s -rounds 5
//
// Everything listens on 127.0.0.1, and every phase is bounded in time.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"firebreak/bench/internal/cli"
	"firebreak/notify/webhook"
	"firebreak/statuspage"
)

// Bounds and the target.
const (
	maxConns    = 256
	maxDuration = 2 * time.Minute
	maxRounds   = 20
	maxHistory  = 100_000
	target      = 0.95 // status-server's requests/s over the bare handler's
)

func main() {
	if served, err := serveChild(); served {
		if err != nil {
			fmt.Fprintln(os.Stderr, "statuspage child:", err)
			os.Exit(1)
		}
		return
	}
	cli.Main("statuspage", run)
}

type options struct {
	conns     int
	duration  time.Duration
	warmup    time.Duration
	rounds    int
	incidents []int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := cli.NewFlagSet("statuspage", stderr)
	var o options
	var incidents string
	fs.IntVar(&o.conns, "conns", 32, "concurrent keep-alive connections")
	fs.DurationVar(&o.duration, "duration", 2*time.Second, "length of one measured run (one server, one path)")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each path's runs")
	fs.IntVar(&o.rounds, "rounds", 5, "runs per server and path, alternating between the two servers")
	fs.StringVar(&incidents, "incidents", "10,10000", "comma-separated history sizes to measure")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	for _, f := range strings.Split(incidents, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 || n > maxHistory {
			return o, fmt.Errorf("-incidents: %q is not a number from 2 to %d", f, maxHistory)
		}
		o.incidents = append(o.incidents, n)
	}
	switch {
	case o.conns < 1 || o.conns > maxConns:
		return o, fmt.Errorf("-conns must be 1 to %d", maxConns)
	case o.duration <= 0 || o.duration > maxDuration || o.warmup < 0 || o.warmup > maxDuration:
		return o, fmt.Errorf("-duration and -warmup must be at most %s", maxDuration)
	case o.rounds < 1 || o.rounds > maxRounds:
		return o, fmt.Errorf("-rounds must be 1 to %d", maxRounds)
	}
	return o, nil
}

// row is the outcome for one history size and path.
type row struct {
	incidents     int
	snapshotBytes int
	push          time.Duration
	path          string
	bodyBytes     int
	status, bare  loadResult
	// roundRatios are each round's ratio, to see the spread the machine's noise gives.
	roundRatios []float64
	// statusRSS is the status-server's peak resident memory, in bytes.
	statusRSS int64
}

func (r row) ratio() float64 { return r.status.perSecond() / r.bare.perSecond() }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "status-server against a bare handler returning the same gzip bytes from memory: %d connections, %d rounds of %s per server and path, %d CPUs, %s/%s\n",
		o.conns, o.rounds, o.duration, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	var rows []row
	for _, n := range o.incidents {
		rs, err := measure(ctx, n, o)
		if err != nil {
			return fmt.Errorf("%d incidents: %w", n, err)
		}
		rows = append(rows, rs...)
	}
	return report(stdout, rows)
}

func report(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "incidents\tsnapshot MiB\tpush ms\tpath\tgzip bytes\tstatus-server req/s\tbare req/s\tratio\trounds min–max\tCPU µs/req status\tbare\tstatus RSS MiB\terrors\t")
	met := 0
	var errs int64
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%.1f\t%d\t%s\t%d\t%.0f\t%.0f\t%.3f\t%.2f–%.2f\t%.1f\t%.1f\t%.0f\t%d\t\n", r.incidents, float64(r.snapshotBytes)/(1<<20),
			r.push.Milliseconds(), r.path, r.bodyBytes, r.status.perSecond(), r.bare.perSecond(), r.ratio(),
			slices.Min(r.roundRatios), slices.Max(r.roundRatios),
			perRequest(r.status), perRequest(r.bare), float64(r.statusRSS)/(1<<20), r.status.errors+r.bare.errors)
		if r.ratio() >= target {
			met++
		}
		errs += r.status.errors + r.bare.errors
	}
	tw.Flush()
	fmt.Fprintf(w, "target (status-server at least %.2f of the bare handler's requests/s): met in %d of %d\n", target, met, len(rows))
	fmt.Fprintln(w, "ratio = total requests of all rounds; push ms = the signed push answered (decode, check, render, fsync);")
	fmt.Fprintln(w, "CPU = the server process's, per request answered; status RSS = the status-server's peak resident memory (VmHWM)")
	if errs > 0 {
		return fmt.Errorf("%d requests failed", errs)
	}
	return nil
}

func perRequest(r loadResult) float64 {
	if r.requests == 0 {
		return 0
	}
	return float64(r.cpu.Microseconds()) / float64(r.requests)
}

// measure runs both servers for one history size.
func measure(ctx context.Context, incidents int, o options) ([]row, error) {
	tmp, err := os.MkdirTemp("", "firebreak-statusload-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	secret := "bench-push-secret"
	status, err := startChild(ctx, "status", filepath.Join(tmp, "data"), secret)
	if err != nil {
		return nil, err
	}
	defer status.stop()

	body, err := json.Marshal(synthSnapshot(1, incidents, time.Now()))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := push(status.addr, secret, body); err != nil {
		return nil, err
	}
	pushed := time.Since(start)

	bareDir := filepath.Join(tmp, "bare")
	os.MkdirAll(bareDir, 0o755)
	sizes := map[string]int{}
	for _, r := range bareRoutes {
		b, err := fetchGzip(status.addr, r.path)
		if err != nil {
			return nil, err
		}
		sizes[r.path] = len(b)
		if err := os.WriteFile(filepath.Join(bareDir, r.file), b, 0o644); err != nil {
			return nil, err
		}
	}
	bare, err := startChild(ctx, "bare", bareDir, "")
	if err != nil {
		return nil, err
	}
	defer bare.stop()

	var rows []row
	for _, r := range bareRoutes {
		want := sizes[r.path]
		if o.warmup > 0 {
			load(ctx, status.addr, r.path, want, o.conns, o.warmup, 0)
			load(ctx, bare.addr, r.path, want, o.conns, o.warmup, 0)
		}
		out := row{incidents: incidents, snapshotBytes: len(body), push: pushed, path: r.path, bodyBytes: want}
		for round := range o.rounds {
			// Alternate who goes first, so that a drift in the machine's load hits both.
			first, second := status, bare
			if round%2 == 1 {
				first, second = bare, status
			}
			a := load(ctx, first.addr, r.path, want, o.conns, o.duration, first.pid())
			b := load(ctx, second.addr, r.path, want, o.conns, o.duration, second.pid())
			if first == bare {
				a, b = b, a
			}
			out.status = add(out.status, a)
			out.bare = add(out.bare, b)
			out.roundRatios = append(out.roundRatios, a.perSecond()/b.perSecond())
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
		out.statusRSS = peakRSS(status.pid())
		rows = append(rows, out)
	}
	return rows, nil
}

func add(a, b loadResult) loadResult {
	return loadResult{requests: a.requests + b.requests, errors: a.errors + b.errors, elapsed: a.elapsed + b.elapsed, cpu: a.cpu + b.cpu}
}

// push sends the snapshot signed, as the platform does.
func push(addr, secret string, body []byte) error {
	now := time.Now()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+statuspage.PushPath, bytes.NewReader(body))
	req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), now, body))
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("push: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("push: %d %s", resp.StatusCode, b)
	}
	return nil
}

// child is a server process of this program.
type child struct {
	cmd    *exec.Cmd
	addr   string
	stdin  io.WriteCloser
	stderr *bytes.Buffer
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// startChild runs this program as a server (mode status or bare) and reads its address.
func startChild(ctx context.Context, mode, dir, secret string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe)
	cmd.Env = append(os.Environ(), envServe+"="+mode, envDir+"="+dir, envSecret+"="+secret)
	c := &child{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = c.stderr
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, out)
	}()
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
		if !ok {
			c.stop()
			return nil, fmt.Errorf("%s server did not start: %q %s", mode, line, c.stderr)
		}
		c.addr = addr
		return c, nil
	case <-time.After(30 * time.Second):
		c.stop()
		return nil, errors.New(mode + " server did not start within 30 s")
	}
}

// stop ends the child and waits for it.
func (c *child) stop() {
	c.stdin.Close()
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}
