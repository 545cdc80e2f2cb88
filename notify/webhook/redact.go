package webhook

import (
	"net/url"
	"strings"
)

// redacted stands where a secret of a URL was.
const redacted = "xxxxx"

// Redact returns rawURL fit for errors, logs and timelines: its user info (a token often
// travels as the user name, not only as the password, so both go, unlike net/url's
// Redacted) and every query value are replaced with xxxxx, and the fragment is dropped. A URL
// that does not parse is not shown at all.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(a URL that does not parse)"
	}
	if u.User != nil {
		u.User = url.User(redacted)
	}
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		u.RawQuery = redactQuery(u.RawQuery)
	}
	return u.String()
}

// redactQuery keeps the query's names, which help to tell URLs apart, and hides their values.
func redactQuery(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		if hasValue {
			parts[i] = name + "=" + redacted
		} else if p != "" {
			// A bare part may itself be a secret (?abc123): hide it whole.
			parts[i] = redacted
		}
	}
	return strings.Join(parts, "&")
}
