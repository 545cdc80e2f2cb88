package alerts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"

	"firebreak/alerts"
)

var canonicalFingerprint = regexp.MustCompile(`^[0-9a-f]{16}$`)

// FuzzDecode checks that no body, however malformed, makes Decode panic, and that whatever
// it accepts is something ingestion can rely on.
func FuzzDecode(f *testing.F) {
	addDecodeSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := alerts.Decode(b)
		if err != nil {
			if len(p.Alerts) != 0 || p.Version != "" {
				t.Fatalf("refused body returned a partly filled payload: %+v", p)
			}
			return
		}
		if p.Version != "4" {
			t.Fatalf("accepted version %q", p.Version)
		}
		if len(p.Alerts) == 0 {
			t.Fatal("accepted a payload without alerts")
		}
		for i, a := range p.Alerts {
			if a.Status != "firing" && a.Status != "resolved" {
				t.Fatalf("alerts[%d]: accepted status %q", i, a.Status)
			}
			if len(a.Labels) == 0 {
				t.Fatalf("alerts[%d]: accepted empty labels", i)
			}
			if a.StartsAt.IsZero() {
				t.Fatalf("alerts[%d]: accepted a zero startsAt", i)
			}
			if y := a.StartsAt.UTC().Year(); y < 1970 || y > 9999 {
				t.Fatalf("alerts[%d]: accepted startsAt %s", i, a.StartsAt)
			}
			if fp := alerts.Fingerprint(a); !canonicalFingerprint.MatchString(fp) {
				t.Fatalf("alerts[%d]: fingerprint %q is not 16 lowercase hex digits (sent %q)", i, fp, a.Fingerprint)
			}
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Decode accepted what Validate refuses: %v", err)
		}
		// What ingestion stores is valid UTF-8 without NUL bytes, whatever was sent.
		c := p.Clean()
		storable := func(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }
		if !storable(c.GroupKey) {
			t.Fatalf("cleaned group key %q is not storable", c.GroupKey)
		}
		for i, a := range c.Alerts {
			for _, kv := range []map[string]string{a.Labels, a.Annotations} {
				for k, v := range kv {
					if !storable(k) || !storable(v) {
						t.Fatalf("alerts[%d]: cleaned %q=%q is not storable", i, k, v)
					}
				}
			}
			if !storable(a.GeneratorURL) {
				t.Fatalf("alerts[%d]: cleaned generatorURL %q is not storable", i, a.GeneratorURL)
			}
		}
	})
}

// addDecodeSeeds seeds a fuzz target of Decode with Alertmanager's bodies (testdata), the
// bodies Decode must refuse, and well-formed bodies with NUL bytes, lone surrogates and
// fingerprints in unusual spellings.
func addDecodeSeeds(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	seeded := 0
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("testdata", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		seeded++
	}
	if seeded < 4 {
		f.Fatalf("%d testdata seeds, want the 4 Alertmanager bodies at least", seeded)
	}
	for _, c := range badBodies {
		f.Add([]byte(c.body))
	}
	f.Add([]byte(body(validAlertJSON)))
	// NUL bytes and lone surrogates are taken and cleaned, never refused.
	for _, b := range dirtyBodies {
		f.Add([]byte(b))
	}
	f.Add([]byte(alertWith(`"service":"api"`, `"service":"a\u0000p\udc00i"`)))
	// Valid fingerprints in unusual spellings: Fingerprint must still give the canonical form.
	f.Add([]byte(alertWith(`0123456789abcdef`, `ABC`)))
	f.Add([]byte(alertWith(`0123456789abcdef`, `000000000000000000000123456789abcdef`)))
}

