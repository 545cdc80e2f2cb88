package alerts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"firebreak/incidents"
	"firebreak/store"
	"firebreak/text"
)

// KindStale is the timeline line saying that alerts of the incident still firing have not
// been sent again by Alertmanager for alerts.stale_after.
const KindStale incidents.EventKind = "alerts_stale"

// staleNamesShown is how many alert names a stale line lists before "and N more".
const staleNamesShown = 3

// StaleReport is what one MarkStaleTx did.
type StaleReport struct {
	// Alerts is how many alerts it marked stale.
	Alerts int
	// Incidents are the open incidents whose timeline it wrote a line on.
	Incidents []int64
}

// MarkStaleTx marks, in the caller's transaction, the firing alerts that Alertmanager has
// not sent again for after (last seen at or before at − after), at most limit of them, and
// writes one timeline line per open incident saying how many of its alerts went stale:
// Alertmanager re-sends a firing alert every repeat_interval, so one it stopped sending was
// most likely resolved without Firebreak hearing of it, and the incident waits on an alert
// that will never resolve. Each alert is marked once; one seen again after it was marked can
// go stale, and be told, again. Alerts of resolved incidents are marked without a line:
// nobody waits on those.
func (in *Ingester) MarkStaleTx(ctx context.Context, q store.Querier, at time.Time, after time.Duration, limit int) (StaleReport, error) {
	at = dbTime(at)
	// status = 'firing' lets both databases walk the partial index of firing occurrences
	// (alerts_one_firing) instead of every occurrence ever stored; an ORDER BY id would make
	// SQLite scan the table by its key instead, and which alerts a limited run takes first
	// does not matter.
	// The last time an alert was seen is the later of its row's and its flushed repeats'.
	rows, err := q.QueryxContext(ctx, q.Rebind(`UPDATE alerts SET stale_at = ? WHERE id IN (
		SELECT alerts.id FROM alerts LEFT JOIN alert_repeats ON alert_repeats.alert_id = alerts.id
		WHERE alerts.status = 'firing' AND alerts.last_seen_at <= ?
			AND (alert_repeats.last_seen_at IS NULL OR alert_repeats.last_seen_at <= ?)
			AND (alerts.stale_at IS NULL OR alerts.stale_at < alerts.last_seen_at OR alerts.stale_at < alert_repeats.last_seen_at)
		LIMIT ?) RETURNING incident_id, alertname`), at, at.Add(-after), at.Add(-after), limit)
	if err != nil {
		return StaleReport{}, fmt.Errorf("mark stale alerts: %w", err)
	}
	names := map[int64][]string{}
	var order []int64
	var report StaleReport
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			rows.Close()
			return StaleReport{}, fmt.Errorf("mark stale alerts: %w", err)
		}
		if _, seen := names[id]; !seen {
			order = append(order, id)
		}
		names[id] = append(names[id], name)
		report.Alerts++
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return StaleReport{}, fmt.Errorf("mark stale alerts: %w", err)
	}
	if err := rows.Close(); err != nil {
		return StaleReport{}, fmt.Errorf("mark stale alerts: %w", err)
	}
	slices.Sort(order)
	for _, id := range order {
		inc, err := in.incidents.GetTx(ctx, q, id)
		if err != nil {
			return StaleReport{}, err
		}
		if !inc.Open() {
			continue
		}
		ev := incidents.Event{At: at, Actor: incidents.ActorFirebreak, Kind: KindStale, Text: staleText(names[id], after)}
		if _, err := in.incidents.RecordTx(ctx, q, inc, ev); err != nil {
			return StaleReport{}, err
		}
		report.Incidents = append(report.Incidents, id)
	}
	return report, nil
}

// staleText is the timeline line for an incident's alerts that went stale: "3 alerts still
// firing (DiskFull, HighLatency) have not been sent by Alertmanager for 24h; Alertmanager
// may have lost them".
func staleText(names []string, after time.Duration) string {
	distinct := slices.Compact(slices.Sorted(slices.Values(names)))
	for i, n := range distinct {
		distinct[i] = text.OneLine(n, maxAlertNameInLine)
	}
	listed := strings.Join(distinct[:min(len(distinct), staleNamesShown)], ", ")
	if more := len(distinct) - staleNamesShown; more > 0 {
		listed += fmt.Sprintf(" and %d more", more)
	}
	if len(names) == 1 {
		return fmt.Sprintf("1 alert still firing (%s) has not been sent by Alertmanager for %s; Alertmanager may have lost it",
			listed, shortDuration(after))
	}
	return fmt.Sprintf("%d alerts still firing (%s) have not been sent by Alertmanager for %s; Alertmanager may have lost them",
		len(names), listed, shortDuration(after))
}

// maxAlertNameInLine bounds each alert name a stale line lists.
const maxAlertNameInLine = 100

// shortDuration writes a duration as the config file does: "24h", "90m", "1h30m".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
