package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// The targets, on a 2-core machine.
const (
	targetAlertsPerSec = 20_000                // SQLite, the mix
	targetP99          = 50 * time.Millisecond // SQLite, the mix
	targetPrefilled    = 0.80                  // of the empty database's alerts/s, with 1,000,000 rows stored
	// Firebreak's alerts/s over Alertmanager's with the same alerts: twice on SQLite with the
	// mix, at least as many otherwise (the mix on PostgreSQL, all-new traffic, storms).
	targetRatioSQLiteMix = 2.0
	targetRatio          = 1.0
)

// ratioTarget is the firebreak ÷ alertmanager target of the run, and whether it also asks
// for p99 under targetP99.
func ratioTarget(o options) (ratio float64, p99Too bool) {
	if o.db == "sqlite" && o.mixName == "mix" && o.storm == 0 {
		return targetRatioSQLiteMix, true
	}
	return targetRatio, false
}

func printTable(w io.Writer, rs []*stats) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tprefilled\talerts/s\trequests/s\tp50\tp99\tmax\terrors\tpeak RSS MiB\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.0f\t%s\t%s\t%s\t%d\t%s\t\n", r.target, r.prefilled, r.AlertsPerSecond(),
			r.PerSecond(r.Requests), ms(r.Percentile(0.50)), ms(r.Percentile(0.99)), ms(r.Percentile(1)), r.ErrorCount(), mib(r.hwm))
	}
	tw.Flush()
}

func printNotes(w io.Writer, o options, base, fb, am *stats) {
	ratio := divide(fb.AlertsPerSecond(), base.AlertsPerSecond())
	fmt.Fprintf(w, "ratio %s ÷ decode-only alerts/s: %.3f\n", fb.target, ratio)
	s := fb.Sent
	fmt.Fprintf(w, "sent: %d alerts in %d payloads = %d repeats (%.1f%%), %d new (%.1f%%), %d resolves (%.1f%%); %d firing at the end\n",
		s.Alerts, s.Payloads, s.Repeats, pct(s.Repeats, s.Alerts), s.New, pct(s.New, s.Alerts), s.Resolves, pct(s.Resolves, s.Alerts), fb.Firing)
	fmt.Fprintf(w, "%s answered: received %d = new %d + deduplicated %d + resolved %d\n",
		fb.target, fb.Answered.Received, fb.Answered.New, fb.Answered.Deduplicated, fb.Answered.Resolved)
	amCPU := ""
	if am != nil {
		amCPU = fmt.Sprintf("; alertmanager %.2f (its load generator %.2f)", cores(am.serverCPU, am.Elapsed), cores(am.loadCPU, am.Elapsed))
	}
	fmt.Fprintf(w, "CPU during the measured load, in cores (this machine has %d): firebreak %.2f; load generator %.2f (decode-only run: load generator + decoding handler %.2f)%s\n",
		runtime.NumCPU(), cores(fb.serverCPU, fb.Elapsed), cores(fb.loadCPU, fb.Elapsed), cores(base.loadCPU, base.Elapsed), amCPU)
	fmt.Fprintf(w, "peak RSS = each server's VmHWM at the end (start-up, prefill and warm-up included); firebreak's largest VmRSS sampled during the measured load: %s MiB\n",
		mib(fb.measuredRSS))
	if o.prefill > 0 {
		fmt.Fprintf(w, "prefill: %d alert rows stored (fired, then resolved) in %s, %.0f alerts/s",
			fb.prefilled, fb.prefillTook.Round(time.Second), float64(fb.prefilled)/fb.prefillTook.Seconds())
		if fb.prefillErr != nil {
			fmt.Fprintf(w, " — incomplete: %v", fb.prefillErr)
		}
		fmt.Fprintln(w)
	}
	printErrors(w, fb)
	if am != nil {
		printAlertmanagerNotes(w, am)
	}
	aps, p99 := fb.AlertsPerSecond(), fb.Percentile(0.99)
	if o.db == "sqlite" && o.mixName == "mix" {
		fmt.Fprintf(w, "target (SQLite, 2 cores): ≥ %d alerts/s: %s (%.0f); p99 < %s: %s (%s)\n",
			targetAlertsPerSec, yesNo(aps >= targetAlertsPerSec), aps, targetP99, yesNo(p99 < targetP99), ms(p99))
	}
	var amRatio float64
	verdict := ""
	if am != nil {
		amRatio = divide(aps, am.AlertsPerSecond())
		verdict = amVerdict(o, amRatio, p99)
		fmt.Fprintf(w, "ratio firebreak ÷ alertmanager alerts/s: %.3f\n", amRatio)
		fmt.Fprintf(w, "target (%s): %s\n", o.label(), verdict)
	}
	prefillVerdict := ""
	if o.prefill > 0 && o.baseline > 0 {
		prefillVerdict = fmt.Sprintf("%.1f%% of the empty run's %.0f alerts/s (≥ %.0f%%: %s)",
			100*aps/o.baseline, o.baseline, targetPrefilled*100, yesNo(aps >= targetPrefilled*o.baseline))
		fmt.Fprintf(w, "target with %d rows stored: %s\n", fb.prefilled, prefillVerdict)
	}
	// One line for scripts (bench/alerts.sh reads alerts_per_sec from it), one for people.
	fmt.Fprintf(w, "result target=%s run=%s prefilled=%d alerts_per_sec=%.1f p50_ms=%.2f p99_ms=%.2f errors=%d rss_mib=%s decode_only_alerts_per_sec=%.1f ratio=%.3f",
		fb.target, o.label(), fb.prefilled, aps, msf(fb.Percentile(0.5)), msf(p99), fb.ErrorCount(), mib(fb.hwm), base.AlertsPerSecond(), ratio)
	if am != nil {
		fmt.Fprintf(w, " am_alerts_per_sec=%.1f am_p99_ms=%.2f am_errors=%d am_rss_mib=%s am_ratio=%.3f",
			am.AlertsPerSecond(), msf(am.Percentile(0.99)), am.ErrorCount(), mib(am.hwm), amRatio)
	}
	fmt.Fprintln(w)
	sum := fmt.Sprintf("summary %s: firebreak %s", o.label(), figures(fb))
	if am != nil {
		sum += fmt.Sprintf("; alertmanager %s; ratio %.2f× (%s)", figures(am), amRatio, verdict)
	}
	if prefillVerdict != "" {
		sum += fmt.Sprintf("; %d rows stored: %s", fb.prefilled, prefillVerdict)
	}
	fmt.Fprintf(w, "%s; decode-only %.0f alerts/s\n", sum, base.AlertsPerSecond())
}

