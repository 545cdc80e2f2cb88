package incidents

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The moments of one incident, as a person would write them on a whiteboard: impact began
// at 09:55, the incident opened at 10:00, someone acknowledged at 10:03, started a fix at
// 10:10, impact ended at 10:20 and it was resolved at 10:30. The action under test happens
// at 11:00.
var (
	impactAt   = time.Date(2026, 11, 18, 9, 55, 0, 0, time.UTC)
	openedAt   = time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)
	ackedAt    = time.Date(2026, 11, 18, 10, 3, 0, 0, time.UTC)
	remedAt    = time.Date(2026, 11, 18, 10, 10, 0, 0, time.UTC)
	mitigAt    = time.Date(2026, 11, 18, 10, 20, 0, 0, time.UTC)
	resolvedAt = time.Date(2026, 11, 18, 10, 30, 0, 0, time.UTC)
	actionAt   = time.Date(2026, 11, 18, 11, 0, 0, 0, time.UTC)
)

func at(t time.Time) *time.Time { return &t }

// with returns a copy of inc changed by fn; fixtures and expectations are built with it.
func with(inc Incident, fn func(inc *Incident)) Incident {
	fn(&inc)
	return inc
}

func observingIncident() Incident {
	return Incident{ID: 7, Title: "Checkout returns 502", Status: Observing, Severity: Sev2, Service: "checkout",
		Environment: "production", ImpactStartedAt: impactAt, OpenedAt: openedAt, UpdatedAt: openedAt, Revision: 3}
}

func respondingIncident() Incident {
	return with(observingIncident(), func(i *Incident) { i.Status, i.AcknowledgedAt = Responding, at(ackedAt) })
}

func remediatingIncident() Incident {
	return with(respondingIncident(), func(i *Incident) { i.Status, i.RemediationStartedAt = Remediating, at(remedAt) })
}

func resolvedIncident() Incident {
	return with(remediatingIncident(), func(i *Incident) {
		i.Status, i.MitigatedAt, i.ResolvedAt = Resolved, at(mitigAt), at(resolvedAt)
	})
}

type transitionCase struct {
	name   string
	from   Incident
	action Action
	// want is the incident after the action; unused when refused is set.
	want     Incident
	wantKind EventKind
	wantText string
	// refused is part of the reason given when the action does not apply.
	refused string
}

