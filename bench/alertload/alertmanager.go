package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"firebreak/bench/internal/alertsend"
	"firebreak/bench/internal/serve"
)

// alertmanagerAlertsPath is where Prometheus posts alerts to Alertmanager.
const alertmanagerAlertsPath = "/api/v2/alerts"

// alertmanagerConfig routes every alert, grouped as the generated traffic is (by alertname
// and service), to a receiver with no integrations: Alertmanager does all of its work —
// storing, grouping, dispatching, the notification pipeline — and sends nothing anywhere.
const alertmanagerConfig = `# written by bench/alertload
route:
  receiver: blackhole
  group_by: [alertname, service]
receivers:
  - name: blackhole
`

// alertmanagerChild is one running Alertmanager.
type alertmanagerChild struct {
	base    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	peakRSS int64 // VmHWM read just before SIGTERM, bytes
}

// startAlertmanager starts bin in dir on a free loopback port with HA gossip off, its
// storage in dir/data, a warn-level log in dir/alertmanager.log, and waits for /-/ready.
func startAlertmanager(ctx context.Context, bin, dir string) (*alertmanagerChild, error) {
	addr, err := serve.FreeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(alertmanagerConfig), 0o600); err != nil {
		return nil, err
	}
	am := &alertmanagerChild{base: "http://" + addr, logPath: filepath.Join(dir, "alertmanager.log"), exited: make(chan struct{})}
	logFile, err := os.Create(am.logPath)
	if err != nil {
		return nil, err
	}
	am.cmd = exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--cluster.listen-address=", "--log.level=warn")
	am.cmd.Dir = dir
	am.cmd.Stdout, am.cmd.Stderr = logFile, logFile
	if err := am.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		am.waitErr = am.cmd.Wait()
		logFile.Close()
		close(am.exited)
	}()
	if err := am.waitReady(ctx); err != nil {
		_ = am.stop()
		return nil, fmt.Errorf("%w\n%s", err, am.logTail())
	}
	return am, nil
}

// waitReady polls GET /-/ready until it answers 200, for up to serve.StartTimeout.
func (am *alertmanagerChild) waitReady(ctx context.Context) error {
	return serve.WaitReady(ctx, am.base, "alertmanager", am.exited, func() error { return am.waitErr }, time.After(serve.StartTimeout))
}

func (am *alertmanagerChild) cpuTime() time.Duration { return serve.ProcCPUTime(am.cmd.Process.Pid) }

// runError is err, unless Alertmanager has exited: then that, with the end of its log.
func (am *alertmanagerChild) runError(err error) error {
	select {
	case <-am.exited:
		return fmt.Errorf("alertmanager exited during the run: %v\n%s", am.waitErr, am.logTail())
	default:
		return err
	}
}

// stop reads the peak RSS, sends SIGTERM and waits for a clean exit (SIGKILL after
// serve.StopTimeout).
func (am *alertmanagerChild) stop() error {
	select {
	case <-am.exited:
		return fmt.Errorf("alertmanager exited on its own: %v\n%s", am.waitErr, am.logTail())
	default:
	}
	if st, err := serve.ProcStatus(am.cmd.Process.Pid); err == nil {
		am.peakRSS = st["VmHWM"]
	}
	if err := am.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("SIGTERM alertmanager: %w", err)
	}
	select {
	case <-am.exited:
	case <-time.After(serve.StopTimeout):
		_ = am.cmd.Process.Kill()
		<-am.exited
		return fmt.Errorf("alertmanager did not stop within %s of SIGTERM; killed\n%s", serve.StopTimeout, am.logTail())
	}
	if am.waitErr != nil {
		return fmt.Errorf("alertmanager exited with %v after SIGTERM\n%s", am.waitErr, am.logTail())
	}
	return nil
}

func (am *alertmanagerChild) logTail() string {
	b, err := os.ReadFile(am.logPath)
	if err != nil {
		return "(no alertmanager log: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "alertmanager log (" + am.logPath + "), last lines:\n" + string(b)
}

// amCounts is what Alertmanager's /metrics says it received on its API.
type amCounts struct {
	firing, resolved, invalid int64
}

// counted reads alertmanager_alerts_received_total (by status) and
// alertmanager_alerts_invalid_total from /metrics.
func (am *alertmanagerChild) counted(ctx context.Context) (amCounts, error) {
	var c amCounts
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, am.base+"/metrics", nil)
	if err != nil {
		return c, err
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return c, fmt.Errorf("read alertmanager's /metrics: %w", err)
	}
	defer resp.Body.Close()
	found := false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		c, found = addMetric(c, sc.Text(), found)
	}
	if err := sc.Err(); err != nil {
		return c, fmt.Errorf("read alertmanager's /metrics: %w", err)
	}
	if !found {
		return c, errors.New("alertmanager's /metrics has no alertmanager_alerts_received_total")
	}
	return c, nil
}

// addMetric adds one exposition line to c when it is one of the counters counted reads.
func addMetric(c amCounts, line string, found bool) (amCounts, bool) {
	name, rest, ok := strings.Cut(line, "{")
	if !ok {
		name, rest, ok = strings.Cut(line, " ")
		rest = "} " + rest
	}
	if !ok || (name != "alertmanager_alerts_received_total" && name != "alertmanager_alerts_invalid_total") {
		return c, found
	}
	labels, value, ok := strings.Cut(rest, "} ")
	if !ok {
		return c, found
	}
	f := strings.Fields(value)
	if len(f) == 0 {
		return c, found
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return c, found
	}
	switch {
	case name == "alertmanager_alerts_invalid_total":
		c.invalid += int64(v)
	case strings.Contains(labels, `status="firing"`):
		c.firing += int64(v)
		found = true
	case strings.Contains(labels, `status="resolved"`):
		c.resolved += int64(v)
		found = true
	}
	return c, found
}

// withAlertmanager starts an Alertmanager child in a directory of its own, runs fn with it
// and a poster of senders connections to its /api/v2/alerts, then stops it and reports its
// peak RSS (VmHWM) in bytes; an unclean stop joins fn's error.
func withAlertmanager(ctx context.Context, o options, what string, stderr io.Writer,
	fn func(am *alertmanagerChild, p *alertsend.Poster) error) (peakRSS int64, err error) {
	dir, removeDir, err := childDir(o, "alertmanager", stderr)
	if err != nil {
		return 0, err
	}
	defer removeDir()
	fmt.Fprintf(stderr, "alertload: %s: starting %s\n", what, o.alertmanager)
	am, err := startAlertmanager(ctx, o.alertmanager, dir)
	if err != nil {
		return 0, err
	}
	defer func() {
		if serr := am.stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		peakRSS = am.peakRSS
	}()
	p := alertsend.NewPoster(am.base+alertmanagerAlertsPath, "", o.senders)
	defer p.Close()
	return 0, fn(am, p)
}
