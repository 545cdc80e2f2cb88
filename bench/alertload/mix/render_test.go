package mix

import (
	"encoding/json"
	"maps"
	"testing"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/prometheus/alertmanager/api/v2/models"
	"github.com/prometheus/common/model"

	"firebreak/alerts"
)

// steppingClock is a clock that advances a millisecond a call, so two generators fed the
// same clock in lockstep stamp the same times.
func steppingClock() func() time.Time {
	t := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Millisecond)
		return t
	}
}

// decodePostable decodes body with Alertmanager's own API v2 type and validates it the way
// POST /api/v2/alerts does: the OpenAPI schema, then each alert as model.Alert once
// Alertmanager has filled in startsAt/endsAt (postAlertsHandler).
func decodePostable(t *testing.T, body []byte) models.PostableAlerts {
	t.Helper()
	var pas models.PostableAlerts
	if err := json.Unmarshal(body, &pas); err != nil {
		t.Fatalf("decode as models.PostableAlerts: %v\n%s", err, body)
	}
	if err := pas.Validate(strfmt.Default); err != nil {
		t.Fatalf("models.PostableAlerts.Validate: %v\n%s", err, body)
	}
	for i, pa := range pas {
		a := model.Alert{Labels: model.LabelSet{}, Annotations: model.LabelSet{}, StartsAt: time.Time(pa.StartsAt),
			EndsAt: time.Time(pa.EndsAt), GeneratorURL: string(pa.GeneratorURL)}
		for k, v := range pa.Labels {
			a.Labels[model.LabelName(k)] = model.LabelValue(v)
		}
		for k, v := range pa.Annotations {
			a.Annotations[model.LabelName(k)] = model.LabelValue(v)
		}
		if a.EndsAt.IsZero() {
			a.EndsAt = a.StartsAt.Add(5 * time.Minute) // resolve_timeout, as Alertmanager does
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("alert %d: Alertmanager would refuse it: %v", i, err)
		}
	}
	return pas
}