// FuzzDecodeMatchesEncodingJSON holds Decode, which decodes with go-json, to what
// encoding/json makes of the same body: the same payload when both take it, a refusal when
// either refuses it. go-json on its own must agree with encoding/json too, so that Decode's
// second reading of the bodies go-json refuses hides no difference.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	addDecodeSeeds(f)
	for _, b := range unusualBodies() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := alerts.Decode(b)
		want, wantErr := decodeWithEncodingJSON(b)
		switch {
		case (err == nil) != (wantErr == nil):
			t.Fatalf("Decode: %v; encoding/json: %v", err, wantErr)
		case !reflect.DeepEqual(got, want):
			t.Fatalf("Decode gave\n%#v\nencoding/json\n%#v", got, want)
		}
		var lib, std alerts.Payload
		libErr, stdErr := gojson.Unmarshal(b, &lib), json.Unmarshal(b, &std)
		if (libErr == nil) != (stdErr == nil) {
			t.Fatalf("go-json: %v; encoding/json: %v", libErr, stdErr)
		}
		if libErr == nil && !reflect.DeepEqual(lib, std) {
			t.Fatalf("go-json gave\n%#v\nencoding/json\n%#v", lib, std)
		}
	})
}

// decodeWithEncodingJSON is Decode as it was with encoding/json alone: the reference.
func decodeWithEncodingJSON(body []byte) (alerts.Payload, error) {
	var p alerts.Payload
	if len(bytes.TrimSpace(body)) == 0 {
		return p, fmt.Errorf("%w: the body is empty", alerts.ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&p); err != nil {
		return alerts.Payload{}, fmt.Errorf("%w: %v", alerts.ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return alerts.Payload{}, fmt.Errorf("%w: data after the JSON object", alerts.ErrInvalid)
	}
	if err := p.Validate(); err != nil {
		return alerts.Payload{}, err
	}
	return p, nil
}

// unusualBodies are where JSON decoders tend to differ: wrong types, duplicate and
// case-folded keys, invalid UTF-8 and escapes, numbers out of range, odd times, data after
// the object, and nesting to encoding/json's limit of 10000 levels and past it.
func unusualBodies() [][]byte {
	good := body(validAlertJSON)
	in := func(s string) string { return strings.Replace(good, `"receiver":"firebreak"`, s, 1) }
	nested := func(depth int) string {
		return in(`"receiver":"firebreak","x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth))
	}
	bodies := []string{
		// Wrong types, everywhere.
		in(`"receiver":1`), in(`"receiver":null`), in(`"receiver":true`), in(`"receiver":{}`),
		in(`"truncatedAlerts":-1`), in(`"truncatedAlerts":1.5`), in(`"truncatedAlerts":"1"`), in(`"truncatedAlerts":1e2`),
		in(`"truncatedAlerts":18446744073709551615`), in(`"truncatedAlerts":18446744073709551616`),
		in(`"truncatedAlerts":1e400`), in(`"truncatedAlerts":-0`), in(`"truncatedAlerts":` + strings.Repeat("9", 400)),
		in(`"groupLabels":[]`), in(`"groupLabels":{"a":null}`), in(`"groupLabels":{"a":1}`), in(`"commonLabels":"x"`),
		`{"version":"4","alerts":{}}`, `{"version":"4","alerts":"x"}`, `{"version":"4","alerts":[1]}`, `{"version":"4","alerts":[[]]}`,
		alertWith(`"startsAt":"2026-11-18T09:00:00Z"`, `"startsAt":null`),
		alertWith(`"startsAt":"2026-11-18T09:00:00Z"`, `"startsAt":20261118`),
		alertWith(`"endsAt":"0001-01-01T00:00:00Z"`, `"endsAt":{}`),
		alertWith(`"fingerprint":"0123456789abcdef"`, `"fingerprint":123`),
		alertWith(`{"alertname":"Up","service":"api"}`, `{"alertname":"Up","service":["api"]}`),
		// Times as RFC 3339 allows and forbids them.
		alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T09:00:00.123456789123Z`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T09:00:00.Z`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-11-18t09:00:00z`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T24:00:00Z`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-12-31T23:59:60Z`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T09:00:00+14:00`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T09:00:00-00:00`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T09:00:00+0100`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T09:00:00+24:00`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-02-30T09:00:00Z`),
		alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T09:00:00\u005a`),
		alertWith(`2026-11-18T09:00:00Z`, ` 2026-11-18T09:00:00Z`),
		// Duplicate keys: the last wins, and a repeated array or object is decoded into
		// what the first one filled.
		strings.Replace(good, `"version":"4"`, `"version":"3","version":"4"`, 1),
		strings.Replace(good, `"version":"4"`, `"version":"4","version":"3"`, 1),
		good[:len(good)-1] + `,"alerts":[{"labels":{"extra":"1"}}]}`,
		good[:len(good)-1] + `,"alerts":[]}`,
		good[:len(good)-1] + `,"alerts":null}`,
		alertWith(`"service":"api"`, `"service":"api","service":"web"`),
		alertWith(`"labels":{"alertname":"Up","service":"api"}`, `"labels":{"alertname":"Up"},"labels":{"service":"api"}`),
		// Keys matched regardless of case, and escaped.
		strings.Replace(good, `"version"`, `"VERSION"`, 1),
		strings.Replace(good, `"version"`, `"Version"`, 1) + ``,
		strings.Replace(good, `"version":"4"`, `"version":"4","VERSION":"3"`, 1),
		strings.Replace(good, `"version"`, `"\u0076ersion"`, 1),
		strings.Replace(good, `"version"`, `"ver\u017fion"`, 1),
		strings.Replace(good, `"alerts"`, `"\u212alerts"`, 1),
		strings.Replace(good, `"groupKey"`, `"group_key"`, 1),
		strings.Replace(good, `"groupKey"`, `"GROUPKEY"`, 1),
		in(`"Data":{"receiver":"x"}`), in(`"routeLabelsRendered":true`), in(`"TruncatedAlerts":2`),
		// Invalid UTF-8 and odd escapes: decoded to U+FFFD, never refused.
		in("\"receiver\":\"a\xffb\""), in("\"receiver\":\"\xf0\x9f\x98\""), in("\"receiver\":\"\xc0\xaf\""),
		in("\"receiver\":\"\xed\xa0\x80\""), in("\"receiver\":\"\xf4\x90\x80\x80\""), in("\"rec\xffeiver\":\"x\""),
		in(`"receiver":"\ud800"`), in(`"receiver":"\udc00\ud800"`), in(`"receiver":"\ud83d\ude00"`), in(`"receiver":"\ud83dx"`),
		in(`"receiver":"\u0000"`), in(`"receiver":"\/\b\f\n\r\t\"\\"`), in(`"receiver":"\x41"`), in(`"receiver":"\u00"`),
		in("\"receiver\":\"tab\there\""), in("\"receiver\":\"line\nbreak\""), in("\"receiver\":\"\x7f\""),
		alertWith(`"service":"api"`, "\"serv\xffice\":\"a\xfe\xfdpi\""),
		"\xef\xbb\xbf" + good,
		// Syntax that only a value nobody reads carries.
		in(`"x":01`), in(`"x":1.`), in(`"x":.5`), in(`"x":1e`), in(`"x":-`), in(`"x":+1`), in(`"x":0x10`), in(`"x":NaN`),
		in(`"x":tru`), in(`"x":nul`), in(`"x":True`), in(`"x":[1,]`), in(`"x":{"a":1,}`), in(`"x":{"a"}`), in(`"x":'a'`),
		in(`"x":"\x"`), in("\"x\":\"\x01\""), in(`"x":[1 2]`), in(`"x":1e999999`),
		// Data after the object, and before it.
		good + " ", good + "\n\t\r ", good + " x", good + "{}", good + ",", good + "\x00", good + "]", good + `"`,
		" \n" + good, "\x00" + good, "[" + good + "]", "null", "null null", `{} {}`, `{}`, "{\"version\":\"4\"}\x00",
		// Nesting to the limit, and past it.
		nested(9990), nested(10001),
		alertWith(`"service":"api"`, `"service":`+strings.Repeat("[", 10001)+strings.Repeat("]", 10001)),
	}
	out := make([][]byte, len(bodies))
	for i, b := range bodies {
		out[i] = []byte(b)
	}
	return out
}
