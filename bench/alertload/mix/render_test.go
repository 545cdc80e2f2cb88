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

// TestStormEndResolvesEveryAlertOfTheStorm renders a storm's end in both formats: the
// storm's notifications in the same order, each with the same group key and the same alerts
// (fingerprints, startsAt), every one resolved, ending a second before the clock's now and
// not before it started; the webhook's status is resolved, and the postable bodies carry the
// same endsAt and are valid for Alertmanager.
func TestStormEndResolvesEveryAlertOfTheStorm(t *testing.T) {
	clock := steppingClock()
	var now time.Time
	s, err := NewStorm("t", 1003, 10, func() time.Time { now = clock(); return now })
	if err != nil {
		t.Fatal(err)
	}
	end := s.Resolved()
	if end.Notifications() != s.Notifications() || end.Total() != s.Total() {
		t.Fatalf("the end has %d notifications of %d alerts, the storm %d of %d", end.Notifications(), end.Total(), s.Notifications(), s.Total())
	}
	wantEnds := now.Add(-time.Second).UTC().Truncate(time.Millisecond)
	storms, hooks, posts := s.Bodies(Webhook), end.Bodies(Webhook), end.Bodies(PostableAlerts)
	total := 0
	for k := range hooks {
		if r, n, res := end.Batch(k).Kinds(); r != 0 || n != 0 || res != s.Batch(k).Len() {
			t.Fatalf("notification %d: kinds %d repeats, %d new, %d resolves; want %d resolves", k, r, n, res, s.Batch(k).Len())
		}
		fired, err := alerts.Decode(storms[k])
		if err != nil {
			t.Fatalf("storm notification %d: %v", k, err)
		}
		p, err := alerts.Decode(hooks[k])
		if err != nil {
			t.Fatalf("end notification %d: %v", k, err)
		}
		if p.Status != "resolved" || p.GroupKey != fired.GroupKey || len(p.Alerts) != len(fired.Alerts) {
			t.Fatalf("end notification %d: status %s, group key %s, %d alerts; the storm's has %s, %d alerts",
				k, p.Status, p.GroupKey, len(p.Alerts), fired.GroupKey, len(fired.Alerts))
		}
		for i, a := range p.Alerts {
			f := fired.Alerts[i]
			if a.Status != "resolved" || a.Fingerprint != f.Fingerprint || !a.StartsAt.Equal(f.StartsAt) {
				t.Fatalf("end notification %d alert %d: %s %s from %s; the storm sent %s from %s", k, i, a.Status, a.Fingerprint, a.StartsAt, f.Fingerprint, f.StartsAt)
			}
			if a.EndsAt.Before(a.StartsAt) || a.EndsAt.After(now) || !a.EndsAt.Equal(wantEnds) {
				t.Fatalf("end notification %d alert %d: endsAt %s, started %s; want %s, a second before now (%s)", k, i, a.EndsAt, a.StartsAt, wantEnds, now)
			}
		}
		total += len(p.Alerts)
		compare(t, hooks[k], posts[k]) // the same alerts, endsAt included
	}
	if total != 1003 {
		t.Fatalf("%d alerts resolved, want 1003", total)
	}
}

// TestStormEndNeverEndsBeforeTheStart resolves a storm whose clock went back more than the
// minute its alerts started before: each alert ends when it started, never before it.
func TestStormEndNeverEndsBeforeTheStart(t *testing.T) {
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := t0
	s, err := NewStorm("t", 20, 2, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(-2 * time.Minute)
	for k, body := range s.Resolved().Bodies(Webhook) {
		p, err := alerts.Decode(body)
		if err != nil {
			t.Fatalf("notification %d: %v", k, err)
		}
		for _, a := range p.Alerts {
			if a.Status != "resolved" || !a.EndsAt.Equal(a.StartsAt) || !a.StartsAt.Equal(t0.Add(-time.Minute)) {
				t.Fatalf("notification %d: %s alert from %s ends %s; want resolved at its start, %s", k, a.Status, a.StartsAt, a.EndsAt, t0.Add(-time.Minute))
			}
		}
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
