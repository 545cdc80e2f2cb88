// Package accounts keeps the people who use the web UI: users with a role and a bcrypt
// password hash, their sessions (stored in the database so every replica shares them), the
// login rate limit, and the proxy-authentication check. Roles map onto the API's scopes, so
// the web layer authorizes a person exactly as it authorizes a token.
package accounts

import (
	"errors"
	"fmt"

	"firebreak/tokens"
)

// Role is what a person may do in the web UI.
type Role string

// The three roles.
const (
	// Viewer reads everything and changes nothing.
	Viewer Role = "viewer"
	// Responder reads and acts on incidents.
	Responder Role = "responder"
	// Admin may do everything.
	Admin Role = "admin"
)

// ErrInvalidRole is wrapped by ParseRole.
var ErrInvalidRole = errors.New("invalid role")

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case Viewer, Responder, Admin:
		return r, nil
	}
	return "", fmt.Errorf("%w %q: want viewer, responder or admin", ErrInvalidRole, s)
}

// Scopes returns the API scopes the role stands for: viewer reads; responder reads and
// writes incidents; admin has every scope.
func (r Role) Scopes() tokens.Scopes {
	switch r {
	case Responder:
		return tokens.Scopes{tokens.Read, tokens.IncidentsWrite}
	case Admin:
		return tokens.Scopes{tokens.Admin}
	case Viewer:
		return tokens.Scopes{tokens.Read}
	}
	return nil
}
