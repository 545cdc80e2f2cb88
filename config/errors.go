package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is one problem with one key. The key is written as in the
// file (tokens[0].token_env, services.checkout.rollback.policy) so a
// person can find it; for an unknown key it is the mapping that holds it.
type FieldError struct {
	// Key is the dotted path of the key; "" for the top level.
	Key string
	// Line is the key's line in the file; 0 when unknown or not from the
	// file.
	Line int
	// Msg says what is wrong, for a person.
	Msg string
}

// Error formats the problem as "line 7: key: message", leaving out what
// is unknown.
func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Error is what Load returns when the configuration cannot be used. It
// lists every problem found, so one failed start shows them all.
type Error struct {
	// File is the file read; "" when there was none.
	File string
	// Problems are the individual problems, mostly *FieldError.
	Problems []error
}

// Error names the file, then the problem, or the count and one problem a
// line.
func (e *Error) Error() string {
	prefix := "config"
	if e.File != "" {
		prefix += " " + e.File
	}
	if len(e.Problems) == 1 {
		return prefix + ": " + e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problems:", prefix, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap exposes the problems to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return e.Problems }

// positionError reports a problem with a value as a *yaml.TypeError
// carrying line and column; the decoder then collects it with the others
// instead of stopping, and translate finds the key at that position.
func positionError(n *yaml.Node, format string, args ...any) error {
	msg := fmt.Sprintf("line %d: column %d: ", n.Line, n.Column) + fmt.Sprintf(format, args...)
	return &yaml.TypeError{Errors: []string{msg}}
}
