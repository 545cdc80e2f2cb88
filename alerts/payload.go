// Package alerts turns Alertmanager webhook payloads into stored alerts and incidents:
// decoding and validation, identity by fingerprint, deduplication of repeats, grouping into
// incidents, reopening of flapping incidents and resolution when every alert has resolved.
package alerts

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"firebreak/text"
)

// ErrInvalid marks a payload that cannot be accepted; its message says why.
var ErrInvalid = errors.New("invalid alertmanager payload")

// Payload is Alertmanager's webhook body, version 4: the template data plus the fields the
// webhook notifier adds. Alertmanager's own types are used so its meaning is never
// reinterpreted; fields newer versions add are ignored.
type Payload struct {
	template.Data
	Version         string `json:"version"`
	GroupKey        string `json:"groupKey"`
	TruncatedAlerts uint64 `json:"truncatedAlerts"`
}

// Decode parses and validates a webhook body.
func Decode(body []byte) (Payload, error) {
	var p Payload
	if len(bytes.TrimSpace(body)) == 0 {
		return p, fmt.Errorf("%w: the body is empty", ErrInvalid)
	}
	// go-json decodes as encoding/json does, about three times as fast and in half the memory
	// (BenchmarkDecode); FuzzDecodeMatchesEncodingJSON holds it to the same result. A body it
	// refuses is decoded again by encoding/json, so that the message is encoding/json's error
	// in words (describe), as it always was, and a body is never refused on go-json's word
	// alone: Alertmanager drops a notification answered 4xx.
	if err := gojson.Unmarshal(body, &p); err != nil {
		p = Payload{}
		if err := decodeStandard(body, &p); err != nil {
			return Payload{}, err
		}
	}
	if err := p.Validate(); err != nil {
		return Payload{}, err
	}
	return p, nil
}

// decodeStandard decodes body with encoding/json, which is the reference of what a body
// means, and says why it refuses one.
func decodeStandard(body []byte, p *Payload) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(p); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, describe(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	return nil
}

// AlertCount is how many alerts a webhook body names, for counting the alerts of a
// notification Decode refused: the length of its alerts array, or 1 when a body is there
// but not even that far readable (something was sent, and it is lost).
func AlertCount(body []byte) int {
	if len(bytes.TrimSpace(body)) == 0 {
		return 0
	}
	var p struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return 1
	}
	return len(p.Alerts)
}

// Validate checks what ingestion relies on: version 4, at least one alert, every alert
// with a known status, labels, a start time and, when given, a well-formed fingerprint.
//
// It refuses only what is malformed. Alertmanager drops a notification answered 4xx, so
// content is never a reason: any number of alerts is taken (the body limit bounds them), and
// NUL bytes or invalid UTF-8 in labels and annotations are stored as U+FFFD (see Clean).
func (p *Payload) Validate() error {
	if p.Version != "4" {
		return fmt.Errorf("%w: version %q is not supported (want \"4\", Alertmanager's webhook format)", ErrInvalid, p.Version)
	}
	if len(p.Alerts) == 0 {
		return fmt.Errorf("%w: no alerts", ErrInvalid)
	}
	for i, a := range p.Alerts {
		if err := validateAlert(a); err != nil {
			return fmt.Errorf("%w: alerts[%d]: %s", ErrInvalid, i, err)
		}
	}
	return nil
}

func validateAlert(a template.Alert) error {
	switch a.Status {
	case string(model.AlertFiring), string(model.AlertResolved):
	default:
		return fmt.Errorf("status %q is neither firing nor resolved", a.Status)
	}
	if len(a.Labels) == 0 {
		return errors.New("labels are empty; an alert is identified by its labels")
	}
	// Alertmanager never sends an empty label name; any other name (UTF-8 names included,
	// as Prometheus 3 allows) is taken, cleaned if it must be.
	if _, ok := a.Labels[""]; ok {
		return errors.New("label name \"\" is not valid")
	}
	if a.StartsAt.IsZero() {
		return errors.New("startsAt is missing")
	}
	// In UTC, as it is stored: 9999-12-31T23:00:00-05:00 is in the year 10000.
	if y := a.StartsAt.UTC().Year(); y < 1970 || y > 9999 {
		return fmt.Errorf("startsAt %s is out of range", a.StartsAt.Format(time.RFC3339))
	}
	if a.Fingerprint != "" {
		if _, err := model.ParseFingerprint(a.Fingerprint); err != nil {
			return fmt.Errorf("fingerprint %q is not a hex fingerprint", a.Fingerprint)
		}
	}
	return nil
}

// Clean returns the payload with every string that is stored made storable: NUL bytes and
// invalid UTF-8 in the group key, labels (names and values), annotations and generator URL
// become U+FFFD (text.Clean), which PostgreSQL accepts and SQLite stores alike. A payload
// that needs nothing is returned as it is; otherwise the alerts that change are copied, so
// the caller's maps are never modified.
func (p Payload) Clean() Payload {
	p.GroupKey = text.Clean(p.GroupKey)
	copied := false
	for i, a := range p.Alerts {
		labels, lok := cleanKV(a.Labels)
		annots, aok := cleanKV(a.Annotations)
		url := a.GeneratorURL
		if !storable(url) {
			url = text.Clean(url)
		}
		if lok && aok && url == a.GeneratorURL {
			continue
		}
		if !copied {
			p.Alerts = slices.Clone(p.Alerts)
			copied = true
		}
		a.Labels, a.Annotations, a.GeneratorURL = labels, annots, url
		p.Alerts[i] = a
	}
	return p
}

// cleanKV returns kv with every name and value cleaned, and whether it was clean already
// (then kv itself is returned).
func cleanKV(kv template.KV) (template.KV, bool) {
	clean := true
	for k, v := range kv {
		if !storable(k) || !storable(v) {
			clean = false
			break
		}
	}
	if clean {
		return kv, true
	}
	out := make(template.KV, len(kv))
	for k, v := range kv {
		out[text.Clean(k)] = text.Clean(v)
	}
	return out, false
}

// storable reports whether text.Clean would leave s as it is, looking at each byte once in
// the common case of plain ASCII.
func storable(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return false
		case c >= utf8.RuneSelf:
			return text.Clean(s[i:]) == s[i:]
		}
	}
	return true
}

// Fingerprint is the alert's identity: the fingerprint Alertmanager sent, else the
// Prometheus fingerprint of its label set (which is what Alertmanager computes). It is
// always in Alertmanager's form, 16 lowercase hex digits, so "ABC" and "0000000000000abc"
// name one alert.
func Fingerprint(a template.Alert) string {
	if a.Fingerprint != "" {
		if fp, err := model.ParseFingerprint(a.Fingerprint); err == nil {
			return fp.String()
		}
	}
	ls := make(model.LabelSet, len(a.Labels))
	for k, v := range a.Labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

func describe(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	var pe *time.ParseError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return fmt.Sprintf("the body must be a JSON object, not %s", te.Value)
		}
		// Field names the JSON path, prefixed by the embedded Go struct's name.
		return fmt.Sprintf("field %q must be %s, not %s", strings.TrimPrefix(te.Field, "Data."), jsonType(te.Type), te.Value)
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %s", se.Offset, se.Error())
	case errors.As(err, &pe):
		return fmt.Sprintf("time %q is not RFC 3339", pe.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "the body ends in the middle of the JSON"
	}
	return "invalid JSON: " + err.Error()
}

// jsonType names the JSON type a Go type is decoded from.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}
