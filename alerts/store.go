package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"firebreak/store"
)

// Alert is one stored alert occurrence as the incident API shows it.
type Alert struct {
	ID           int64             `json:"-" db:"id"`
	IncidentID   int64             `json:"-" db:"incident_id"`
	Fingerprint  string            `json:"fingerprint" db:"fingerprint"`
	Status       string            `json:"status" db:"status"`
	Alertname    string            `json:"-" db:"alertname"`
	Labels       map[string]string `json:"labels" db:"-"`
	Annotations  map[string]string `json:"annotations" db:"-"`
	GeneratorURL string            `json:"generator_url" db:"generator_url"`
	StartsAt     time.Time         `json:"starts_at" db:"starts_at"`
	EndsAt       *time.Time        `json:"ends_at" db:"ends_at"`
	LastSeenAt   time.Time         `json:"last_seen_at" db:"last_seen_at"`
	Repeats      int               `json:"repeats" db:"repeats"`
	LabelsJSON   string            `json:"-" db:"labels"`
	AnnotsJSON   string            `json:"-" db:"annotations"`
	// What the repeat flushes wrote (alert_repeats), added to Repeats and LastSeenAt by
	// withFlushed.
	FlushedRepeats int        `json:"-" db:"flushed_repeats"`
	FlushedSeenAt  *time.Time `json:"-" db:"flushed_seen_at"`
}

// alertColumns are an Alert's columns, the flushed repeats included: select them FROM
// alertsWithRepeats.
const alertColumns = `alerts.id, alerts.incident_id, alerts.fingerprint, alerts.status, alerts.alertname, alerts.labels,
	alerts.annotations, alerts.generator_url, alerts.starts_at, alerts.ends_at, alerts.last_seen_at, alerts.repeats,
	COALESCE(alert_repeats.repeats, 0) AS flushed_repeats, alert_repeats.last_seen_at AS flushed_seen_at`

// alertsWithRepeats joins each alert to the repeats flushed for it.
const alertsWithRepeats = `alerts LEFT JOIN alert_repeats ON alert_repeats.alert_id = alerts.id`

// withFlushed adds the flushed repeats to the counts the writer kept, and normalises times.
func (a *Alert) withFlushed() {
	a.Repeats += a.FlushedRepeats
	a.FlushedRepeats = 0
	a.StartsAt, a.LastSeenAt = a.StartsAt.UTC(), a.LastSeenAt.UTC()
	if a.FlushedSeenAt != nil && a.FlushedSeenAt.After(a.LastSeenAt) {
		a.LastSeenAt = a.FlushedSeenAt.UTC()
	}
	a.FlushedSeenAt = nil
	if a.EndsAt != nil {
		t := a.EndsAt.UTC()
		a.EndsAt = &t
	}
}

// firingOccurrence is the firing occurrence of a fingerprint as markRepeats found it.
type firingOccurrence struct {
	id         int64
	incidentID int64
	startsAt   time.Time
}

// repeatChunk bounds the fingerprints marked by one statement.
const repeatChunk = 500

// markRepeats moves last_seen_at of the given firing occurrences and counts the repeat, in
// one statement per chunk. It returns, by fingerprint, the occurrences it marked.
func markRepeats(ctx context.Context, q store.Querier, ids []int64, now time.Time) (map[string]firingOccurrence, error) {
	out := make(map[string]firingOccurrence, len(ids))
	for start := 0; start < len(ids); start += repeatChunk {
		chunk := ids[start:min(start+repeatChunk, len(ids))]
		query, args := inList(q, `UPDATE alerts SET last_seen_at = ?, repeats = repeats + 1 WHERE status = 'firing' AND id`,
			"bigint", chunk, now)
		rows, err := q.QueryxContext(ctx, query+` RETURNING fingerprint, starts_at, incident_id, id`, args...)
		if err != nil {
			return nil, fmt.Errorf("mark repeats: %w", err)
		}
		for rows.Next() {
			var fp string
			var occ firingOccurrence
			if err := rows.Scan(&fp, &occ.startsAt, &occ.incidentID, &occ.id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("mark repeats: %w", err)
			}
			occ.startsAt = occ.startsAt.UTC()
			out[fp] = occ
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, fmt.Errorf("mark repeats: %w", err)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("mark repeats: %w", err)
		}
	}
	return out, nil
}

