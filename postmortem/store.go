package postmortem

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"firebreak/store"
)

// record is the postmortems row of an incident: its status and the texts people wrote.
// An incident without a row has a draft with nothing written.
type record struct {
	IncidentID          int64      `db:"incident_id"`
	Status              Status     `db:"status"`
	RootCause           string     `db:"root_cause"`
	ContributingFactors string     `db:"contributing_factors"`
	WentWell            string     `db:"went_well"`
	WentBadly           string     `db:"went_badly"`
	GotLucky            string     `db:"got_lucky"`
	PublishedAt         *time.Time `db:"published_at"`
	PublishedBy         *string    `db:"published_by"`
	UpdatedAt           *time.Time `db:"updated_at"`
	UpdatedBy           *string    `db:"updated_by"`
}

func (r record) status() Status {
	if r.Status == "" {
		return Draft
	}
	return r.Status
}

// normalize puts every time in UTC, whichever database it was read from.
func (r *record) normalize() {
	for _, p := range []**time.Time{&r.PublishedAt, &r.UpdatedAt} {
		if *p != nil {
			t := (*p).UTC()
			*p = &t
		}
	}
}

const recordColumns = `incident_id, status, root_cause, contributing_factors, went_well, went_badly, got_lucky,
	published_at, published_by, updated_at, updated_by`

// getRecord reads an incident's postmortem row; the zero record (a draft) when it has none.
func getRecord(ctx context.Context, q store.Querier, incidentID int64) (record, error) {
	var r record
	err := q.GetContext(ctx, &r, q.Rebind(`SELECT `+recordColumns+` FROM postmortems WHERE incident_id = ?`), incidentID)
	if errors.Is(err, sql.ErrNoRows) {
		return record{IncidentID: incidentID, Status: Draft}, nil
	}
	if err != nil {
		return record{}, fmt.Errorf("read postmortem of incident %d: %w", incidentID, err)
	}
	r.normalize()
	return r, nil
}

// actionItemRow is one stored action item.
type actionItemRow struct {
	Text  string  `db:"text"`
	Owner string  `db:"owner"`
	Due   *string `db:"due"`
	Done  bool    `db:"done"`
}

// getActionItems reads an incident's action items in the order people wrote them.
func getActionItems(ctx context.Context, q store.Querier, incidentID int64) ([]ActionItem, error) {
	var rows []actionItemRow
	err := q.SelectContext(ctx, &rows, q.Rebind(`SELECT text, owner, due, done FROM postmortem_action_items
		WHERE incident_id = ? ORDER BY position`), incidentID)
	if err != nil {
		return nil, fmt.Errorf("read action items of incident %d: %w", incidentID, err)
	}
	out := make([]ActionItem, 0, len(rows))
	for _, r := range rows {
		out = append(out, ActionItem(r))
	}
	return out, nil
}

// textColumns maps the human texts to their columns, in the order of the JSON.
var textColumns = []struct {
	column string
	field  func(e *Edit) *Optional[string]
}{
	{"root_cause", func(e *Edit) *Optional[string] { return &e.RootCause }},
	{"contributing_factors", func(e *Edit) *Optional[string] { return &e.ContributingFactors }},
	{"went_well", func(e *Edit) *Optional[string] { return &e.WentWell }},
	{"went_badly", func(e *Edit) *Optional[string] { return &e.WentBadly }},
	{"got_lucky", func(e *Edit) *Optional[string] { return &e.GotLucky }},
}

// saveEdit writes what e carries and nothing else, creating the row when the incident has
// none. The upsert comes first and always writes the row, so on PostgreSQL it holds the
// row's lock for the rest of the transaction: two edits of one postmortem take turns, and
// their action item lists never mix.
func saveEdit(ctx context.Context, q store.Querier, incidentID int64, e Edit, actor string, now time.Time) error {
	cols := []string{"incident_id", "status", "updated_at", "updated_by"}
	args := []any{incidentID, Draft, now.UTC(), actor}
	sets := []string{"updated_at = excluded.updated_at", "updated_by = excluded.updated_by"}
	for _, c := range textColumns {
		if f := c.field(&e); f.Set {
			cols, args = append(cols, c.column), append(args, f.Value)
			sets = append(sets, c.column+" = excluded."+c.column)
		}
	}
	query := `INSERT INTO postmortems (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) +
		`) ON CONFLICT (incident_id) DO UPDATE SET ` + strings.Join(sets, ", ")
	if _, err := q.ExecContext(ctx, q.Rebind(query), args...); err != nil {
		return fmt.Errorf("save postmortem of incident %d: %w", incidentID, err)
	}
	if !e.ActionItems.Set {
		return nil
	}
	return replaceActionItems(ctx, q, incidentID, e.ActionItems.Value)
}

// replaceActionItems stores items as the incident's whole list.
func replaceActionItems(ctx context.Context, q store.Querier, incidentID int64, items []ActionItem) error {
	if _, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM postmortem_action_items WHERE incident_id = ?`), incidentID); err != nil {
		return fmt.Errorf("replace action items of incident %d: %w", incidentID, err)
	}
	for i, it := range items {
		_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO postmortem_action_items (incident_id, position, text, owner, due, done)
			VALUES (?, ?, ?, ?, ?, ?)`), incidentID, i, it.Text, it.Owner, it.Due, it.Done)
		if err != nil {
			return fmt.Errorf("store action item %d of incident %d: %w", i+1, incidentID, err)
		}
	}
	return nil
}

// markPublished publishes the incident's postmortem, creating the row when it has none.
// It reports whether this call published it: publishing again keeps the first time and
// publisher.
func markPublished(ctx context.Context, q store.Querier, incidentID int64, actor string, now time.Time) (bool, error) {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO postmortems (incident_id, status) VALUES (?, ?)
		ON CONFLICT (incident_id) DO NOTHING`), incidentID, Draft)
	if err != nil {
		return false, fmt.Errorf("publish postmortem of incident %d: %w", incidentID, err)
	}
	res, err := q.ExecContext(ctx, q.Rebind(`UPDATE postmortems SET status = ?, published_at = ?, published_by = ?
		WHERE incident_id = ? AND published_at IS NULL`), Published, now.UTC(), actor, incidentID)
	if err != nil {
		return false, fmt.Errorf("publish postmortem of incident %d: %w", incidentID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("publish postmortem of incident %d: %w", incidentID, err)
	}
	return n == 1, nil
}
