package alerts_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"firebreak/alerts"
	"firebreak/store"
	"firebreak/store/storetest"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeFile(t *testing.T, name string) alerts.Payload {
	t.Helper()
	p, err := alerts.Decode(readTestdata(t, name))
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return p
}

func TestDecodeAcceptsAlertmanagerBodies(t *testing.T) {
	t.Run("one firing alert", func(t *testing.T) {
		p := decodeFile(t, "firing_one.json")
		if p.Version != "4" || p.Status != "firing" || p.Receiver != "firebreak" || p.TruncatedAlerts != 0 {
			t.Fatalf("envelope: %+v", p)
		}
		if want := `{}/{severity=~"critical|warning"}:{alertname="HighErrorRate", service="checkout"}`; p.GroupKey != want {
			t.Fatalf("groupKey %q, want %q", p.GroupKey, want)
		}
		if len(p.Alerts) != 1 {
			t.Fatalf("%d alerts, want 1", len(p.Alerts))
		}
		a := p.Alerts[0]
		if a.Status != "firing" || a.Labels["alertname"] != "HighErrorRate" || a.Labels["service"] != "checkout" ||
			a.Annotations["summary"] != "checkout 5xx rate above 5%" || !strings.HasPrefix(a.GeneratorURL, "http://prometheus-0") {
			t.Fatalf("alert: %+v", a)
		}
		// Alertmanager sends nanoseconds; they are kept as sent.
		if want := time.Date(2026, 11, 18, 9, 55, 12, 345678901, time.UTC); !a.StartsAt.Equal(want) {
			t.Fatalf("startsAt %s, want %s", a.StartsAt, want)
		}
		if !a.EndsAt.IsZero() {
			t.Fatalf("endsAt %s, want Alertmanager's zero time", a.EndsAt)
		}
		if got := alerts.Fingerprint(a); got != "a3f1c2d4e5b60789" {
			t.Fatalf("fingerprint %q, want the one Alertmanager sent", got)
		}
	})
	t.Run("a group of three", func(t *testing.T) {
		p := decodeFile(t, "firing_group.json")
		if len(p.Alerts) != 3 {
			t.Fatalf("%d alerts, want 3", len(p.Alerts))
		}
		seen := map[string]bool{}
		for _, a := range p.Alerts {
			if a.Status != "firing" || a.Labels["app"] != "payments" || a.Labels["environment"] != "staging" {
				t.Fatalf("alert: %+v", a)
			}
			seen[alerts.Fingerprint(a)] = true
		}
		if len(seen) != 3 {
			t.Fatalf("fingerprints %v, want 3 distinct", seen)
		}
	})
	t.Run("resolved", func(t *testing.T) {
		p := decodeFile(t, "resolved.json")
		a := p.Alerts[0]
		if p.Status != "resolved" || a.Status != "resolved" {
			t.Fatalf("status %q / %q, want resolved", p.Status, a.Status)
		}
		if want := time.Date(2026, 11, 18, 9, 58, 42, 123456789, time.UTC); !a.EndsAt.Equal(want) {
			t.Fatalf("endsAt %s, want %s", a.EndsAt, want)
		}
		firing := decodeFile(t, "firing_one.json").Alerts[0]
		if alerts.Fingerprint(a) != alerts.Fingerprint(firing) || !a.StartsAt.Equal(firing.StartsAt) {
			t.Fatal("the resolved notification must name the same occurrence as the firing one")
		}
	})
	t.Run("fields a newer Alertmanager adds are ignored", func(t *testing.T) {
		body := readTestdata(t, "future_fields.json")
		if !strings.Contains(string(body), `"futureField": [`) || !strings.Contains(string(body), `"futureField": {`) {
			t.Fatal("testdata/future_fields.json must carry futureField at the top level and in an alert")
		}
		p := decodeFile(t, "future_fields.json")
		if len(p.Alerts) != 1 || p.Alerts[0].Labels["alertname"] != "DiskWillFillIn4Hours" || p.GroupKey == "" {
			t.Fatalf("payload: %+v", p)
		}
	})
}

