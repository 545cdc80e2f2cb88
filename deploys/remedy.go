package deploys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"firebreak/incidents"
	"firebreak/store"
	"firebreak/text"
)

// Remedies Firebreak knows by name; a service may configure more, named as it likes.
const (
	ActionRollback    = "rollback"
	ActionAbortCanary = "abort_canary"
	ActionDisableFlag = "disable_flag"
)

// KindNotReversible is the timeline line saying automation will not roll a deploy back
// because it is not reversible.
const KindNotReversible incidents.EventKind = "deploy_not_reversible"

// Remedy refusals.
var (
	// ErrUnknownAction: no service knows the action (404, with the known ones).
	ErrUnknownAction = errors.New("unknown action")
	// ErrNoRemedy: the incident's service has no such remedy configured (409).
	ErrNoRemedy = errors.New("the service has no such remedy configured")
)

// RemedyRequest asks for one remedy of an incident.
type RemedyRequest struct {
	IncidentID int64
	// DeployID is the deploy to act on; 0 means the top suspect.
	DeployID int64
	Action   string
	// Flag is the feature flag of a disable_flag; it must be one the deploy declared.
	Flag  string
	Actor string
	Note  string
}

// autoActor is who automation says started a remedy: "firebreak (auto rollback)".
func autoActor(action string) string {
	if action == ActionRollback {
		return incidents.ActorAutoRollback
	}
	return incidents.ActorFirebreak + " (auto " + action + ")"
}

// hookFor returns the service's hook for an action.
func (r *Rollbacks) hookFor(service, action string) (Hook, bool) {
	if action == ActionRollback {
		h, ok := r.hooks[service]
		return h, ok
	}
	h, ok := r.actions[service][action]
	return h, ok
}

// KnownActions lists every action a request may name: rollback, abort_canary,
// disable_flag and the named actions of any service, sorted.
func (r *Rollbacks) KnownActions() []string {
	known := []string{ActionAbortCanary, ActionDisableFlag, ActionRollback}
	for _, byAction := range r.actions {
		for name := range byAction {
			if !slices.Contains(known, name) {
				known = append(known, name)
			}
		}
	}
	sort.Strings(known)
	return known
}

// RequestRemedy asks for a remedy of a deploy (the top suspect unless named) on behalf of
// a person or automation; each runs at most once per incident, deploy, action and flag.
func (r *Rollbacks) RequestRemedy(ctx context.Context, req RemedyRequest) (Rollback, error) {
	req.Note, req.Flag = strings.TrimSpace(req.Note), strings.TrimSpace(req.Flag)
	if req.Action == "" {
		req.Action = ActionRollback
	}
	if known := r.KnownActions(); !slices.Contains(known, req.Action) {
		return Rollback{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownAction, text.OneLine(req.Action, maxShort), strings.Join(known, ", "))
	}
	if err := text.Check("note", req.Note, incidents.MaxNote, false); err != nil {
		return Rollback{}, fmt.Errorf("%w: %w", incidents.ErrInvalid, err)
	}
	switch {
	case req.Action == ActionDisableFlag && req.Flag == "":
		return Rollback{}, fmt.Errorf("%w: disable_flag needs a flag", ErrInvalid)
	case req.Action != ActionDisableFlag && req.Flag != "":
		return Rollback{}, fmt.Errorf("%w: only disable_flag takes a flag", ErrInvalid)
	}
	var rb Rollback
	err := r.db.InTx(ctx, func(q store.Querier) error {
		inc, err := r.incidents.GetTx(ctx, q, req.IncidentID)
		if err != nil {
			return err
		}
		if !inc.Open() {
			return fmt.Errorf("incident %d: %w", inc.ID, ErrIncidentResolved)
		}
		deployID := req.DeployID
		if deployID == 0 {
			suspects, err := matchesOf(ctx, q, req.IncidentID, matchSuspect)
			if err != nil {
				return err
			}
			if len(suspects) == 0 {
				return fmt.Errorf("incident %d: %w", req.IncidentID, ErrNoSuspect)
			}
			deployID = suspects[0].Deploy.ID
		}
		d, err := getDeploy(ctx, q, deployID)
		if err != nil {
			return err
		}
		if d.Service != inc.Service || d.Environment != inc.Environment {
			return fmt.Errorf("%w: deploy %d is %s/%s, incident %d is %s/%s", ErrWrongDeploy, d.ID, d.Service, d.Environment,
				inc.ID, inc.Service, inc.Environment)
		}
		if req.Action == ActionDisableFlag && !d.Flags.Has(req.Flag) {
			return fmt.Errorf("%w: deploy %d did not declare the flag %q (its flags: %s)", ErrInvalid, d.ID,
				text.OneLine(req.Flag, maxFlagName), orNone(strings.Join(d.Flags, ", ")))
		}
		hook, ok := r.hookFor(d.Service, req.Action)
		switch {
		case !ok && req.Action == ActionRollback:
			return fmt.Errorf("service %q: %w", d.Service, ErrNoHook)
		case !ok:
			return fmt.Errorf("%w: %s has no %s under services.%s.actions", ErrNoRemedy, d.Service, req.Action, d.Service)
		case hook.Policy == PolicyOff && req.Action == ActionRollback:
			return fmt.Errorf("service %q: %w", d.Service, ErrPolicyOff)
		case hook.Policy == PolicyOff:
			return fmt.Errorf("%w: %s is off for %s", ErrNoRemedy, req.Action, d.Service)
		}
		rb, err = r.requestTx(ctx, q, inc, d, req.Action, req.Flag, req.Actor, req.Note)
		return err
	})
	return rb, err
}

