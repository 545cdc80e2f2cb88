package deploys

import "sort"

// Remedy is one remedy a person may ask for on a deploy, as the incident page offers it.
type Remedy struct {
	Action string
	// Flag is the feature flag a disable_flag turns off; empty for the other actions.
	Flag string
}

// Label names the remedy for a button: "Abort canary", "Disable flag new-cart", "restart".
func (r Remedy) Label() string {
	switch r.Action {
	case ActionAbortCanary:
		return "Abort canary"
	case ActionDisableFlag:
		return "Disable flag " + r.Flag
	case ActionRollback:
		return "Roll back"
	}
	return r.Action
}

// RemediesFor lists the remedies besides rollback that RequestRemedy would accept for d,
// so a page offers only buttons that can work: abort_canary while d is in progress,
// disable_flag once per flag d declared, and each named action of d's service, unless its
// policy is off. Named actions come sorted, after abort_canary and the flags.
func (r *Rollbacks) RemediesFor(d Deploy) []Remedy {
	var out, named []Remedy
	for action, hook := range r.actions[d.Service] {
		if hook.Policy == PolicyOff {
			continue
		}
		switch action {
		case ActionRollback:
		case ActionAbortCanary:
			if d.InProgress() {
				out = append(out, Remedy{Action: action})
			}
		case ActionDisableFlag:
			for _, f := range d.Flags {
				out = append(out, Remedy{Action: action, Flag: f})
			}
		default:
			named = append(named, Remedy{Action: action})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Action < out[j].Action }) // abort_canary first
	sort.Slice(named, func(i, j int) bool { return named[i].Action < named[j].Action })
	return append(out, named...)
}