// validAlertJSON is one good alert; the refusal cases below break one thing at a time.
const validAlertJSON = `{"status":"firing","labels":{"alertname":"Up","service":"api"},"startsAt":"2026-11-18T09:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"0123456789abcdef"}`

func body(alertsJSON string) string {
	return `{"version":"4","groupKey":"{}:{alertname=\"Up\"}","status":"firing","receiver":"firebreak","alerts":[` + alertsJSON + `]}`
}

func alertWith(replace, with string) string {
	if !strings.Contains(validAlertJSON, replace) {
		panic("test bug: " + replace + " not in the valid alert")
	}
	return body(strings.Replace(validAlertJSON, replace, with, 1))
}

// badBodies are bodies Decode must refuse, each with words its message must contain so a
// person can fix the sender.
var badBodies = []struct {
	name, body string
	says       []string
}{
	{"empty body", "", []string{"empty"}},
	{"only whitespace", " \n\t", []string{"empty"}},
	{"truncated JSON", body(validAlertJSON)[:60], []string{"ends in the middle"}},
	{"an array", `[]`, []string{"object", "array"}},
	{"a string", `"firing"`, []string{"object", "string"}},
	{"null", `null`, []string{"version"}},
	{"version 3", strings.Replace(body(validAlertJSON), `"version":"4"`, `"version":"3"`, 1), []string{`"3"`, `"4"`}},
	{"no version", strings.Replace(body(validAlertJSON), `"version":"4",`, ``, 1), []string{"version"}},
	{"version as a number", strings.Replace(body(validAlertJSON), `"version":"4"`, `"version":4`, 1), []string{"version", "string", "number"}},
	{"no alerts", body(""), []string{"no alerts"}},
	{"alerts null", `{"version":"4","alerts":null}`, []string{"no alerts"}},
	{"a null alert", body("null"), []string{"alerts[0]", "status"}},
	{"status pending", alertWith(`"status":"firing"`, `"status":"pending"`), []string{"alerts[0]", `"pending"`, "firing", "resolved"}},
	{"no status", alertWith(`"status":"firing",`, ``), []string{"alerts[0]", "status"}},
	{"empty labels", alertWith(`{"alertname":"Up","service":"api"}`, `{}`), []string{"alerts[0]", "labels"}},
	{"no labels", alertWith(`"labels":{"alertname":"Up","service":"api"},`, ``), []string{"alerts[0]", "labels"}},
	{"empty label name", alertWith(`"service":"api"`, `"":"api"`), []string{"alerts[0]", "label name"}},
	{"missing startsAt", alertWith(`"startsAt":"2026-11-18T09:00:00Z",`, ``), []string{"alerts[0]", "startsAt", "missing"}},
	{"zero startsAt", alertWith(`2026-11-18T09:00:00Z`, `0001-01-01T00:00:00Z`), []string{"alerts[0]", "startsAt"}},
	{"startsAt yesterday", alertWith(`2026-11-18T09:00:00Z`, `yesterday`), []string{`"yesterday"`, "RFC 3339"}},
	{"startsAt without zone", alertWith(`2026-11-18T09:00:00Z`, `2026-11-18 09:00:00`), []string{"RFC 3339"}},
	{"startsAt before 1970", alertWith(`2026-11-18T09:00:00Z`, `1969-12-31T23:59:59Z`), []string{"alerts[0]", "startsAt", "range"}},
	// 00:30 at +01:00 is 23:30 UTC on the last day of 1969.
	{"startsAt before 1970 in UTC", alertWith(`2026-11-18T09:00:00Z`, `1970-01-01T00:30:00+01:00`), []string{"alerts[0]", "startsAt", "range"}},
	// 23:00 at -05:00 is in the year 10000 in UTC, which no database column holds.
	{"startsAt after 9999 in UTC", alertWith(`2026-11-18T09:00:00Z`, `9999-12-31T23:00:00-05:00`), []string{"alerts[0]", "startsAt", "range"}},
	{"fingerprint zz", alertWith(`0123456789abcdef`, `zz`), []string{"alerts[0]", `"zz"`, "fingerprint"}},
	{"fingerprint too long", alertWith(`0123456789abcdef`, `0123456789abcdef01`), []string{"alerts[0]", "fingerprint"}},
	{"fingerprint with sign", alertWith(`0123456789abcdef`, `-123456789abcdef`), []string{"alerts[0]", "fingerprint"}},
	{"number as label value", alertWith(`{"alertname":"Up","service":"api"}`, `{"a":1}`), []string{"labels", "string", "number"}},
	{"number as status", alertWith(`"status":"firing"`, `"status":1`), []string{"status", "string", "number"}},
	{"labels as a list", alertWith(`{"alertname":"Up","service":"api"}`, `["a","b"]`), []string{"labels", "array"}},
	{"trailing garbage", body(validAlertJSON) + " garbage", []string{"after the JSON"}},
	{"two objects", body(validAlertJSON) + body(validAlertJSON), []string{"after the JSON"}},
	{"a comma after the object", body(validAlertJSON) + ",", []string{"after the JSON"}},
}

