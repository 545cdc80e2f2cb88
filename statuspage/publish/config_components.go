package publish

import (
	"context"
	"fmt"
	"slices"

	"firebreak/store"
)

// SyncConfig makes the components of the config file exist as written, in their order,
// marked as defined in config so the API leaves them alone; a component the file no longer
// lists is deleted. A component created through the API with a name the file now uses
// becomes the file's. Then the page is published. Every replica runs it at start; running it
// twice changes nothing but the push.
func (s *Service) SyncConfig(ctx context.Context) error {
	now := s.now()
	var changed []string
	err := s.db.InTx(ctx, func(q store.Querier) error {
		changed = nil
		// Replicas starting together take turns (the row lock of the push counter, held to
		// the end of the transaction), so the second sees the first's components.
		if _, err := q.ExecContext(ctx, `UPDATE statuspage_sequence SET value = value WHERE id = 1`); err != nil {
			return fmt.Errorf("take turns: %w", err)
		}
		existing, err := listComponents(ctx, q)
		if err != nil {
			return err
		}
		byName := map[string]Component{}
		for _, c := range existing {
			byName[c.Name] = c
		}
		keep := map[string]bool{}
		for i, cc := range s.opts.Components {
			keep[cc.Name] = true
			want := Component{Name: cc.Name, Group: cc.Group, Services: StringList(cc.Services), Automatic: cc.Automatic,
				Description: cc.Description, Position: i + 1, FromConfig: true, CreatedAt: now, UpdatedAt: now}
			if want.Services == nil {
				want.Services = StringList{}
			}
			have, ok := byName[cc.Name]
			if !ok {
				if err := insertComponent(ctx, q, &want); err != nil {
					return err
				}
				changed = append(changed, cc.Name)
				continue
			}
			if sameConfig(have, want) {
				continue
			}
			want.ID, want.CreatedAt = have.ID, have.CreatedAt
			if err := updateComponent(ctx, q, want); err != nil {
				return err
			}
			if _, err := q.ExecContext(ctx, q.Rebind(`UPDATE statuspage_components SET from_config = ? WHERE id = ?`), true, have.ID); err != nil {
				return fmt.Errorf("mark component %q as defined in config: %w", cc.Name, err)
			}
			changed = append(changed, cc.Name)
		}
		for _, c := range existing {
			if c.FromConfig && !keep[c.Name] {
				if _, err := q.ExecContext(ctx, q.Rebind(`DELETE FROM statuspage_components WHERE id = ?`), c.ID); err != nil {
					return fmt.Errorf("delete component %q no longer in config: %w", c.Name, err)
				}
				changed = append(changed, c.Name)
			}
		}
		// A start pushes the page even when nothing changed here: a status-server that lost
		// its data gets it back at once, not at the next heartbeat.
		return s.PublishTx(ctx, q)
	})
	if err != nil {
		return fmt.Errorf("status page components from config: %w", err)
	}
	if len(changed) > 0 {
		s.opts.Log.Info("status page components set from config", "components", changed)
	}
	return nil
}

// sameConfig reports whether have already is what the config file says.
func sameConfig(have, want Component) bool {
	return have.FromConfig && have.Group == want.Group && slices.Equal(have.Services, want.Services) &&
		have.Automatic == want.Automatic && have.Description == want.Description && have.Position == want.Position &&
		have.Status == nil
}
