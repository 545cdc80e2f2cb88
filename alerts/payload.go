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
	"strings"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"
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

// MaxAlertsPerPayload bounds one webhook; Alertmanager's max_alerts is usually far lower.
const MaxAlertsPerPayload = 10000

// Decode parses and validates a webhook body.
func Decode(body []byte) (Payload, error) {
	var p Payload
	if len(bytes.TrimSpace(body)) == 0 {
		return p, fmt.Errorf("%w: the body is empty", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return Payload{}, fmt.Errorf("%w: %s", ErrInvalid, describe(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Payload{}, fmt.Errorf("%w: data after the JSON object", ErrInvalid)
	}
	if err := p.Validate(); err != nil {
		return Payload{}, err
	}
	return p, nil
}

// Validate checks what ingestion relies on: version 4, at least one alert, every alert
// with a known status, labels, a start time and, when given, a well-formed fingerprint.
func (p *Payload) Validate() error {
	if p.Version != "4" {
		return fmt.Errorf("%w: version %q is not supported (want \"4\", Alertmanager's webhook format)", ErrInvalid, p.Version)
	}
	if strings.ContainsRune(p.GroupKey, 0) {
		return fmt.Errorf("%w: groupKey contains a NUL byte", ErrInvalid)
	}
	if len(p.Alerts) == 0 {
		return fmt.Errorf("%w: no alerts", ErrInvalid)
	}
	if len(p.Alerts) > MaxAlertsPerPayload {
		return fmt.Errorf("%w: %d alerts in one payload, at most %d", ErrInvalid, len(p.Alerts), MaxAlertsPerPayload)
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
	for k, v := range a.Labels {
		if !model.LabelName(k).IsValid() {
			return fmt.Errorf("label name %q is not valid", k)
		}
		if !model.LabelValue(v).IsValid() {
			return fmt.Errorf("label %s has a value that is not valid UTF-8", k)
		}
	}
	// PostgreSQL text cannot hold a NUL byte; refuse it here as the sender's mistake rather
	// than fail in the database with a 500 on one backend and not the other.
	for _, kv := range []template.KV{a.Labels, a.Annotations} {
		for k, v := range kv {
			if strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0) {
				return fmt.Errorf("label or annotation %q contains a NUL byte", k)
			}
		}
	}
	if strings.ContainsRune(a.GeneratorURL, 0) {
		return errors.New("generatorURL contains a NUL byte")
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