func TestDecodeRefusesWhatIngestionCannotUse(t *testing.T) {
	if _, err := alerts.Decode([]byte(body(validAlertJSON))); err != nil {
		t.Fatalf("the base body of these cases must be valid: %v", err)
	}
	for _, c := range badBodies {
		t.Run(c.name, func(t *testing.T) {
			p, err := alerts.Decode([]byte(c.body))
			if err == nil {
				t.Fatalf("Decode(%q) accepted %+v, want ErrInvalid", c.body, p)
			}
			if !errors.Is(err, alerts.ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			for _, s := range c.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not say %q", err, s)
				}
			}
			// The message names JSON fields, never Go's types.
			for _, leak := range []string{"alerts.Payload", "template.", "Data."} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("message %q shows Go internals (%s)", err, leak)
				}
			}
			if len(p.Alerts) != 0 || p.Version != "" {
				t.Errorf("a refused body returned a partly filled payload: %+v", p)
			}
		})
	}
}

func TestDecodeAcceptsWhatAlertmanagerMaySend(t *testing.T) {
	for name, b := range map[string]string{
		"resolved without endsAt":    alertWith(`"status":"firing"`, `"status":"resolved"`),
		"no fingerprint":             alertWith(`,"fingerprint":"0123456789abcdef"`, ``),
		"empty fingerprint":          alertWith(`0123456789abcdef`, ``),
		"trailing newline":           body(validAlertJSON) + "\n",
		"no groupKey":                strings.Replace(body(validAlertJSON), `"groupKey":"{}:{alertname=\"Up\"}",`, ``, 1),
		"startsAt with an offset":    alertWith(`2026-11-18T09:00:00Z`, `2026-11-18T10:00:00+01:00`),
		"unknown alert field":        alertWith(`"status":"firing"`, `"status":"firing","futureField":{"a":[1,2]}`),
		"unknown top-level field":    strings.Replace(body(validAlertJSON), `"version":"4"`, `"version":"4","futureField":42`, 1),
		"unicode label value":        alertWith(`"service":"api"`, `"service":"caisse-€-日本"`),
		"UTF-8 label name":           alertWith(`"service":"api"`, `"service.name":"api"`),
		"truncatedAlerts is counted": strings.Replace(body(validAlertJSON), `"version":"4"`, `"version":"4","truncatedAlerts":12`, 1),
	} {
		t.Run(name, func(t *testing.T) {
			p, err := alerts.Decode([]byte(b))
			if err != nil {
				t.Fatalf("Decode refused it: %v", err)
			}
			if len(p.Alerts) != 1 {
				t.Fatalf("%d alerts, want 1", len(p.Alerts))
			}
		})
	}
}

