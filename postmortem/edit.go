package postmortem

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"firebreak/text"
)

// Named errors; the HTTP layer maps them once (400 and 409).
var (
	ErrInvalid = errors.New("invalid postmortem")
	// ErrIncidentOpen refuses to publish the postmortem of an incident still open.
	ErrIncidentOpen = errors.New("the incident is still open")
)

// Limits on what people write, so one request cannot fill the database.
const (
	// MaxText bounds each human text, in characters.
	MaxText = 50000
	// MaxActionItems bounds the action item list.
	MaxActionItems = 200
	// MaxActionText bounds an action item's text, in characters.
	MaxActionText = 2000
	// MaxOwner bounds an action item's owner, in characters.
	MaxOwner = 200
	// MaxEditBytes is the largest PUT body worth reading: every text at its limit in
	// characters of up to four bytes, escaped, plus a full action item list.
	MaxEditBytes = 2 << 20
)

// Optional is a value a partial edit may carry or leave out.
type Optional[T any] struct {
	Value T
	// Set is true when the edit carries the value.
	Set bool
}

// Edit is a change to the human parts: only what it carries changes.
type Edit struct {
	RootCause           Optional[string]
	ContributingFactors Optional[string]
	WentWell            Optional[string]
	WentBadly           Optional[string]
	GotLucky            Optional[string]
	// ActionItems, when set, replaces the whole list.
	ActionItems Optional[[]ActionItem]
}

// editFields are the keys a PUT body may carry, for the message about an unknown one.
var editFields = []string{"root_cause", "contributing_factors", "went_well", "went_badly", "got_lucky", "action_items"}

// DecodeEdit reads a PUT body: a JSON object carrying some of the human parts. A key left
// out is left unchanged; null clears a text or the action item list. An unknown key, a
// value of the wrong type, an action item without text or with a due date that is not a
// YYYY-MM-DD date, or a text over its limit is an error wrapping ErrInvalid that names the
// field.
func DecodeEdit(body []byte) (Edit, error) {
	var e Edit
	if len(bytes.TrimSpace(body)) == 0 {
		return e, invalid("the body is empty; send a JSON object with some of %s", strings.Join(editFields, ", "))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return e, invalid("the body is not a JSON object: %s", describe(err))
	}
	if raw == nil {
		return e, invalid("the body is null; send a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return e, invalid("data after the JSON object")
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var problems []string
	for _, k := range keys {
		if err := e.decodeField(k, raw[k]); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return Edit{}, invalid("%s", strings.Join(problems, "; "))
	}
	return e, nil
}

// decodeField decodes and checks one key of the body.
func (e *Edit) decodeField(key string, v json.RawMessage) error {
	for _, c := range textColumns {
		if c.column == key {
			f := c.field(e)
			f.Set = true
			if err := decodeNullable(key, v, &f.Value, "a string"); err != nil {
				return err
			}
			f.Value = strings.ReplaceAll(f.Value, "\r\n", "\n")
			return text.Check(key, f.Value, MaxText, false)
		}
	}
	if key != "action_items" {
		return fmt.Errorf("unknown field %q (a postmortem takes %s)", key, strings.Join(editFields, ", "))
	}
	e.ActionItems.Set = true
	var list []json.RawMessage
	if err := decodeNullable(key, v, &list, "a list of action items"); err != nil {
		return err
	}
	if len(list) > MaxActionItems {
		return fmt.Errorf("action_items has %d items, at most %d allowed", len(list), MaxActionItems)
	}
	e.ActionItems.Value = make([]ActionItem, 0, len(list))
	for i, raw := range list {
		it, err := decodeActionItem(fmt.Sprintf("action_items[%d]", i), raw)
		if err != nil {
			return err
		}
		e.ActionItems.Value = append(e.ActionItems.Value, it)
	}
	return nil
}

// actionItemBody is an action item as a PUT body writes it.
type actionItemBody struct {
	Text  *string `json:"text"`
	Owner *string `json:"owner"`
	Due   *string `json:"due"`
	Done  *bool   `json:"done"`
}

// decodeActionItem reads one item of action_items; name is its place for messages.
func decodeActionItem(name string, raw json.RawMessage) (ActionItem, error) {
	var b actionItemBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field == "":
			return ActionItem{}, fmt.Errorf("%s must be an object with text, owner, due and done", name)
		case errors.As(err, &te):
			return ActionItem{}, fmt.Errorf("%s.%s must be %s, not %s", name, te.Field, jsonType(te.Type.String()), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return ActionItem{}, fmt.Errorf("%s has an unknown field %q (an action item takes text, owner, due and done)", name, field)
		}
		return ActionItem{}, fmt.Errorf("%s: %s", name, describe(err))
	}
	var it ActionItem
	if b.Text != nil {
		it.Text = strings.TrimSpace(*b.Text)
	}
	if err := text.Check(name+".text", it.Text, MaxActionText, true); err != nil {
		return ActionItem{}, err
	}
	if b.Owner != nil {
		it.Owner = strings.TrimSpace(*b.Owner)
	}
	if err := text.Check(name+".owner", it.Owner, MaxOwner, false); err != nil {
		return ActionItem{}, err
	}
	if b.Due != nil && strings.TrimSpace(*b.Due) != "" {
		due := strings.TrimSpace(*b.Due)
		d, err := time.Parse(time.DateOnly, due)
		if err != nil || d.Format(time.DateOnly) != due {
			return ActionItem{}, fmt.Errorf("%s.due %q is not a date like 2026-03-31 (YYYY-MM-DD)", name, text.Cut(due, 40))
		}
		it.Due = &due
	}
	if b.Done != nil {
		it.Done = *b.Done
	}
	return it, nil
}

// decodeNullable decodes v into dst; null leaves dst at its zero value (it clears).
func decodeNullable(name string, v json.RawMessage, dst any, want string) error {
	if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s must be %s, not %s", name, want, te.Value)
		}
		return fmt.Errorf("%s: %s", name, describe(err))
	}
	return nil
}

// describe says where a body went wrong as JSON.
func describe(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the body ends in the middle of the JSON"
	case errors.As(err, &te):
		return "got " + te.Value
	}
	return err.Error()
}

// jsonType names a Go type of actionItemBody as JSON calls it.
func jsonType(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	}
	return goType
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