// maybeAutoTx starts the remedy automation owes an incident's top suspect, if any: for a
// deploy still in progress abort_canary where configured, else rollback, when that remedy's
// policy is auto and the incident is severe enough. Automation runs one remedy per incident
// and deploy: once any is on record (automation's or a person's), it has nothing more to do.
// A deploy that is not reversible is never rolled back automatically: the timeline says so,
// and disable_flag of its flags runs instead when its own policy is auto.
func (r *Rollbacks) maybeAutoTx(ctx context.Context, q store.Querier, inc incidents.Incident) error {
	if !inc.Open() || (len(r.actions[inc.Service]) == 0 && !r.hasHook(inc.Service)) {
		return nil
	}
	suspects, err := matchesOf(ctx, q, inc.ID, matchSuspect)
	if err != nil || len(suspects) == 0 {
		return err
	}
	d := suspects[0].Deploy
	action := ActionRollback
	if _, ok := r.hookFor(d.Service, ActionAbortCanary); ok && d.InProgress() {
		action = ActionAbortCanary
	}
	hook, ok := r.hookFor(d.Service, action)
	if !ok || hook.Policy != PolicyAuto || !inc.Severity.AtLeast(hook.MinSeverity) {
		return nil
	}
	if n, err := remediesOf(ctx, q, inc.ID, d.ID); err != nil || n > 0 {
		return err
	}
	current, err := r.incidents.GetTx(ctx, q, inc.ID)
	if err != nil {
		return err
	}
	if action == ActionRollback && !d.Reversible {
		return r.notReversibleTx(ctx, q, current, d)
	}
	_, err = r.requestTx(ctx, q, current, d, action, "", autoActor(action),
		fmt.Sprintf("policy auto, incident is %s (threshold %s)", current.Severity, hook.MinSeverity))
	if errors.Is(err, ErrAlreadyRequested) {
		return nil
	}
	return err
}

func (r *Rollbacks) hasHook(service string) bool {
	_, ok := r.hooks[service]
	return ok
}

