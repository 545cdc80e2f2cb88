// Command slack measures Firebreak's Slack delivery against a fake Slack Web API on
// loopback (notify/slack/slackfake), with the platform built in process by the same app
// builder as `firebreak serve`:
//
//   - latency: the time from the Alertmanager webhook that opens an incident to its
//     chat.postMessage reaching the fake Slack, incidents one after another (p50, p90, p99,
//     max; the target is p99 under 100 ms on SQLite);
//
//   - ratelimit: incidents opened at once into one channel whose fake allows one message a
//     second (429 with Retry-After: 1 otherwise), each acknowledged and noted from Slack
//     (signed /slack/commands requests): whether every message arrived, once, each
//     incident's in order, and how long it took.
//
//     go run ./bench/slack -db sqlite -mode both -incidents 200
//     FIREBREAK_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go run ./bench/slack -db postgres
//
// Everything it talks to is on loopback; every run is bounded in time and in count.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"firebreak/bench/internal/cli"
	"firebreak/bench/internal/pgschema"
)

// Bounds and the target.
const (
	maxIncidents = 2000
	maxTimeout   = 2 * time.Hour
	// targetP99 is the target on SQLite: "p99 under 100 ms".
	targetP99 = 100 * time.Millisecond
)

func main() { cli.Main("slack", run) }

// options are the parsed flags.
type options struct {
	db        string
	mode      string
	incidents int
	// limited is how many incidents the ratelimit measurement opens at once.
	limited  int
	replies  int
	interval time.Duration
	timeout  time.Duration
	pgURL    string
	log      io.Writer
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := cli.NewFlagSet("slack", stderr)
	db := fs.String("db", "sqlite", "database: sqlite or postgres (PostgreSQL from $"+pgschema.URLEnv+")")
	mode := fs.String("mode", "both", "what to measure: latency, ratelimit or both")
	incidents := fs.Int("incidents", 200, fmt.Sprintf("incidents of the latency measurement, one after another, 1 to %d", maxIncidents))
	limited := fs.Int("limited", 200, fmt.Sprintf("incidents opened at once into the rate-limited channel, 1 to %d", maxIncidents))
	replies := fs.Int("replies", 2, "thread replies per rate-limited incident (an ack, then notes), 0 to 5")
	interval := fs.Duration("interval", time.Second, "the rate-limited channel's fake takes one message per this interval")
	timeout := fs.Duration("timeout", 30*time.Minute, "bound on each measurement, at most "+maxTimeout.String())
	if err := cli.Parse(fs, args); err != nil {
		return options{}, err
	}
	o := options{db: *db, mode: *mode, incidents: *incidents, limited: *limited, replies: *replies, interval: *interval,
		timeout: *timeout, log: stderr}
	switch {
	case o.db != "sqlite" && o.db != "postgres":
		return options{}, fmt.Errorf("-db %q: want sqlite or postgres", o.db)
	case o.mode != "latency" && o.mode != "ratelimit" && o.mode != "both":
		return options{}, fmt.Errorf("-mode %q: want latency, ratelimit or both", o.mode)
	case o.incidents < 1 || o.incidents > maxIncidents || o.limited < 1 || o.limited > maxIncidents:
		return options{}, fmt.Errorf("-incidents and -limited: want 1 to %d", maxIncidents)
	case o.replies < 0 || o.replies > 5:
		return options{}, fmt.Errorf("-replies %d: want 0 to 5", o.replies)
	case o.interval <= 0 || o.interval > time.Minute:
		return options{}, fmt.Errorf("-interval %s: want more than 0 and at most a minute", o.interval)
	case o.timeout <= 0 || o.timeout > maxTimeout:
		return options{}, fmt.Errorf("-timeout %s: want more than 0 and at most %s", o.timeout, maxTimeout)
	}
	if o.db == "postgres" {
		o.pgURL = pgschema.BaseURL()
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	// The migration runner's info lines would drown the figures.
	slog.SetLogLoggerLevel(slog.LevelWarn)
	fmt.Fprintf(stdout, "firebreak Slack delivery against a fake Slack on loopback: %s, %d CPUs, %s/%s\n", o.db, runtime.NumCPU(),
		runtime.GOOS, runtime.GOARCH)
	failed := false
	if o.mode == "latency" || o.mode == "both" {
		res, err := measureLatency(ctx, o)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		res.print(stdout, o)
		failed = failed || res.missing > 0
	}
	if o.mode == "ratelimit" || o.mode == "both" {
		res, err := measureRateLimit(ctx, o)
		if err != nil {
			return fmt.Errorf("ratelimit: %w", err)
		}
		res.print(stdout, o)
		failed = failed || !res.ok()
	}
	if failed {
		return fmt.Errorf("some messages were not delivered as they should be (see above)")
	}
	return nil
}