// amVerdict judges the firebreak ÷ alertmanager ratio (and p99 where the target asks).
func amVerdict(o options, ratio float64, p99 time.Duration) string {
	want, p99Too := ratioTarget(o)
	if p99Too {
		return fmt.Sprintf("≥ %.1f× and p99 < %s: %s", want, targetP99, yesNo(ratio >= want && p99 < targetP99))
	}
	return fmt.Sprintf("≥ %.1f×: %s", want, yesNo(ratio >= want))
}

// printAlertmanagerNotes says what Alertmanager counted, and its errors.
func printAlertmanagerNotes(w io.Writer, am *stats) {
	if c := am.amCounted; c != nil {
		posted := am.Sent.WarmedUp + am.Sent.Alerts
		fmt.Fprintf(w, "alertmanager counted (its /metrics): received %d = firing %d + resolved %d (posted: %d warm-up + %d measured = %d); invalid %d\n",
			c.firing+c.resolved, c.firing, c.resolved, am.Sent.WarmedUp, am.Sent.Alerts, posted, c.invalid)
	}
	printErrors(w, am)
}

// printErrors prints the errors of r by status, with a few samples.
func printErrors(w io.Writer, r *stats) {
	if r.ErrorCount() == 0 {
		return
	}
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, r.Errors[k]))
	}
	fmt.Fprintf(w, "%s errors by status: %s\n", r.target, strings.Join(parts, ", "))
	for _, m := range r.Samples {
		fmt.Fprintf(w, "  e.g. %s\n", m)
	}
}

// figures is one target's alerts/s, p99, peak RSS and errors, for the summary.
func figures(r *stats) string {
	s := fmt.Sprintf("%.0f alerts/s, p99 %s, peak RSS %s MiB", r.AlertsPerSecond(), ms(r.Percentile(0.99)), mib(r.hwm))
	if n := r.ErrorCount(); n > 0 {
		s += fmt.Sprintf(", %d errors", n)
	}
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", msf(d)) }

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mib is bytes in MiB with one decimal, or "-" for 0 (not measured).
func mib(b int64) string {
	if b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(b)/(1<<20))
}

func divide(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func cores(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return cpu.Seconds() / wall.Seconds()
}

func pct(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func yesNo(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}
