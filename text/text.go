// Package text makes strings safe to store: valid UTF-8 with no NUL byte (PostgreSQL refuses
// both), cut at a character boundary. Every domain validates what people type and cleans
// what machines send (command output, error bodies, alert labels) through it.
package text

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Clean returns s as valid UTF-8 without NUL bytes: each invalid byte sequence and each NUL
// becomes U+FFFD, so nothing a sender wrote is silently dropped and PostgreSQL accepts it.
func Clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// Ellipsis marks a value that was cut.
const Ellipsis = "…"

// Cut returns s cleaned and at most max characters long; a cut value ends in Ellipsis
// (counted within max).
func Cut(s string, max int) string {
	s = Clean(s)
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + Ellipsis
		}
		n++
	}
	return s
}

// CutBytes returns s cleaned and at most max bytes long, cut at a character boundary, for
// columns and headers bounded in bytes. A cut value ends in Ellipsis (counted within max).
func CutBytes(s string, max int) string {
	s = Clean(s)
	if len(s) <= max {
		return s
	}
	limit := max - len(Ellipsis)
	if limit < 0 {
		limit = 0
	}
	i := limit
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	if len(s[:i])+len(Ellipsis) > max {
		return s[:i]
	}
	return s[:i] + Ellipsis
}

// OneLine folds every run of white space (newlines included) into one space and cuts the
// result to max characters, for a timeline line or a log field.
func OneLine(s string, max int) string {
	return Cut(strings.Join(strings.Fields(Clean(s)), " "), max)
}

// Check validates a field a person typed: present when required, valid UTF-8, no NUL byte,
// at most max characters. Its messages name the field; callers wrap them with their domain's
// invalid-input error.
func Check(field, s string, max int, required bool) error {
	if required && strings.TrimSpace(s) == "" {
		return fmt.Errorf("%s is required", field)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	if strings.ContainsRune(s, 0) {
		return fmt.Errorf("%s contains a NUL byte", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Errorf("%s is %d characters long, at most %d allowed", field, n, max)
	}
	return nil
}