// transitionCases is the rule table of PRODUCT.md "Incidents", one row per (status, action)
// pair and a few rows for the moments that depend on what happened before.
func transitionCases() []transitionCase {
	return []transitionCase{
		// observing: nobody owns it yet.
		{name: "acknowledge an observing incident", from: observingIncident(), action: Acknowledge,
			want: with(observingIncident(), func(i *Incident) {
				i.Status, i.AcknowledgedAt, i.UpdatedAt = Responding, at(actionAt), actionAt
			}),
			wantKind: KindAcknowledged, wantText: "Acknowledged by alice."},
		{name: "remediate an observing incident also acknowledges it", from: observingIncident(), action: Remediate,
			want: with(observingIncident(), func(i *Incident) {
				i.Status, i.AcknowledgedAt, i.RemediationStartedAt, i.UpdatedAt = Remediating, at(actionAt), at(actionAt), actionAt
			}),
			wantKind: KindRemediationStarted, wantText: "Remediation started by alice."},
		{name: "mitigate an observing incident keeps it observing", from: observingIncident(), action: Mitigate,
			want:     with(observingIncident(), func(i *Incident) { i.MitigatedAt, i.UpdatedAt = at(actionAt), actionAt }),
			wantKind: KindMitigated, wantText: "Marked mitigated by alice: impact is over."},
		{name: "resolve an observing incident sets mitigated_at too", from: observingIncident(), action: Resolve,
			want: with(observingIncident(), func(i *Incident) {
				i.Status, i.MitigatedAt, i.ResolvedAt, i.UpdatedAt = Resolved, at(actionAt), at(actionAt), actionAt
			}),
			wantKind: KindResolved, wantText: "Resolved by alice."},
		{name: "reopen an observing incident", from: observingIncident(), action: Reopen, refused: "only a resolved incident can be reopened"},
		{name: "reopen an observing incident by alerts", from: observingIncident(), action: ReopenByAlerts, refused: "only a resolved incident can be reopened"},

		// responding: a person owns it.
		{name: "acknowledge a responding incident", from: respondingIncident(), action: Acknowledge, refused: "only an observing incident can be acknowledged"},
		{name: "remediate a responding incident keeps the earlier acknowledgement", from: respondingIncident(), action: Remediate,
			want: with(respondingIncident(), func(i *Incident) {
				i.Status, i.RemediationStartedAt, i.UpdatedAt = Remediating, at(actionAt), actionAt
			}),
			wantKind: KindRemediationStarted, wantText: "Remediation started by alice."},
		{name: "mitigate a responding incident keeps it responding", from: respondingIncident(), action: Mitigate,
			want:     with(respondingIncident(), func(i *Incident) { i.MitigatedAt, i.UpdatedAt = at(actionAt), actionAt }),
			wantKind: KindMitigated, wantText: "Marked mitigated by alice: impact is over."},
		{name: "resolve a responding incident", from: respondingIncident(), action: Resolve,
			want: with(respondingIncident(), func(i *Incident) {
				i.Status, i.MitigatedAt, i.ResolvedAt, i.UpdatedAt = Resolved, at(actionAt), at(actionAt), actionAt
			}),
			wantKind: KindResolved, wantText: "Resolved by alice."},
		{name: "reopen a responding incident", from: respondingIncident(), action: Reopen, refused: "only a resolved incident can be reopened"},
		{name: "reopen a responding incident by alerts", from: respondingIncident(), action: ReopenByAlerts, refused: "only a resolved incident can be reopened"},

		// remediating: a fix is under way.
		{name: "acknowledge a remediating incident", from: remediatingIncident(), action: Acknowledge, refused: "only an observing incident can be acknowledged"},
		{name: "remediate a remediating incident", from: remediatingIncident(), action: Remediate, refused: "remediation starts from observing or responding"},
		{name: "mitigate a remediating incident keeps it remediating", from: remediatingIncident(), action: Mitigate,
			want:     with(remediatingIncident(), func(i *Incident) { i.MitigatedAt, i.UpdatedAt = at(actionAt), actionAt }),
			wantKind: KindMitigated, wantText: "Marked mitigated by alice: impact is over."},
		{name: "resolve a remediating incident", from: remediatingIncident(), action: Resolve,
			want: with(remediatingIncident(), func(i *Incident) {
				i.Status, i.MitigatedAt, i.ResolvedAt, i.UpdatedAt = Resolved, at(actionAt), at(actionAt), actionAt
			}),
			wantKind: KindResolved, wantText: "Resolved by alice."},
		{name: "reopen a remediating incident", from: remediatingIncident(), action: Reopen, refused: "only a resolved incident can be reopened"},
		{name: "reopen a remediating incident by alerts", from: remediatingIncident(), action: ReopenByAlerts, refused: "only a resolved incident can be reopened"},

		// resolved: over, unless it comes back.
		{name: "acknowledge a resolved incident", from: resolvedIncident(), action: Acknowledge, refused: "only an observing incident can be acknowledged"},
		{name: "remediate a resolved incident", from: resolvedIncident(), action: Remediate, refused: "remediation starts from observing or responding"},
		{name: "mitigate a resolved incident", from: resolvedIncident(), action: Mitigate, refused: "a resolved incident cannot be mitigated"},
		{name: "resolve a resolved incident", from: resolvedIncident(), action: Resolve, refused: "it is already resolved"},
		{name: "a person reopens a resolved incident: back to responding", from: resolvedIncident(), action: Reopen,
			want: with(resolvedIncident(), func(i *Incident) {
				i.Status, i.MitigatedAt, i.ResolvedAt, i.ReopenedCount, i.UpdatedAt = Responding, nil, nil, 1, actionAt
			}),
			wantKind: KindReopened, wantText: "Reopened by alice."},
		{name: "alerts reopen a resolved incident: back to observing", from: resolvedIncident(), action: ReopenByAlerts,
			want: with(resolvedIncident(), func(i *Incident) {
				i.Status, i.MitigatedAt, i.ResolvedAt, i.ReopenedCount, i.UpdatedAt = Observing, nil, nil, 1, actionAt
			}),
			wantKind: KindReopened, wantText: "Reopened: alerts are firing again."},
		{name: "a second reopen counts again", from: with(resolvedIncident(), func(i *Incident) { i.ReopenedCount = 2 }), action: Reopen,
			want: with(resolvedIncident(), func(i *Incident) {
				i.Status, i.MitigatedAt, i.ResolvedAt, i.ReopenedCount, i.UpdatedAt = Responding, nil, nil, 3, actionAt
			}),
			wantKind: KindReopened, wantText: "Reopened by alice."},

		// Mitigated is a moment, set once.
		{name: "mitigate an already mitigated incident",
			from:   with(respondingIncident(), func(i *Incident) { i.MitigatedAt = at(mitigAt) }),
			action: Mitigate, refused: "already mitigated at 2026-11-18T10:20:00Z"},
		{name: "resolve keeps an earlier mitigated_at",
			from:   with(remediatingIncident(), func(i *Incident) { i.MitigatedAt = at(mitigAt) }),
			action: Resolve,
			want: with(remediatingIncident(), func(i *Incident) {
				i.Status, i.MitigatedAt, i.ResolvedAt, i.UpdatedAt = Resolved, at(mitigAt), at(actionAt), actionAt
			}),
			wantKind: KindResolved, wantText: "Resolved by alice."},
		{name: "acknowledge after mitigation keeps mitigated_at",
			from:   with(observingIncident(), func(i *Incident) { i.MitigatedAt = at(mitigAt) }),
			action: Acknowledge,
			want: with(observingIncident(), func(i *Incident) {
				i.Status, i.AcknowledgedAt, i.MitigatedAt, i.UpdatedAt = Responding, at(actionAt), at(mitigAt), actionAt
			}),
			wantKind: KindAcknowledged, wantText: "Acknowledged by alice."},
	}
}

