package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
}

// occurrence identifies one alert occurrence.
type occurrence struct {
	fingerprint string
	startsAt    time.Time
}

func (o occurrence) key() string {
	return o.fingerprint + "@" + strconv.FormatInt(o.startsAt.UnixMicro(), 10)
}

// repeatChunk bounds the occurrences marked by one statement (two parameters each).
const repeatChunk = 200

// markRepeats moves last_seen_at of every firing occurrence among occs and counts the
// repeat, in one statement per chunk. It returns the incident of each occurrence it marked,
// by occurrence key; the others are new, resolved or unknown.
func markRepeats(ctx context.Context, q store.Querier, occs []occurrence, now time.Time) (map[string]int64, error) {
	out := make(map[string]int64, len(occs))
	// The same alert twice in one payload is one repeat.
	seen := make(map[string]bool, len(occs))
	unique := occs[:0:0]
	for _, o := range occs {
		if !seen[o.key()] {
			seen[o.key()] = true
			unique = append(unique, o)
		}
	}
	occs = unique
	for start := 0; start < len(occs); start += repeatChunk {
		chunk := occs[start:min(start+repeatChunk, len(occs))]
		var sb strings.Builder
		args := make([]any, 0, 1+2*len(chunk))
		args = append(args, now)
		// An OR of (fingerprint, starts_at) pairs rather than a row-value IN: both databases
		// plan it as one unique-index probe per pair, and PostgreSQL needs no casts.
		sb.WriteString(`UPDATE alerts SET last_seen_at = ?, repeats = repeats + 1 WHERE status = 'firing' AND (`)
		for i, o := range chunk {
			if i > 0 {
				sb.WriteString(" OR ")
			}
			sb.WriteString("(fingerprint = ? AND starts_at = ?)")
			args = append(args, o.fingerprint, o.startsAt)
		}
		sb.WriteString(") RETURNING fingerprint, starts_at, incident_id")
		rows, err := q.QueryxContext(ctx, q.Rebind(sb.String()), args...)
		if err != nil {
			return nil, fmt.Errorf("mark repeats: %w", err)
		}
		for rows.Next() {
			var o occurrence
			var incidentID int64
			if err := rows.Scan(&o.fingerprint, &o.startsAt, &incidentID); err != nil {
				rows.Close()
				return nil, fmt.Errorf("mark repeats: %w", err)
			}
			out[o.key()] = incidentID
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

// markResolved resolves a firing occurrence. It reports the incident, or 0 when no firing
// occurrence matched.
func markResolved(ctx context.Context, q store.Querier, fp string, startsAt, endsAt, now time.Time) (int64, error) {
	var incidentID int64
	err := q.QueryRowxContext(ctx, q.Rebind(`UPDATE alerts SET status = 'resolved', ends_at = ?, last_seen_at = ?
		WHERE fingerprint = ? AND starts_at = ? AND status = 'firing' RETURNING incident_id`), endsAt, now, fp, startsAt).Scan(&incidentID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("resolve alert %s: %w", fp, err)
	}
	return incidentID, nil
}

// occurrenceIncident reports the incident of a stored occurrence in any status, or 0.
func occurrenceIncident(ctx context.Context, q store.Querier, fp string, startsAt time.Time) (int64, error) {
	var incidentID int64
	err := q.GetContext(ctx, &incidentID, q.Rebind(`SELECT incident_id FROM alerts WHERE fingerprint = ? AND starts_at = ?`), fp, startsAt)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read alert %s: %w", fp, err)
	}
	return incidentID, nil
}

// insertOccurrence stores a new firing occurrence in an incident.
func insertOccurrence(ctx context.Context, q store.Querier, a *Alert, groupKey string, now time.Time) error {
	labels, err := json.Marshal(a.Labels)
	if err != nil {
		return fmt.Errorf("encode labels: %w", err)
	}
	annots, err := json.Marshal(a.Annotations)
	if err != nil {
		return fmt.Errorf("encode annotations: %w", err)
	}
	_, err = q.ExecContext(ctx, q.Rebind(`INSERT INTO alerts (fingerprint, starts_at, incident_id, status, alertname,
		labels, annotations, generator_url, group_key, ends_at, first_seen_at, last_seen_at, repeats)
		VALUES (?, ?, ?, 'firing', ?, ?, ?, ?, ?, NULL, ?, ?, 0)`),
		a.Fingerprint, a.StartsAt, a.IncidentID, a.Alertname, string(labels), string(annots), a.GeneratorURL, groupKey, now, now)
	if err != nil {
		return fmt.Errorf("store alert %s: %w", a.Fingerprint, err)
	}
	return nil
}

// firingCount counts the firing occurrences of an incident.
func firingCount(ctx context.Context, q store.Querier, incidentID int64) (int, error) {
	var n int
	err := q.GetContext(ctx, &n, q.Rebind(`SELECT COUNT(*) FROM alerts WHERE incident_id = ? AND status = 'firing'`), incidentID)
	if err != nil {
		return 0, fmt.Errorf("count firing alerts of incident %d: %w", incidentID, err)
	}
	return n, nil
}

// ForIncident returns every alert of an incident, oldest first, however many there are.
func ForIncident(ctx context.Context, q store.Querier, incidentID int64) ([]Alert, error) {
	var out []Alert
	err := q.SelectContext(ctx, &out, q.Rebind(`SELECT id, incident_id, fingerprint, status, alertname, labels,
		annotations, generator_url, starts_at, ends_at, last_seen_at, repeats FROM alerts WHERE incident_id = ? ORDER BY id`), incidentID)
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
		a.StartsAt, a.LastSeenAt = a.StartsAt.UTC(), a.LastSeenAt.UTC()
		if a.EndsAt != nil {
			t := a.EndsAt.UTC()
			a.EndsAt = &t
		}
	}
	if out == nil {
		out = []Alert{}
	}
	return out, nil
}
