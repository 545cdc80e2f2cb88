package incidents

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"firebreak/store"
)

// AlertGroup is what a new alert is grouped by, so that every incident belongs to one
// group: the incident of a service and environment, or (Service empty) the incident of an
// Alertmanager group key that was opened without a service. With ByGroupKey (the setting
// alerts.group_by: group_key) the group key alone decides, whatever the service.
type AlertGroup struct {
	Service     string
	Environment string
	GroupKey    string
	ByGroupKey  bool
}

// LockKey names the group's "find or open an incident" decision for store.LockKeys. A
// service's key is ServiceLockKey, which recording a deploy and declaring an incident take
// too.
func (g AlertGroup) LockKey() string {
	if g.Service != "" {
		return ServiceLockKey(g.Service, g.Environment)
	}
	return "g:" + g.GroupKey
}

// where is the group's condition on incidents, with its arguments.
func (g AlertGroup) where() (string, []any) {
	switch {
	case g.Service != "":
		return `service = ? AND environment = ?`, []any{g.Service, g.Environment}
	case g.ByGroupKey:
		return `group_key = ?`, []any{g.GroupKey}
	}
	// A service's incident is its service's, even when it was opened by an alert of this
	// group: an alert without a service does not join it.
	return `group_key = ? AND service = ''`, []any{g.GroupKey}
}

// matches reports whether inc belongs to group g: where, in Go.
func (g AlertGroup) matches(inc Incident) bool {
	key := ""
	if inc.GroupKey != nil {
		key = *inc.GroupKey
	}
	switch {
	case g.Service != "":
		return inc.Service == g.Service && inc.Environment == g.Environment
	case g.ByGroupKey:
		return key == g.GroupKey
	}
	return key == g.GroupKey && inc.Service == ""
}

// findManyChunk bounds the groups one FindOpenManyTx statement looks for.
const findManyChunk = 100

// FindOpenManyTx is FindOpenTx for several groups in one statement per chunk, as a batch of
// alert payloads needs: it returns the open incident of each group that has one, locked like
// FindOpenTx's. A group without one is missing from the map.
func (m *Manager) FindOpenManyTx(ctx context.Context, q store.Querier, groups []AlertGroup) (map[AlertGroup]Incident, error) {
	out := make(map[AlertGroup]Incident, len(groups))
	for start := 0; start < len(groups); start += findManyChunk {
		chunk := groups[start:min(start+findManyChunk, len(groups))]
		conds := make([]string, len(chunk))
		var args []any
		for i, g := range chunk {
			cond, a := g.where()
			conds[i] = "(" + cond + ")"
			args = append(args, a...)
		}
		var found []Incident
		// Oldest first, the order every other statement locks incidents in (resolving a
		// batch's cleared incidents): two transactions locking rows in opposite orders could
		// deadlock. A group's open incident is its newest, as FindOpenTx's LIMIT 1 takes: the
		// last one matching.
		err := q.SelectContext(ctx, &found, q.Rebind(`SELECT `+incidentColumns+` FROM incidents
			WHERE status <> 'resolved' AND (`+strings.Join(conds, " OR ")+`) ORDER BY id`+m.forUpdate()), args...)
		if err != nil {
			return nil, fmt.Errorf("find the open incidents of %d groups: %w", len(chunk), err)
		}
		for _, inc := range found {
			inc.normalize()
			for _, g := range chunk {
				if g.matches(inc) {
					out[g] = inc
				}
			}
		}
	}
	return out, nil
}

// FindOpenTx returns the open incident a new alert of group g joins, locked until the
// transaction ends (on PostgreSQL; SQLite's one writer needs no lock), so that nobody can
// resolve it while the alert is being attached: a resolve that comes first makes it not
// open here, one that comes later sees the alert. ErrNotFound when there is none.
func (m *Manager) FindOpenTx(ctx context.Context, q store.Querier, g AlertGroup) (Incident, error) {
	cond, args := g.where()
	var inc Incident
	err := q.GetContext(ctx, &inc, q.Rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE `+cond+` AND status <> 'resolved' ORDER BY id DESC LIMIT 1`+m.forUpdate()), args...)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, ErrNotFound
	}
	if err != nil {
		return Incident{}, fmt.Errorf("find open incident: %w", err)
	}
	inc.normalize()
	return inc, nil
}

// FindReopenableTx returns the incident of group g resolved most recently, at or after
// since, locked like FindOpenTx: a flapping alert reopens it instead of opening a new one.
// ErrNotFound when there is none.
func (m *Manager) FindReopenableTx(ctx context.Context, q store.Querier, g AlertGroup, since time.Time) (Incident, error) {
	cond, args := g.where()
	var inc Incident
	err := q.GetContext(ctx, &inc, q.Rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE `+cond+` AND status = 'resolved' AND resolved_at >= ?
		ORDER BY resolved_at DESC, id DESC LIMIT 1`+m.forUpdate()), append(args, since.UTC())...)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, ErrNotFound
	}
	if err != nil {
		return Incident{}, fmt.Errorf("find reopenable incident: %w", err)
	}
	inc.normalize()
	return inc, nil
}

// LockRowTx locks incident id until the transaction ends, for a decision that must not
// race with alerts joining it, such as resolving it because every alert has resolved: count
// the firing alerts after LockRowTx, not before. On SQLite, whose one writer runs every
// write transaction alone, it does nothing.
func (m *Manager) LockRowTx(ctx context.Context, q store.Querier, id int64) error {
	if m.forUpdate() == "" {
		return nil
	}
	var got int64
	err := q.GetContext(ctx, &got, q.Rebind(`SELECT id FROM incidents WHERE id = ?`+m.forUpdate()), id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: no incident %d", ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("lock incident %d: %w", id, err)
	}
	return nil
}

// forUpdate is the row-lock suffix of a read whose decision must hold until commit.
func (m *Manager) forUpdate() string {
	if m.db != nil && m.db.Dialect == store.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// LockGroupTx serialises the "find or open an incident" decision for one grouping key until
// the transaction ends (see store.LockKeys): on PostgreSQL a second replica's transaction
// waits for the first, so two replicas never both open an incident for one new group.
func (m *Manager) LockGroupTx(ctx context.Context, q store.Querier, key string) error {
	return store.LockKeys(ctx, q, []string{key})
}

// ServiceLockKey is the grouping lock of a service and environment. Opening an incident and
// recording a deploy of the same service both take it, so on PostgreSQL neither can miss
// the other: whichever commits second sees the first and matches the deploy as a suspect.
func ServiceLockKey(service, environment string) string {
	return "s:" + service + "\x1f" + environment
}