func TestApplyFollowsTheTransitionRules(t *testing.T) {
	for _, tc := range transitionCases() {
		t.Run(tc.name, func(t *testing.T) {
			inc := tc.from
			ev, err := apply(&inc, tc.action, actionAt, "alice", "")
			if tc.refused != "" {
				if !errors.Is(err, ErrInvalidTransition) {
					t.Fatalf("%s of a %s incident: err = %v, want ErrInvalidTransition", tc.action, tc.from.Status, err)
				}
				for _, part := range []string{"incident 7 is " + string(tc.from.Status), tc.refused} {
					if !strings.Contains(err.Error(), part) {
						t.Errorf("refusal %q does not say %q", err, part)
					}
				}
				if ev != (Event{}) {
					t.Errorf("refused action returned event %+v, want none", ev)
				}
				assertSameIncident(t, "incident after a refused action", inc, tc.from)
				return
			}
			if err != nil {
				t.Fatalf("%s of a %s incident: %v", tc.action, tc.from.Status, err)
			}
			assertSameIncident(t, "incident", inc, tc.want)
			want := Event{IncidentID: 7, At: actionAt, Actor: "alice", Kind: tc.wantKind, Text: tc.wantText}
			if ev != want {
				t.Errorf("event\n got %+v\nwant %+v", ev, want)
			}
		})
	}
}

// TestTransitionTableCoversEveryPair keeps the table above honest: a new status or action
// must come with its rows.
func TestTransitionTableCoversEveryPair(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range transitionCases() {
		seen[string(tc.from.Status)+"/"+string(tc.action)] = true
	}
	for _, s := range []Status{Observing, Responding, Remediating, Resolved} {
		for _, a := range []Action{Acknowledge, Remediate, Mitigate, Resolve, Reopen, ReopenByAlerts} {
			if !seen[string(s)+"/"+string(a)] {
				t.Errorf("no row for %s of a %s incident", a, s)
			}
		}
	}
}

func TestApplyAppendsTheNoteToTheEventText(t *testing.T) {
	cases := []struct {
		from        Incident
		action      Action
		actor, note string
		withoutNote string
	}{
		{observingIncident(), Acknowledge, "alice", "Paged by the checkout alert, looking at the load balancer.", "Acknowledged by alice."},
		{resolvedIncident(), ReopenByAlerts, "alertmanager", "HighErrorRate fired again.", "Reopened: alerts are firing again."},
		{remediatingIncident(), Resolve, "bob", "Rolled back to 1.4.1.", "Resolved by bob."},
	}
	for _, c := range cases {
		inc := c.from
		ev, err := apply(&inc, c.action, actionAt, c.actor, c.note)
		if err != nil {
			t.Fatalf("%s: %v", c.action, err)
		}
		// The sentence the action writes comes first (its full stop may give way to a
		// colon), then the note, once.
		if !strings.HasPrefix(ev.Text, strings.TrimSuffix(c.withoutNote, ".")) || !strings.HasSuffix(ev.Text, " "+c.note) ||
			strings.Count(ev.Text, c.note) != 1 || len(ev.Text) > len(c.withoutNote)+len(c.note)+2 {
			t.Errorf("%s with a note: text %q, want %q followed by %q", c.action, ev.Text, c.withoutNote, c.note)
		}
	}
}

