package tokens

import (
	"errors"
	"fmt"
	"strings"
)

// Scope names one kind of access an API token grants. The HTTP layer asks for exactly one
// scope per route, so a token is only ever checked with Scopes.Allows.
type Scope string

// The scopes a token can hold; PRODUCT.md ("HTTP API", Auth) says which routes need which.
const (
	// AlertsWrite lets Alertmanager post to the webhook and nothing else, so a leaked
	// Alertmanager config cannot read incidents.
	AlertsWrite Scope = "alerts:write"
	// DeploysWrite lets a CI pipeline record deploys.
	DeploysWrite Scope = "deploys:write"
	// IncidentsWrite allows declaring incidents, state changes, notes, rollback requests and
	// postmortem edits.
	IncidentsWrite Scope = "incidents:write"
	// Read allows every GET.
	Read Scope = "read"
	// Admin allows managing tokens, components and maintenances, and everything the other
	// scopes allow.
	Admin Scope = "admin"
)

// ErrInvalidScopes is wrapped by ParseScopes and Create when a scope list is empty or names
// a scope that does not exist, so the HTTP layer can answer 400 instead of 500.
var ErrInvalidScopes = errors.New("invalid scopes")

// known lists every scope in the order help texts show them.
var known = []Scope{AlertsWrite, DeploysWrite, IncidentsWrite, Read, Admin}

// Known returns every scope a token can hold, for help texts and error messages.
func Known() []Scope {
	return append([]Scope(nil), known...)
}

func isKnown(s Scope) bool {
	for _, k := range known {
		if s == k {
			return true
		}
	}
	return false
}

// ParseScopes turns names from the command line, the config file or the API into scopes.
// Surrounding spaces are ignored and duplicates dropped, because "read, read" in a config
// file is a slip, not a mistake worth stopping for. An unknown name is an error naming it —
// a typo such as "alert:write" would otherwise give a token that silently cannot do its job.
// An empty list is an error too: a token that can do nothing is never what was meant.
func ParseScopes(names []string) ([]Scope, error) {
	out := make([]Scope, 0, len(names))
	seen := make(map[Scope]bool, len(names))
	for _, n := range names {
		s := Scope(strings.TrimSpace(n))
		if !isKnown(s) {
			return nil, fmt.Errorf("%w: unknown scope %q (known: %s)", ErrInvalidScopes, n, joinScopes(known))
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: a token needs at least one scope (known: %s)", ErrInvalidScopes, joinScopes(known))
	}
	return out, nil
}

// Scopes is the set of scopes one token holds.
type Scopes []Scope

// Allows reports whether a token holding these scopes may do what need guards. Admin allows
// everything. No other scope implies another: in particular a write scope does not imply
// read, so the Alertmanager token (alerts:write) cannot list incidents if it leaks.
func (ss Scopes) Allows(need Scope) bool {
	for _, s := range ss {
		if s == Admin || s == need {
			return true
		}
	}
	return false
}

// String joins the scopes with commas, the form the database and the CLI use.
func (ss Scopes) String() string {
	return joinScopes(ss)
}

func joinScopes(ss []Scope) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, ",")
}

// splitScopes parses the comma-separated form stored in api_tokens.scopes.
func splitScopes(stored string) (Scopes, error) {
	ss, err := ParseScopes(strings.Split(stored, ","))
	if err != nil {
		return nil, fmt.Errorf("stored scopes %q: %w", stored, err)
	}
	return ss, nil
}
