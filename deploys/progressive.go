package deploys

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"firebreak/store"
	"firebreak/text"
)

// Rollout strategies of a deploy (PRODUCT.md "Progressive delivery and other remedies").
const (
	StrategyRolling   = "rolling"
	StrategyBlueGreen = "blue_green"
	StrategyCanary    = "canary"
)

// Deploy states. A deploy moves forward only: in_progress, then one of the others.
const (
	StateInProgress = "in_progress"
	StatePromoted   = "promoted"
	StateAborted    = "aborted"
	StateRolledBack = "rolled_back"
)

var (
	strategies = []string{StrategyRolling, StrategyBlueGreen, StrategyCanary}
	states     = []string{StateInProgress, StatePromoted, StateAborted, StateRolledBack}
)

// ErrStateBackwards refuses a change that would move a deploy's state back (promoted →
// in_progress); it maps to 409.
var ErrStateBackwards = errors.New("a deploy's state only moves forward")

const (
	maxFlags    = 50
	maxFlagName = 200
)

// FlagList is a deploy's feature flags, stored as a JSON array.
type FlagList []string

// Value stores the list as JSON text.
func (f FlagList) Value() (driver.Value, error) {
	if f == nil {
		f = FlagList{}
	}
	b, err := json.Marshal([]string(f))
	return string(b), err
}

// Scan reads the JSON text back.
func (f *FlagList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case nil:
		*f = FlagList{}
		return nil
	default:
		return fmt.Errorf("flags: unexpected %T", src)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("flags: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	*f = out
	return nil
}

// Has reports whether the deploy declared the flag.
func (f FlagList) Has(flag string) bool { return slices.Contains(f, flag) }

// MarshalJSON shows finished_at as null while the deploy is in progress: the stored time
// then only stands for its start.
func (d Deploy) MarshalJSON() ([]byte, error) {
	type plain Deploy // no methods: avoids recursing into this one
	out := struct {
		plain
		FinishedAt *time.Time `json:"finished_at"`
	}{plain: plain(d)}
	if d.State != StateInProgress {
		t := d.FinishedAt
		out.FinishedAt = &t
	}
	if out.Flags == nil {
		out.Flags = FlagList{}
	}
	return json.Marshal(out)
}

// InProgress reports whether the rollout is still under way.
func (d Deploy) InProgress() bool { return d.State == StateInProgress }

// rollout validates the progressive-delivery fields of in and sets them on d.
func (in Input) rollout(d *Deploy) []string {
	var problems []string
	d.Strategy, d.State, d.Reversible = StrategyRolling, StatePromoted, true
	if s := strings.TrimSpace(in.Strategy); s != "" {
		if !slices.Contains(strategies, s) {
			problems = append(problems, fmt.Sprintf("unknown strategy %q (one of %s)", s, strings.Join(strategies, ", ")))
		}
		d.Strategy = s
	}
	if s := strings.TrimSpace(in.State); s != "" {
		if !slices.Contains(states, s) {
			problems = append(problems, fmt.Sprintf("unknown state %q (one of %s)", s, strings.Join(states, ", ")))
		}
		d.State = s
	}
	if d.State == StateInProgress && in.FinishedAt != nil {
		problems = append(problems, "finished_at must be null while state is in_progress")
	}
	if err := text.Check("stage", in.Stage, maxShort, false); err != nil {
		problems = append(problems, err.Error())
	}
	d.Stage = optional(in.Stage)
	if in.Weight != nil {
		if *in.Weight < 0 || *in.Weight > 100 {
			problems = append(problems, fmt.Sprintf("weight %d is outside 0–100", *in.Weight))
		}
		w := *in.Weight
		d.Weight = &w
	}
	if in.Reversible != nil {
		d.Reversible = *in.Reversible
	}
	if len(in.Flags) > maxFlags {
		problems = append(problems, fmt.Sprintf("at most %d flags", maxFlags))
	}
	d.Flags = FlagList{}
	for _, f := range in.Flags {
		f = strings.TrimSpace(f)
		if err := text.Check("flag", f, maxFlagName, true); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if !d.Flags.Has(f) {
			d.Flags = append(d.Flags, f)
		}
	}
	return problems
}

// Update moves a rollout on (PATCH /api/v1/deploys/{id}); nil fields stay as they are.
type Update struct {
	State  *string `json:"state"`
	Weight *int    `json:"weight"`
	Stage  *string `json:"stage"`
}

// stateRank orders states for "only forward": every finished state is past in_progress,
// and a deploy promoted may still be rolled back (by hand or a hook outside Firebreak), but
// aborted and rolled_back are final.
func stateAllowed(from, to string) bool {
	switch {
	case from == to:
		return true
	case from == StateInProgress:
		return true
	case from == StatePromoted:
		return to == StateRolledBack || to == StateAborted
	}
	return false
}

// check validates u against d, the deploy as it is.
func (u Update) check(d Deploy) error {
	var problems []string
	if u.State != nil && !slices.Contains(states, *u.State) {
		problems = append(problems, fmt.Sprintf("unknown state %q (one of %s)", *u.State, strings.Join(states, ", ")))
	}
	if u.Weight != nil && (*u.Weight < 0 || *u.Weight > 100) {
		problems = append(problems, fmt.Sprintf("weight %d is outside 0–100", *u.Weight))
	}
	if u.Stage != nil {
		if err := text.Check("stage", strings.TrimSpace(*u.Stage), maxShort, false); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if u.State == nil && u.Weight == nil && u.Stage == nil {
		problems = append(problems, "nothing to change: give state, weight or stage")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	if u.State != nil && !stateAllowed(d.State, *u.State) {
		return fmt.Errorf("%w: deploy %d is %s and cannot become %s", ErrStateBackwards, d.ID, d.State, *u.State)
	}
	return nil
}

// Update changes a deploy's state, weight or stage as its rollout moves on. Finishing a
// deploy (leaving in_progress) sets its finished_at to now.
func (t *Tracker) Update(ctx context.Context, id int64, u Update) (Deploy, error) {
	var d Deploy
	err := t.db.InTx(ctx, func(q store.Querier) error {
		var err error
		if d, err = getDeploy(ctx, q, id); err != nil {
			return err
		}
		if err := u.check(d); err != nil {
			return err
		}
		if u.Weight != nil {
			w := *u.Weight
			d.Weight = &w
		}
		if u.Stage != nil {
			d.Stage = optional(*u.Stage)
		}
		if u.State != nil && *u.State != d.State {
			if d.State == StateInProgress {
				d.FinishedAt = t.incidents.Now()
			}
			d.State = *u.State
		}
		return updateRollout(ctx, q, d)
	})
	return d, err
}

// setStateTx records a remedy's effect on a deploy (aborted, rolled_back); a deploy still in
// progress finishes now.
func setStateTx(ctx context.Context, q store.Querier, d Deploy, state string, now time.Time) error {
	if d.State == state {
		return nil
	}
	if d.State == StateInProgress {
		d.FinishedAt = now
	}
	d.State = state
	return updateRollout(ctx, q, d)
}

func updateRollout(ctx context.Context, q store.Querier, d Deploy) error {
	_, err := q.ExecContext(ctx, q.Rebind(`UPDATE deploys SET state = ?, weight = ?, stage = ?, finished_at = ? WHERE id = ?`),
		d.State, d.Weight, d.Stage, d.FinishedAt.UTC(), d.ID)
	if err != nil {
		return fmt.Errorf("update deploy %d: %w", d.ID, err)
	}
	return nil
}
