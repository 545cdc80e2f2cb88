package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"firebreak/incidents"
)

// decodeStrict reads a JSON object body into v, refusing unknown fields, wrong types and
// trailing data, with messages that say where the body went wrong.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: %s", describeJSONError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("invalid JSON body: data after the JSON object")
	}
	return nil
}

// decodeOptional is decodeStrict for bodies that may be empty.
func decodeOptional(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	return decodeStrict(body, v)
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s, not %s", te.Field, te.Type.String(), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the body ends in the middle of the JSON"
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("time %q is not RFC 3339 (like 2026-11-23T15:04:05Z)", pe.Value)
	}
	return err.Error()
}

// idParam reads a positive integer id from the path.
func idParam(c *fiber.Ctx) (int64, error) {
	raw := c.Params("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("id %q is not a positive integer", raw)
	}
	return id, nil
}

// timeQuery reads an optional RFC 3339 time (or a relative duration like 720h before now)
// from the query string.
func timeQuery(c *fiber.Ctx, name string, now time.Time) (time.Time, error) {
	raw := c.Query(name)
	if raw == "" {
		return time.Time{}, nil
	}
	if t, err := parseQueryTime(raw); err == nil {
		if t.Before(incidents.Epoch) {
			// Also keeps an explicit 0001-01-01 from reading as "not given".
			return time.Time{}, badRequest("%s=%q is before 1970", name, raw)
		}
		return t.UTC(), nil
	}
	if d, err := parseDays(raw); err == nil {
		return now.Add(-d), nil
	}
	if strings.Contains(raw, " ") {
		return time.Time{}, badRequest("%s=%q is neither an RFC 3339 time nor a duration like 720h or 30d; "+
			"a + in a query string means a space, so write a +02:00 offset as %%2B02:00", name, raw)
	}
	return time.Time{}, badRequest("%s=%q is neither an RFC 3339 time nor a duration like 720h or 30d", name, raw)
}

// parseQueryTime parses an RFC 3339 time as it arrives in a query string. A "+" there
// decodes to a space, so "2026-11-20T10:00:00+02:00" sent unencoded (as people and curl
// do) arrives as "2026-11-20T10:00:00 02:00": a space where the offset's sign was is read
// as the "+" it was.
func parseQueryTime(raw string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, raw)
	if err == nil {
		return t, nil
	}
	if i := strings.IndexByte(raw, ' '); i > 0 && strings.Count(raw, " ") == 1 && strings.Contains(raw[:i], "T") {
		if t, err2 := time.Parse(time.RFC3339, raw[:i]+"+"+raw[i+1:]); err2 == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// parseDays accepts Go durations and a day suffix ("30d"), since people think in days.
func parseDays(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		days, err := strconv.Atoi(s[:n-1])
		if err != nil || days <= 0 || days > 36500 {
			return 0, fmt.Errorf("bad day count %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 || d > 36500*24*time.Hour {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}

// marshalJSON encodes responses without HTML escaping: they are JSON for programs, and
// "<token>" reads better than "\u003ctoken\u003e".
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