func TestApplyRejectsAnUnknownAction(t *testing.T) {
	inc := observingIncident()
	_, err := apply(&inc, Action("escalate"), actionAt, "alice", "")
	if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("err = %v, want ErrInvalid and not ErrInvalidTransition", err)
	}
	assertSameIncident(t, "incident after an unknown action", inc, observingIncident())
}

func TestParseActionAcceptsOnlyWhatTheAPIExposes(t *testing.T) {
	for _, s := range []string{"acknowledge", "remediate", "mitigate", "resolve", "reopen"} {
		if a, err := ParseAction(s); err != nil || string(a) != s {
			t.Errorf("ParseAction(%q) = %q, %v", s, a, err)
		}
	}
	// Reopening as if alerts fired is for the alerts package, not for people.
	for _, s := range []string{"reopen_by_alerts", "", "Acknowledge", "escalate"} {
		if _, err := ParseAction(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseAction(%q) err = %v, want ErrInvalid", s, err)
		}
	}
}

func TestSeverityOrder(t *testing.T) {
	if _, err := ParseSeverity("sev9"); !errors.Is(err, ErrInvalid) {
		t.Errorf("ParseSeverity(sev9) err = %v, want ErrInvalid", err)
	}
	cases := []struct {
		s, min Severity
		want   bool
	}{
		{Sev1, Sev2, true}, {Sev2, Sev2, true}, {Sev3, Sev2, false}, {Sev4, Sev1, false}, {Sev1, Sev4, true},
	}
	for _, c := range cases {
		if got := c.s.AtLeast(c.min); got != c.want {
			t.Errorf("%s at least %s = %v, want %v", c.s, c.min, got, c.want)
		}
	}
}

// assertSameIncident compares incidents field by field, comparing times as instants.
func assertSameIncident(t *testing.T, what string, got, want Incident) {
	t.Helper()
	for _, d := range incidentDiff(got, want) {
		t.Errorf("%s: %s", what, d)
	}
}

func incidentDiff(got, want Incident) []string {
	var out []string
	field := func(name string, g, w any) {
		if g != w {
			out = append(out, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	instant := func(name string, g, w time.Time) {
		if !g.Equal(w) {
			out = append(out, fmt.Sprintf("%s = %s, want %s", name, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano)))
		}
	}
	moment := func(name string, g, w *time.Time) {
		switch {
		case g == nil && w == nil:
		case g == nil || w == nil:
			out = append(out, fmt.Sprintf("%s = %s, want %s", name, fmtMoment(g), fmtMoment(w)))
		default:
			instant(name, *g, *w)
		}
	}
	field("id", got.ID, want.ID)
	field("title", got.Title, want.Title)
	field("status", got.Status, want.Status)
	field("severity", got.Severity, want.Severity)
	field("service", got.Service, want.Service)
	field("environment", got.Environment, want.Environment)
	field("summary", got.Summary, want.Summary)
	field("group_key", fmtKey(got.GroupKey), fmtKey(want.GroupKey))
	instant("impact_started_at", got.ImpactStartedAt, want.ImpactStartedAt)
	instant("opened_at", got.OpenedAt, want.OpenedAt)
	moment("acknowledged_at", got.AcknowledgedAt, want.AcknowledgedAt)
	moment("remediation_started_at", got.RemediationStartedAt, want.RemediationStartedAt)
	moment("mitigated_at", got.MitigatedAt, want.MitigatedAt)
	moment("resolved_at", got.ResolvedAt, want.ResolvedAt)
	field("reopened_count", got.ReopenedCount, want.ReopenedCount)
	instant("updated_at", got.UpdatedAt, want.UpdatedAt)
	field("revision", got.Revision, want.Revision)
	return out
}

func fmtMoment(t *time.Time) string {
	if t == nil {
		return "unset"
	}
	return t.Format(time.RFC3339Nano)
}

func fmtKey(k *string) string {
	if k == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%q", *k)
}