// moveStart moves the start of a fingerprint's firing occurrence back to startsAt, and
// reports whether it did. It does not move it to or before the end of an earlier occurrence
// of the fingerprint: such a start belongs to that one (a late delivery).
func moveStart(ctx context.Context, q store.Querier, fp string, startsAt time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, q.Rebind(`UPDATE alerts SET starts_at = ?
		WHERE fingerprint = ? AND status = 'firing' AND starts_at > ? AND NOT EXISTS (
			SELECT 1 FROM alerts AS ended WHERE ended.fingerprint = alerts.fingerprint AND ended.status = 'resolved' AND ended.ends_at >= ?)`),
		startsAt, fp, startsAt, startsAt)
	if err != nil {
		return false, fmt.Errorf("move the start of alert %s back: %w", fp, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("move the start of alert %s back: %w", fp, err)
	}
	return n == 1, nil
}

// resolution is a resolved notification to apply: the firing occurrence of fp, if it began
// no later than endsAt, ends at endsAt and was last seen at seen.
type resolution struct {
	fp     string
	endsAt time.Time
	seen   time.Time
}

// resolveChunk bounds the resolutions of one statement: 3 values each stays far below
// SQLite's 32,766 bound values.
const resolveChunk = 500

// markResolvedMany resolves the firing occurrence of each fingerprint (given once each) at
// its end, unless it began after that end (then the notification is about an earlier
// occurrence), in one statement per chunk: when an outage ends, Alertmanager sends each group's alerts resolved in one
// notification, and a statement each made a storm's end take thousands of round trips. It
// returns, by fingerprint, the incident of each occurrence it resolved; a fingerprint with
// no firing occurrence that began by its end is missing.
func markResolvedMany(ctx context.Context, q store.Querier, rs []resolution) (map[string]int64, error) {
	out := make(map[string]int64, len(rs))
	for start := 0; start < len(rs); start += resolveChunk {
		chunk := rs[start:min(start+resolveChunk, len(rs))]
		query, args := resolvedValues(q, chunk)
		err := queryByFingerprint(ctx, q, out, q.Rebind(`UPDATE alerts SET status = 'resolved', ends_at = v.ends_at, last_seen_at = v.seen
			FROM `+query+`
			WHERE alerts.fingerprint = v.fp AND alerts.status = 'firing' AND alerts.starts_at <= v.ends_at
			RETURNING alerts.fingerprint, alerts.incident_id`), args...)
		if err != nil {
			return nil, fmt.Errorf("resolve %d alerts: %w", len(chunk), err)
		}
	}
	return out, nil
}

// resolvedValues is the table v(fp, ends_at, seen) of resolutions, not yet bound, with its
// arguments: on PostgreSQL three unnested arrays (one statement text whatever the count, so
// one prepared plan), on SQLite a VALUES list.
func resolvedValues(q store.Querier, rs []resolution) (string, []any) {
	if q.Rebind("?") == "$1" {
		fps := make([]string, len(rs))
		ends := make([]time.Time, len(rs))
		seen := make([]time.Time, len(rs))
		for i, r := range rs {
			fps[i], ends[i], seen[i] = r.fp, r.endsAt, r.seen
		}
		return `unnest(?::text[], ?::timestamptz[], ?::timestamptz[]) AS v(fp, ends_at, seen)`, []any{fps, ends, seen}
	}
	args := make([]any, 0, 3*len(rs))
	for _, r := range rs {
		args = append(args, r.fp, r.endsAt, r.seen)
	}
	return `(SELECT column1 AS fp, column2 AS ends_at, column3 AS seen FROM (VALUES (?, ?, ?)` +
		strings.Repeat(", (?, ?, ?)", len(rs)-1) + `)) AS v`, args
}

// occurrenceEnd is the latest occurrence of a fingerprint.
type occurrenceEnd struct {
	ID         int64
	IncidentID int64
	Status     string
	StartsAt   time.Time
	EndsAt     *time.Time
}