// TestPostableAlertsAreTheWebhooksAlerts renders the same generated traffic (same seed,
// same clock) as Firebreak's webhook and as Alertmanager's postable alerts: every v2 body
// decodes with Alertmanager's models.PostableAlerts and validates, and carries exactly the
// webhook's alerts — labels, annotations, startsAt, generatorURL, and endsAt on resolves
// only.
func TestPostableAlertsAreTheWebhooksAlerts(t *testing.T) {
	mk := func(f Format) *Generator {
		g, err := NewGenerator(Config{Run: "t", Groups: []int{0, 1, 2}, PerRequest: 10, Seed: 3, Format: f, Now: steppingClock()})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	wh, pa := mk(Webhook), mk(PostableAlerts)
	var whWarm, paWarm [][]byte
	if err := wh.Warmup(20, 25, func(b []byte, _ Batch) error { whWarm = append(whWarm, append([]byte(nil), b...)); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := pa.Warmup(20, 25, func(b []byte, _ Batch) error { paWarm = append(paWarm, append([]byte(nil), b...)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(whWarm) != len(paWarm) || len(whWarm) != 3 {
		t.Fatalf("warm-up payloads: %d webhook, %d postable, want 3 each", len(whWarm), len(paWarm))
	}
	for i := range whWarm {
		compare(t, whWarm[i], paWarm[i])
	}
	resolves := 0
	for range 500 {
		w, _ := wh.Next()
		p, b := pa.Next()
		_, _, r := b.Kinds()
		resolves += r
		compare(t, w, p)
	}
	if resolves == 0 {
		t.Fatal("500 payloads of the default mix had no resolve: the endsAt path went untested")
	}
}

// compare checks that postable body p carries the alerts of webhook body w.
func compare(t *testing.T, w, p []byte) {
	t.Helper()
	hook, err := alerts.Decode(w)
	if err != nil {
		t.Fatalf("webhook: %v", err)
	}
	pas := decodePostable(t, p)
	if len(pas) != len(hook.Alerts) {
		t.Fatalf("%d postable alerts, webhook has %d", len(pas), len(hook.Alerts))
	}
	for i, want := range hook.Alerts {
		got := pas[i]
		if !maps.Equal(map[string]string(got.Labels), map[string]string(want.Labels)) ||
			!maps.Equal(map[string]string(got.Annotations), map[string]string(want.Annotations)) {
			t.Fatalf("alert %d: labels %v annotations %v, webhook has %v %v", i, got.Labels, got.Annotations, want.Labels, want.Annotations)
		}
		if !time.Time(got.StartsAt).Equal(want.StartsAt) || string(got.GeneratorURL) != want.GeneratorURL {
			t.Fatalf("alert %d: startsAt %s generatorURL %s, webhook has %s %s", i, time.Time(got.StartsAt), got.GeneratorURL, want.StartsAt, want.GeneratorURL)
		}
		ends := time.Time(got.EndsAt)
		switch want.Status {
		case "resolved":
			if !ends.Equal(want.EndsAt) {
				t.Fatalf("resolved alert %d: endsAt %s, webhook has %s", i, ends, want.EndsAt)
			}
		default:
			if !ends.IsZero() {
				t.Fatalf("firing alert %d has endsAt %s; a firing alert posted to Alertmanager has none", i, ends)
			}
		}
	}
}

// TestStormIsEveryAlertNewOneNotificationPerGroup renders a storm in both formats: one
// notification per group, the alerts spread evenly, every fingerprint distinct, the same
// alerts in both, and the postable bodies valid for Alertmanager.
func TestStormIsEveryAlertNewOneNotificationPerGroup(t *testing.T) {
	s, err := NewStorm("t", 1003, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Notifications() != 10 || s.Total() != 1003 {
		t.Fatalf("%d notifications of %d alerts, want 10 of 1003", s.Notifications(), s.Total())
	}
	hooks, posts := s.Bodies(Webhook), s.Bodies(PostableAlerts)
	seen := map[string]bool{}
	keys := map[string]bool{}
	total := 0
	for k := range hooks {
		p, err := alerts.Decode(hooks[k])
		if err != nil {
			t.Fatalf("notification %d: %v", k, err)
		}
		if n := len(p.Alerts); n != 100 && n != 101 {
			t.Fatalf("notification %d has %d alerts, want 100 or 101", k, n)
		}
		if keys[p.GroupKey] {
			t.Fatalf("group key %s in two notifications", p.GroupKey)
		}
		keys[p.GroupKey] = true
		for _, a := range p.Alerts {
			if a.Status != "firing" || seen[a.Fingerprint] {
				t.Fatalf("notification %d: alert %s is %s or seen before", k, a.Fingerprint, a.Status)
			}
			seen[a.Fingerprint] = true
		}
		total += len(p.Alerts)
		compare(t, hooks[k], posts[k])
	}
	if total != 1003 {
		t.Fatalf("%d alerts rendered, want 1003", total)
	}
	if _, err := NewStorm("t", 5, 10, nil); err == nil {
		t.Fatal("a storm with fewer alerts than groups was accepted")
	}
}

// TestAllNewMixKeepsNoAlerts checks that all-new traffic is new alerts only and that the
// generator does not keep them (it would grow by every alert sent).
func TestAllNewMixKeepsNoAlerts(t *testing.T) {
	g, err := NewGenerator(Config{Run: "t", Groups: []int{0}, PerRequest: 10, Mix: AllNew, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 100 {
		body, b := g.Next()
		if r, n, s := b.Kinds(); n != 10 || r != 0 || s != 0 {
			t.Fatalf("kinds %d repeats, %d new, %d resolves; want 10 new", r, n, s)
		}
		p, err := alerts.Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range p.Alerts {
			if seen[a.Fingerprint] {
				t.Fatalf("all-new traffic repeated %s", a.Fingerprint)
			}
			seen[a.Fingerprint] = true
		}
	}
	if len(g.groups[0].firing) != 0 || g.Firing() != 1000 {
		t.Fatalf("kept %d alerts, counts %d firing; want 0 kept, 1000 counted", len(g.groups[0].firing), g.Firing())
	}
}