func TestFingerprintIsAlertmanagersIdentity(t *testing.T) {
	labels := template.KV{"alertname": "HighErrorRate", "service": "checkout", "env": "production", "severity": "critical"}
	a := template.Alert{Status: "firing", Labels: labels, StartsAt: t0}
	want := model.LabelSet{"alertname": "HighErrorRate", "service": "checkout", "env": "production", "severity": "critical"}.Fingerprint().String()
	if got := alerts.Fingerprint(a); got != want {
		t.Fatalf("Fingerprint without one sent = %q, want the Prometheus label-set fingerprint %q", got, want)
	}
	// Annotations, times and status are not part of an alert's identity.
	b := a
	b.Annotations = template.KV{"summary": "different"}
	b.StartsAt, b.Status = t0.Add(time.Hour), "resolved"
	if alerts.Fingerprint(b) != want {
		t.Fatal("the fingerprint depends on more than the labels")
	}
	// Another label set is another alert.
	c := template.Alert{Labels: template.KV{"alertname": "HighErrorRate", "service": "payments", "env": "production", "severity": "critical"}}
	if alerts.Fingerprint(c) == want {
		t.Fatal("two label sets share a fingerprint")
	}
	// The fingerprint Alertmanager sends wins over the computed one.
	a.Fingerprint = "a3f1c2d4e5b60789"
	if got := alerts.Fingerprint(a); got != "a3f1c2d4e5b60789" {
		t.Fatalf("Fingerprint = %q, want the one sent", got)
	}
	// A valid but unusually written fingerprint names the same alert as Alertmanager's
	// canonical form: 16 lowercase hex digits.
	for sent, canonical := range map[string]string{
		"A3F1C2D4E5B60789": "a3f1c2d4e5b60789",
		"abc":              "0000000000000abc",
		"0":                "0000000000000000",
	} {
		a.Fingerprint = sent
		p, err := alerts.Decode([]byte(alertWith(`0123456789abcdef`, sent)))
		if err != nil {
			t.Fatalf("fingerprint %q refused: %v", sent, err)
		}
		if got := alerts.Fingerprint(p.Alerts[0]); got != canonical {
			t.Errorf("Fingerprint(%q) = %q, want %q", sent, got, canonical)
		}
	}
}

func TestDecodeOfTheTestdataPayloadsRoundTrips(t *testing.T) {
	// Each testdata body is a payload Ingest can take: Validate agrees with Decode.
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		n++
		p := decodeFile(t, e.Name())
		if err := p.Validate(); err != nil {
			t.Errorf("%s: Decode accepted what Validate refuses: %v", e.Name(), err)
		}
	}
	if n < 4 {
		t.Fatalf("%d testdata payloads, want at least 4", n)
	}
}

// dirtyBodies are well-formed notifications with NUL bytes (and what JSON decodes to
// U+FFFD) in every stored string: Alertmanager would drop them if refused.
var dirtyBodies = []string{
	`{"version":"4","groupKey":"g\u0000k","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A\u0000B","service":"api"},"startsAt":"2026-11-23T10:00:00Z"}]}`,
	`{"version":"4","groupKey":"g","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","service":"api"},"annotations":{"summary":"x\u0000","de\u0000sc":"\ud800"},"generatorURL":"http://p/\u0000","startsAt":"2026-11-23T10:00:00Z"}]}`,
	`{"version":"4","groupKey":"g","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","serv\u0000ice":"api"},"startsAt":"2026-11-23T10:00:00Z","fingerprint":"0123456789abcdef"}]}`,
}

// TestNULAndInvalidUTF8AreStoredAsReplacementCharacters: such a notification is taken, and
// every stored string has U+FFFD where the sender had a NUL byte or invalid UTF-8.
func TestNULAndInvalidUTF8AreStoredAsReplacementCharacters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		for i, b := range dirtyBodies {
			p, err := alerts.Decode([]byte(b))
			if err != nil {
				t.Fatalf("body %d refused: %v", i, err)
			}
			res := r.ingest(p)
			wantResult(t, fmt.Sprintf("body %d", i), res, 1, 1, 0, 0)
		}
		// Built in Go, so the bytes are not valid UTF-8 (JSON decoding would have replaced
		// them already).
		a := fire("Latin1", "caf\xe9", "prod\x00", "warning", t0, "instance", "h\xff\xfe")
		a.Annotations["summary"] = "bad \xc3( byte"
		res := r.ingest(payload("g\xff", a))
		wantResult(t, "invalid UTF-8 from Go", res, 1, 1, 0, 0)
		if inc := r.incident(res.Incidents[0]); inc.Service != "caf\uFFFD" || inc.Environment != "prod\uFFFD" ||
			inc.GroupKey == nil || *inc.GroupKey != "g\uFFFD" {
			t.Fatalf("incident %+v, want service, environment and group key with U+FFFD", inc)
		}

		var stored []alerts.Alert
		for _, id := range r.incidentIDs() {
			stored = append(stored, r.alertsOf(id)...)
		}
		if len(stored) != len(dirtyBodies)+1 {
			t.Fatalf("%d alerts stored, want %d", len(stored), len(dirtyBodies)+1)
		}
		replaced := 0
		for _, al := range stored {
			for _, kv := range []map[string]string{al.Labels, al.Annotations, {"url": al.GeneratorURL}} {
				for k, v := range kv {
					for _, s := range []string{k, v} {
						if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
							t.Errorf("alert %s stores %q", al.Fingerprint, s)
						}
						replaced += strings.Count(s, "\uFFFD")
					}
				}
			}
		}
		// A\0B, x\0, de\0sc, \ud800, the URL's \0, serv\0ice, caf\xe9, prod\0, h\xff\xfe, \xc3(.
		if replaced != 10 {
			t.Fatalf("%d replacement characters stored, want one per dirty value (10)", replaced)
		}
	})
}