// latestOccurrences returns the latest occurrence, in any status, of each fingerprint of fps
// (given once each) that has one, in one statement per chunk: the firing one, through the
// index of firing occurrences, or else the latest ended one, through the index of ended
// ones (one probe of its last entry per fingerprint: a flapping alert may have hundreds of
// ended occurrences, and every payload naming it would read them all).
func latestOccurrences(ctx context.Context, q store.Querier, fps []string) (map[string]occurrenceEnd, error) {
	out := make(map[string]occurrenceEnd, len(fps))
	for start := 0; start < len(fps); start += repeatChunk {
		chunk := fps[start:min(start+repeatChunk, len(fps))]
		cond, args := store.In(q, "text", chunk)
		ended, endedArgs := latestEnded(q, chunk)
		query := q.Rebind(`SELECT id, fingerprint, incident_id, status, starts_at, ends_at FROM alerts
			WHERE status = 'firing' AND fingerprint` + cond + `
			UNION ALL ` + ended)
		args = append(args, endedArgs...)
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("read alerts: %w", err)
		}
		for rows.Next() {
			var fp string
			var o occurrenceEnd
			if err := rows.Scan(&o.ID, &fp, &o.IncidentID, &o.Status, &o.StartsAt, &o.EndsAt); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read alerts: %w", err)
			}
			// Occurrences of one fingerprint never overlap: the latest (the firing one, if
			// any) starts last.
			if prev, ok := out[fp]; !ok || o.StartsAt.After(prev.StartsAt) {
				o.StartsAt = o.StartsAt.UTC()
				if o.EndsAt != nil {
					t := o.EndsAt.UTC()
					o.EndsAt = &t
				}
				out[fp] = o
			}
		}
		if err := rows.Err(); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read alerts: %w", err)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("read alerts: %w", err)
		}
	}
	return out, nil
}

// inList completes query, which ends in a column, with "is one of values" (store.In) and
// returns it bound for q's database, args first.
func inList[T any](q store.Querier, query, sqlType string, values []T, args ...any) (string, []any) {
	cond, condArgs := store.In(q, sqlType, values)
	return q.Rebind(query + cond), append(args, condArgs...)
}

// latestEnded selects the latest ended occurrence of each of fps, one index probe per
// fingerprint, and returns the query, not yet bound, with its arguments: on PostgreSQL a
// lateral subquery over the unnested array, on SQLite (which has no LATERAL) a join of a
// VALUES list with each fingerprint's latest row id.
func latestEnded(q store.Querier, fps []string) (string, []any) {
	if q.Rebind("?") == "$1" {
		return `SELECT a.id, a.fingerprint, a.incident_id, a.status, a.starts_at, a.ends_at FROM unnest(?::text[]) AS v(fp)
			CROSS JOIN LATERAL (SELECT id, fingerprint, incident_id, status, starts_at, ends_at FROM alerts
				WHERE fingerprint = v.fp AND status = 'resolved' ORDER BY starts_at DESC LIMIT 1) AS a`, []any{fps}
	}
	args := make([]any, len(fps))
	for i, fp := range fps {
		args[i] = fp
	}
	return `SELECT a.id, a.fingerprint, a.incident_id, a.status, a.starts_at, a.ends_at
		FROM (VALUES (?)` + strings.Repeat(", (?)", len(fps)-1) + `) AS v
		JOIN alerts AS a ON a.id = (SELECT ended.id FROM alerts AS ended
			WHERE ended.fingerprint = v.column1 AND ended.status = 'resolved' ORDER BY ended.starts_at DESC LIMIT 1)`, args
}

// newOccurrence is a firing occurrence to store, with the group key it arrived under.
type newOccurrence struct {
	alert    Alert
	groupKey string
	seen     time.Time // when it arrived: its first and last seen
	json     alertJSON // its labels and annotations encoded before the writer took it, if they were
}

// alertJSON is an alert's labels and annotations as stored.
type alertJSON struct {
	labels, annotations string
}

// encodeAlert encodes an alert's labels and annotations as stored.
func encodeAlert(labels, annotations map[string]string) (alertJSON, error) {
	l, err := json.Marshal(labels)
	if err != nil {
		return alertJSON{}, fmt.Errorf("encode labels: %w", err)
	}
	a, err := json.Marshal(annotations)
	if err != nil {
		return alertJSON{}, fmt.Errorf("encode annotations: %w", err)
	}
	return alertJSON{labels: string(l), annotations: string(a)}, nil
}

// insertChunk bounds the rows of one INSERT: 10 values a row stays far below SQLite's
// 32,766 bound values, and one statement carries a storm's payload of 500 alerts.
const insertChunk = 500