// notReversibleTx is automation meeting a deploy it must not roll back: the timeline says
// why (once per incident and deploy), and offers disable_flag for the deploy's flags, which
// runs now if disable_flag's own policy is auto.
func (r *Rollbacks) notReversibleTx(ctx context.Context, q store.Querier, inc incidents.Incident, d Deploy) error {
	marker := fmt.Sprintf("(deploy %d)", d.ID)
	var said int
	if err := q.GetContext(ctx, &said, q.Rebind(`SELECT COUNT(*) FROM timeline_events WHERE incident_id = ? AND kind = ? AND text LIKE ?`),
		inc.ID, string(KindNotReversible), "%"+marker); err != nil {
		return fmt.Errorf("read timeline of incident %d: %w", inc.ID, err)
	}
	if said > 0 {
		return nil
	}
	line := fmt.Sprintf("Not reversible: %s is marked reversible: false (a rollback would not undo it), so the rollback policy auto "+
		"becomes confirm: a person must ask for the rollback.", d.Label())
	flagHook, hasFlagHook := r.hookFor(d.Service, ActionDisableFlag)
	runFlags := hasFlagHook && flagHook.Policy == PolicyAuto && inc.Severity.AtLeast(flagHook.MinSeverity) && len(d.Flags) > 0
	switch {
	case len(d.Flags) == 0:
		line += " It declared no feature flags to disable."
	case !hasFlagHook || flagHook.Policy == PolicyOff:
		line += fmt.Sprintf(" Its flags (%s) could be disabled, but %s has no disable_flag remedy.", strings.Join(d.Flags, ", "), d.Service)
	case runFlags:
		line += fmt.Sprintf(" Disabling its flags first (disable_flag, policy auto): %s.", strings.Join(d.Flags, ", "))
	default:
		line += fmt.Sprintf(" disable_flag is offered first for its flags: %s.", strings.Join(d.Flags, ", "))
	}
	if _, err := r.incidents.RecordTx(ctx, q, inc, incidents.Event{Actor: incidents.ActorFirebreak, Kind: KindNotReversible,
		Text: text.Clean(line + " " + marker)}); err != nil {
		return err
	}
	if !runFlags {
		return nil
	}
	for _, flag := range d.Flags {
		current, err := r.incidents.GetTx(ctx, q, inc.ID)
		if err != nil {
			return err
		}
		_, err = r.requestTx(ctx, q, current, d, ActionDisableFlag, flag, autoActor(ActionDisableFlag),
			fmt.Sprintf("the deploy is not reversible; policy auto, incident is %s (threshold %s)", current.Severity, flagHook.MinSeverity))
		if err != nil && !errors.Is(err, ErrAlreadyRequested) {
			return err
		}
	}
	return nil
}

// remediesOf counts the remedies on record for an incident and deploy.
func remediesOf(ctx context.Context, q store.Querier, incidentID, deployID int64) (int, error) {
	var n int
	err := q.GetContext(ctx, &n, q.Rebind(`SELECT COUNT(*) FROM rollbacks WHERE incident_id = ? AND deploy_id = ?`), incidentID, deployID)
	if err != nil {
		return 0, fmt.Errorf("read remedies of incident %d: %w", incidentID, err)
	}
	return n, nil
}

// remedyName names a remedy in messages: "rollback", "disable_flag new-checkout".
func remedyName(action, flag string) string {
	if flag != "" {
		return action + " " + flag
	}
	return action
}

// subject starts a remedy's timeline lines: "Rollback of checkout 1.4.2 (prod) to 1.4.1".
func subject(rb Rollback, d Deploy) string {
	switch rb.Action {
	case ActionRollback:
		return fmt.Sprintf("Rollback of %s to %s", d.Label(), rollbackTarget(d))
	case ActionAbortCanary:
		return fmt.Sprintf("Canary abort of %s", d.Label())
	case ActionDisableFlag:
		return fmt.Sprintf("Disabling flag %s of %s", rb.Flag, d.Label())
	}
	return fmt.Sprintf("Action %s for %s", rb.Action, d.Label())
}

// noun names a remedy at the start of a line that names no deploy: "Rollback".
func noun(rb Rollback) string {
	switch rb.Action {
	case ActionRollback:
		return "Rollback"
	case ActionAbortCanary:
		return "Canary abort"
	case ActionDisableFlag:
		return "Disabling flag " + rb.Flag
	}
	return "Action " + rb.Action
}

// doing is the note of the incident's move to remediating: "rolling back checkout 1.4.2".
func doing(rb Rollback, d Deploy) string {
	switch rb.Action {
	case ActionRollback:
		return "rolling back " + d.Label()
	case ActionAbortCanary:
		return "aborting the canary " + d.Label()
	case ActionDisableFlag:
		return "disabling flag " + rb.Flag + " of " + d.Label()
	}
	return rb.Action + " for " + d.Label()
}

// stateAfter is the deploy state a remedy's success leaves; empty when it changes none.
func stateAfter(action string) string {
	switch action {
	case ActionRollback:
		return StateRolledBack
	case ActionAbortCanary:
		return StateAborted
	}
	return ""
}
