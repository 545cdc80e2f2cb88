package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"time"

	"firebreak/bench/alertload/mix"
	"firebreak/bench/internal/alertsend"
	"firebreak/bench/internal/serve"
)

// webhookPath is Firebreak's Alertmanager receiver.
const webhookPath = "/api/v1/alerts/alertmanager"

// stats is what one measured load produced, and what is known of its server.
type stats struct {
	*alertsend.Stats
	target    string
	prefilled int64

	serverCPU, loadCPU time.Duration
	hwm, measuredRSS   int64 // bytes; 0 for decode-only

	prefillTook time.Duration
	prefillErr  error

	amCounted *amCounts // Alertmanager's own count of what it received, from its /metrics
}

// runLoad measures the timed load: decode-only, Firebreak and, with -alertmanager,
// Alertmanager, one after the other with the same traffic.
func runLoad(ctx context.Context, o options, runID string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "alert ingestion: %d senders × %d alerts a request (%s), %d groups, %d firing alerts warmed up, %s per target, %d CPUs, %s/%s\n",
		o.senders, o.perRequest, o.describe(), o.groups, o.groups*o.warmPerGroup, o.duration, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)

	// (a) The floor: the same load against a handler that only decodes.
	fmt.Fprintf(stderr, "alertload: decode-only: %d senders for %s\n", o.senders, o.duration)
	base, err := measureDecodeOnly(ctx, o, runID)
	if err != nil {
		return fmt.Errorf("decode-only: %w", err)
	}
	// (b–d) Firebreak itself.
	fb, fbErr := measureFirebreak(ctx, o, runID, stderr)
	// (e) Alertmanager, with the same alerts.
	var am *stats
	var amErr error
	if o.alertmanager != "" && ctx.Err() == nil {
		am, amErr = measureAlertmanager(ctx, o, runID, stderr)
	}
	results := []*stats{base}
	for _, r := range []*stats{fb, am} {
		if r != nil {
			results = append(results, r)
		}
	}
	printTable(stdout, results)
	if fb != nil {
		printNotes(stdout, o, base, fb, am)
	}
	if am != nil && fb == nil {
		printAlertmanagerNotes(stdout, am)
	}
	if amErr != nil {
		fmt.Fprintf(stdout, "FAILED alertmanager: %v\n", amErr)
	}
	return errors.Join(fbErr, amErr)
}

func measureDecodeOnly(ctx context.Context, o options, runID string) (*stats, error) {
	d, err := startDecodeOnly()
	if err != nil {
		return nil, err
	}
	defer d.stop()
	p := alertsend.NewPoster(d.base+webhookPath, "", o.senders)
	defer p.Close()
	gens, err := newGenerators(o, runID+"d", mix.Webhook)
	if err != nil {
		return nil, err
	}
	if err := alertsend.Warmup(ctx, p, gens, o.warmPerGroup); err != nil {
		return nil, err
	}
	cpu0 := serve.SelfCPUTime()
	st := &stats{Stats: alertsend.MeasureFor(ctx, p, gens, o.duration, false), target: "decode-only"}
	st.loadCPU = serve.SelfCPUTime() - cpu0
	return st, nil
}