// insertOccurrences stores new firing occurrences (of distinct fingerprints) in one
// statement per chunk, and returns the ID of each by fingerprint. A storm's payload of
// hundreds of new alerts is one round trip, not hundreds.
func insertOccurrences(ctx context.Context, q store.Querier, occs []newOccurrence) (map[string]int64, error) {
	ids := make(map[string]int64, len(occs))
	for start := 0; start < len(occs); start += insertChunk {
		chunk := occs[start:min(start+insertChunk, len(occs))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO alerts (fingerprint, starts_at, incident_id, status, alertname,
			labels, annotations, generator_url, group_key, ends_at, first_seen_at, last_seen_at, repeats) VALUES `)
		args := make([]any, 0, 10*len(chunk))
		for i, o := range chunk {
			enc := o.json
			if enc.labels == "" {
				var err error
				if enc, err = encodeAlert(o.alert.Labels, o.alert.Annotations); err != nil {
					return nil, err
				}
			}
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, 'firing', ?, ?, ?, ?, ?, NULL, ?, ?, 0)")
			a := o.alert
			args = append(args, a.Fingerprint, a.StartsAt, a.IncidentID, a.Alertname, enc.labels, enc.annotations,
				a.GeneratorURL, o.groupKey, o.seen, o.seen)
		}
		sb.WriteString(" RETURNING fingerprint, id")
		if err := queryByFingerprint(ctx, q, ids, q.Rebind(sb.String()), args...); err != nil {
			return nil, fmt.Errorf("store %d alerts: %w", len(chunk), err)
		}
	}
	return ids, nil
}

// queryByFingerprint runs a statement whose rows are (fingerprint, ID) pairs and adds them
// to into.
func queryByFingerprint(ctx context.Context, q store.Querier, into map[string]int64, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var fp string
		var id int64
		if err := rows.Scan(&fp, &id); err != nil {
			return err
		}
		into[fp] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// anyFiring reports whether an incident has a firing occurrence.
func anyFiring(ctx context.Context, q store.Querier, incidentID int64) (bool, error) {
	firing, err := stillFiring(ctx, q, []int64{incidentID})
	return firing[incidentID], err
}

// stillFiring reports which of the given incidents have a firing occurrence, in one
// statement per chunk. It asks whether one exists, not how many: an incident of a storm
// has hundreds firing, and the first index entry answers.
func stillFiring(ctx context.Context, q store.Querier, incidentIDs []int64) (map[int64]bool, error) {
	out := make(map[int64]bool, len(incidentIDs))
	for start := 0; start < len(incidentIDs); start += repeatChunk {
		chunk := incidentIDs[start:min(start+repeatChunk, len(incidentIDs))]
		query, args := inList(q, `SELECT id FROM incidents WHERE EXISTS (
			SELECT 1 FROM alerts WHERE alerts.incident_id = incidents.id AND alerts.status = 'firing') AND id`, "bigint", chunk)
		var firing []int64
		err := q.SelectContext(ctx, &firing, query, args...)
		if err != nil {
			return nil, fmt.Errorf("look for firing alerts of %d incidents: %w", len(chunk), err)
		}
		for _, id := range firing {
			out[id] = true
		}
	}
	return out, nil
}

// ForIncident returns every alert of an incident, oldest first, however many there are.
func ForIncident(ctx context.Context, q store.Querier, incidentID int64) ([]Alert, error) {
	var out []Alert
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT `+alertColumns+` FROM `+alertsWithRepeats+`
		WHERE alerts.incident_id = ? ORDER BY alerts.id`), incidentID)
	if err != nil {
		return nil, fmt.Errorf("read alerts of incident %d: %w", incidentID, err)
	}
	for i := range out {
		a := &out[i]
		if err := json.Unmarshal([]byte(a.LabelsJSON), &a.Labels); err != nil {
			return nil, fmt.Errorf("decode labels of alert %d: %w", a.ID, err)
		}
		if err := json.Unmarshal([]byte(a.AnnotsJSON), &a.Annotations); err != nil {
			return nil, fmt.Errorf("decode annotations of alert %d: %w", a.ID, err)
		}
		a.withFlushed()
	}
	if out == nil {
		out = []Alert{}
	}
	return out, nil
}
