package incidents

import "strings"

// Actors that are not people. A timeline event names who did it; these names mark what
// automation did, which never counts as a person's acknowledgement (PRODUCT.md "Incidents").
const (
	// ActorAlertmanager is the actor of what alerts did: open, fire, resolve, reopen.
	ActorAlertmanager = "alertmanager"
	// ActorFirebreak is the actor of Firebreak's own bookkeeping: suspects matched, hook
	// results, retries.
	ActorFirebreak = "firebreak"
	// ActorAutoRollback requests a rollback because a service's policy is auto.
	ActorAutoRollback = "firebreak (auto rollback)"
)

// IsAutomation reports whether actor names Firebreak or Alertmanager rather than a person.
func IsAutomation(actor string) bool {
	return actor == ActorAlertmanager || actor == ActorFirebreak || strings.HasPrefix(actor, ActorFirebreak+" (")
}