// TestDecodeTakesAnyNumberOfAlerts: a group of 20,000 alerts is one notification, taken
// whole (the body limit is what bounds it).
func TestDecodeTakesAnyNumberOfAlerts(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"version":"4","groupKey":"g","status":"firing","alerts":[`)
	for i := 0; i < 20000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"status":"firing","labels":{"alertname":"TargetDown","instance":"node-%d"},"startsAt":"2026-11-23T10:00:00Z"}`, i)
	}
	b.WriteString(`]}`)
	p, err := alerts.Decode([]byte(b.String()))
	if err != nil {
		t.Fatalf("20,000 alerts refused: %v", err)
	}
	if len(p.Alerts) != 20000 {
		t.Fatalf("%d alerts decoded, want 20000", len(p.Alerts))
	}
}

// TestCleanLeavesTheCallersPayloadAlone: cleaning copies what it changes.
func TestCleanLeavesTheCallersPayloadAlone(t *testing.T) {
	a := fire("A", "api\x00", "prod", "warning", t0)
	p := payload("g", a)
	c := p.Clean()
	if a.Labels["service"] != "api\x00" || p.Alerts[0].Labels["service"] != "api\x00" {
		t.Fatal("Clean changed the caller's labels")
	}
	if c.Alerts[0].Labels["service"] != "api\uFFFD" {
		t.Fatalf("cleaned service %q, want api\uFFFD", c.Alerts[0].Labels["service"])
	}
	clean := payload("g", fire("A", "api", "prod", "warning", t0))
	if got := clean.Clean(); &got.Alerts[0] != &clean.Alerts[0] {
		t.Fatal("Clean copied a payload that needed nothing")
	}
}

// TestDecodedPayloadOwnsItsStrings: the web server reuses a request's body buffer for the
// next request, and a payload outlives its request (notifications, the incident's labels),
// so no decoded string may share the body's bytes: plain, escaped, non-ASCII, invalid
// UTF-8, long.
func TestDecodedPayloadOwnsItsStrings(t *testing.T) {
	long := strings.Repeat("long description ", 8000)
	src := alertWith(`"service":"api"`, `"service":"api","pod":"caf\u00e9-\"1\"","team":"caf`+"\xc3\xa9 \xff"+`"`)
	src = strings.Replace(src, `"startsAt"`, `"annotations":{"description":"`+long+`","summary":"tab\tand \u00e9"},"generatorURL":"http://p/graph","startsAt"`, 1)
	for _, name := range []string{"firing_group.json", "future_fields.json", "body with escapes and invalid UTF-8"} {
		t.Run(name, func(t *testing.T) {
			var b []byte
			if strings.HasSuffix(name, ".json") {
				b = readTestdata(t, name)
			} else {
				b = []byte(src)
			}
			p, err := alerts.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			want, err := alerts.Decode(slices.Clone(b))
			if err != nil {
				t.Fatal(err)
			}
			for i := range b {
				b[i] = 'x'
			}
			if !reflect.DeepEqual(p, want) {
				t.Fatalf("overwriting the body changed the decoded payload:\n%+v\nwant\n%+v", p, want)
			}
		})
	}
}
