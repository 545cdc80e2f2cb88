package main

import (
	"fmt"
	"io"
)

// endLabel names the storm's end in its result and summary lines: the storm's label with
// -end, which bench/alerts.sh's summary block keeps apart from the storm's own line.
func endLabel(o options) string { return o.label() + "-end" }

// printStormEnd prints the storm's end as printStorm prints the storm: a row per target,
// what Firebreak and Alertmanager say they resolved, the ratio, and the result and summary
// lines. The end has no target yet; what it checks is that every alert was resolved.
func printStormEnd(w io.Writer, o options, base, fb, am *stormResult) {
	fmt.Fprintf(w, "the storm ends: %d resolves over %d groups, the storm's notifications again with every alert resolved, to the same servers right after it\n",
		o.storm, o.stormGroups)
	printStormTable(w, base, fb, am)
	fmt.Fprintln(w, "seconds = first post to last answer; latency of a notification = until its 200, retries included; CPU = during the end only; peak RSS = VmHWM once the last was answered, the storm's included")
	if fb == nil {
		return
	}
	for _, r := range []*stormResult{fb, am} {
		if r != nil {
			printErrors(w, r.stats)
		}
	}
	resolved := fb.Answered.Resolved == int64(o.storm)
	fmt.Fprintf(w, "%s answered: received %d = new %d + deduplicated %d + resolved %d; all %d resolved: %s\n",
		fb.target, fb.Answered.Received, fb.Answered.New, fb.Answered.Deduplicated, fb.Answered.Resolved, o.storm, yesNo(resolved))
	if am != nil && am.amCounted != nil {
		// Its counters run on from the storm: the firing are the storm's, the resolved the end's.
		c := am.amCounted
		fmt.Fprintf(w, "alertmanager counted (its /metrics): received %d = firing %d (the storm) + resolved %d, invalid %d; all %d resolves taken: %s\n",
			c.firing+c.resolved, c.firing, c.resolved, c.invalid, o.storm, yesNo(c.resolved == int64(o.storm) && c.invalid == 0 && am.lost == 0))
	}
	amPart := ""
	resultAM := ""
	if am != nil {
		ratio := divide(fb.AlertsPerSecond(), am.AlertsPerSecond())
		fmt.Fprintf(w, "ratio firebreak ÷ alertmanager alerts/s: %.3f (alertmanager took %.2f s)\n", ratio, am.Elapsed.Seconds())
		amPart = fmt.Sprintf("; alertmanager %.2f s (%.0f alerts/s, peak RSS %s MiB); ratio %.2f×", am.Elapsed.Seconds(), am.AlertsPerSecond(), mib(am.hwm), ratio)
		resultAM = fmt.Sprintf(" am_seconds=%.3f am_alerts_per_sec=%.1f am_rss_mib=%s am_ratio=%.3f", am.Elapsed.Seconds(), am.AlertsPerSecond(), mib(am.hwm), ratio)
	}
	secs := fb.Elapsed
	fmt.Fprintf(w, "result target=%s run=%s alerts=%d resolved=%d seconds=%.3f alerts_per_sec=%.1f p99_ms=%.2f rss_mib=%s%s\n",
		fb.target, endLabel(o), o.storm, fb.Answered.Resolved, secs.Seconds(), fb.AlertsPerSecond(), msf(fb.Percentile(0.99)), mib(fb.hwm), resultAM)
	fmt.Fprintf(w, "summary %s: firebreak %d resolves in %.2f s (%.0f alerts/s, %d resolved, peak RSS %s MiB)%s; all resolved: %s (no target yet)\n",
		endLabel(o), o.storm, secs.Seconds(), fb.AlertsPerSecond(), fb.Answered.Resolved, mib(fb.hwm), amPart, yesNo(resolved))
}
