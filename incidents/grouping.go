package incidents

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"firebreak/store"
)

// FindOpenTx returns the open incident an alert joins: the one of its Alertmanager group key,
// else the one of its service and environment. ErrNotFound when there is none.
func (m *Manager) FindOpenTx(ctx context.Context, q store.Querier, groupKey, service, environment string) (Incident, error) {
	var inc Incident
	err := q.GetContext(ctx, &inc, q.Rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE group_key = ? AND status <> 'resolved' ORDER BY id DESC LIMIT 1`), groupKey)
	if errors.Is(err, sql.ErrNoRows) && service != "" {
		err = q.GetContext(ctx, &inc, q.Rebind(`SELECT `+incidentColumns+` FROM incidents
			WHERE service = ? AND environment = ? AND status <> 'resolved' ORDER BY id DESC LIMIT 1`), service, environment)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, ErrNotFound
	}
	if err != nil {
		return Incident{}, fmt.Errorf("find open incident: %w", err)
	}
	inc.normalize()
	return inc, nil
}

// FindReopenableTx returns the most recently resolved incident of the same group key, or of
// the same service and environment, resolved at or after since: a flapping alert reopens it
// instead of opening a new one. ErrNotFound when there is none.
func (m *Manager) FindReopenableTx(ctx context.Context, q store.Querier, groupKey, service, environment string, since time.Time) (Incident, error) {
	var inc Incident
	err := q.GetContext(ctx, &inc, q.Rebind(`SELECT `+incidentColumns+` FROM incidents
		WHERE status = 'resolved' AND resolved_at >= ? AND (group_key = ? OR (? <> '' AND service = ? AND environment = ?))
		ORDER BY resolved_at DESC, id DESC LIMIT 1`), since.UTC(), groupKey, service, service, environment)
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, ErrNotFound
	}
	if err != nil {
		return Incident{}, fmt.Errorf("find reopenable incident: %w", err)
	}
	inc.normalize()
	return inc, nil
}

// LockGroupTx serialises the "find or open an incident" decision for one grouping key until
// the transaction ends. On PostgreSQL the upsert takes a row lock that a second replica's
// transaction waits on, so two replicas never both open an incident for one new group; it
// is portable SQL, and on SQLite (one writer) it costs one small write.
func (m *Manager) LockGroupTx(ctx context.Context, q store.Querier, key string) error {
	_, err := q.ExecContext(ctx, q.Rebind(`INSERT INTO grouping_locks (key, touched_at) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET touched_at = excluded.touched_at`), key, m.Now())
	if err != nil {
		return fmt.Errorf("lock grouping key: %w", err)
	}
	return nil
}

// ServiceLockKey is the grouping lock of a service and environment. Opening an incident and
// recording a deploy of the same service both take it, so on PostgreSQL neither can miss
// the other: whichever commits second sees the first and matches the deploy as a suspect.
func ServiceLockKey(service, environment string) string {
	return "s:" + service + "\x1f" + environment
}