// measureFirebreak starts `firebreak serve`, prefills, warms up and measures it.
func measureFirebreak(ctx context.Context, o options, runID string, stderr io.Writer) (st *stats, err error) {
	dir, removeDir, err := childDir(o, "firebreak-"+o.db, stderr)
	if err != nil {
		return nil, err
	}
	defer removeDir()
	dbURL, dropSchema, err := serve.DatabaseURL(ctx, o.db, dir, o.pgURL, stderr, "alertload")
	if err != nil {
		return nil, err
	}
	defer dropSchema()
	fmt.Fprintf(stderr, "alertload: firebreak-%s: starting firebreak serve\n", o.db)
	c, err := serve.Start(ctx, serve.Options{Bin: o.bin, Dir: dir, DBURL: dbURL, SampleRSS: true})
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := c.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
		if st != nil {
			st.hwm = c.PeakRSS()
		}
	}()
	p := alertsend.NewPoster(c.Base+webhookPath, c.Token, max(o.senders, o.prefillSenders))
	defer p.Close()

	var stored int64
	var took time.Duration
	var perr error
	if o.prefill > 0 {
		fmt.Fprintf(stderr, "alertload: firebreak-%s: prefill of %d alerts (fired, then resolved; %d senders, 100 a request, %d groups)\n",
			o.db, o.prefill, o.prefillSenders, o.prefillGroups)
		stored, took, perr = prefill(ctx, p, o, runID, stderr)
		fmt.Fprintf(stderr, "alertload: firebreak-%s: prefill stored %d alerts in %s (%.0f alerts/s)\n",
			o.db, stored, took.Round(time.Millisecond), float64(stored)/took.Seconds())
		if perr != nil {
			fmt.Fprintf(stderr, "alertload: firebreak-%s: %v; measuring with what was stored\n", o.db, perr)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	gens, err := newGenerators(o, runID, mix.Webhook)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "alertload: firebreak-%s: warm-up of %d firing alerts\n", o.db, o.groups*o.warmPerGroup)
	if err := alertsend.Warmup(ctx, p, gens, o.warmPerGroup); err != nil {
		return nil, c.RunError(err)
	}
	fmt.Fprintf(stderr, "alertload: firebreak-%s: %d senders for %s\n", o.db, o.senders, o.duration)
	c.ResetRSS() // the sampled RSS covers the measured load only, not the prefill or warm-up
	srv0, self0 := c.CPUTime(), serve.SelfCPUTime()
	st = &stats{Stats: alertsend.MeasureFor(ctx, p, gens, o.duration, true), target: "firebreak-" + o.db}
	st.serverCPU, st.loadCPU = c.CPUTime()-srv0, serve.SelfCPUTime()-self0
	st.measuredRSS = c.SampledRSS()
	st.prefilled, st.prefillTook, st.prefillErr = stored, took, perr
	return st, nil
}

// measureAlertmanager starts Alertmanager, warms it up and measures it with the alerts
// Firebreak got (same generators, same seeds), as postable alerts on /api/v2/alerts.
func measureAlertmanager(ctx context.Context, o options, runID string, stderr io.Writer) (*stats, error) {
	var st *stats
	hwm, err := withAlertmanager(ctx, o, "alertmanager", stderr, func(am *alertmanagerChild, p *alertsend.Poster) error {
		gens, err := newGenerators(o, runID, mix.PostableAlerts)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "alertload: alertmanager: warm-up of %d firing alerts\n", o.groups*o.warmPerGroup)
		if err := alertsend.Warmup(ctx, p, gens, o.warmPerGroup); err != nil {
			return am.runError(err)
		}
		fmt.Fprintf(stderr, "alertload: alertmanager: %d senders for %s\n", o.senders, o.duration)
		srv0, self0 := am.cpuTime(), serve.SelfCPUTime()
		st = &stats{Stats: alertsend.MeasureFor(ctx, p, gens, o.duration, false), target: "alertmanager"}
		st.serverCPU, st.loadCPU = am.cpuTime()-srv0, serve.SelfCPUTime()-self0
		if n, err := am.counted(ctx); err == nil {
			st.amCounted = &n
		} else {
			fmt.Fprintf(stderr, "alertload: alertmanager: %v\n", err)
		}
		return nil
	})
	if st != nil {
		st.hwm = hwm
	}
	return st, err
}

// newGenerators makes one generator per sender, each owning its share of the groups, the
// same alerts whatever the format.
func newGenerators(o options, run string, f mix.Format) ([]*mix.Generator, error) {
	gens := make([]*mix.Generator, o.senders)
	for i := range gens {
		g, err := mix.NewGenerator(mix.Config{Run: run, Groups: mix.Partition(o.groups, o.senders, i),
			PerRequest: o.perRequest, Mix: o.mix, Format: f, Seed: uint64(i + 1)})
		if err != nil {
			return nil, err
		}
		gens[i] = g
	}
	return gens, nil
}
