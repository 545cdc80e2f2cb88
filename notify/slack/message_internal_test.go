package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"firebreak/deploys"
	"firebreak/incidents"
)

func viewOf(status incidents.Status) incidentView {
	now := time.Date(2026, 11, 18, 10, 2, 0, 0, time.UTC)
	prev := "1.4.1"
	return incidentView{
		Inc: incidents.Incident{ID: 12, Title: "Checkout is down", Status: status, Severity: incidents.Sev1, Service: "checkout",
			Environment: "production", OpenedAt: now, ImpactStartedAt: now},
		Suspects:    []deploys.Match{{Deploy: deploys.Deploy{ID: 34, Service: "checkout", Environment: "production", Version: "1.4.2", PreviousVersion: &prev}, Reason: "deployed 2 min before"}},
		CanRollback: true,
		PublicURL:   "https://fb.example",
	}
}

func actionIDs(r rendered) string {
	var ids []string
	for _, b := range r.Blocks {
		if a, ok := b.(*slackapi.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				ids = append(ids, e.(*slackapi.ButtonBlockElement).ActionID)
			}
		}
	}
	return strings.Join(ids, " ")
}

// The buttons follow the phase: Acknowledge only while observing, Roll back while open with
// a hook and a suspect, Resolve while open, none once resolved.
func TestButtonsFollowThePhase(t *testing.T) {
	for status, want := range map[incidents.Status]string{
		incidents.Observing:   "firebreak_ack firebreak_rollback firebreak_resolve",
		incidents.Responding:  "firebreak_rollback firebreak_resolve",
		incidents.Remediating: "firebreak_rollback firebreak_resolve",
		incidents.Resolved:    "",
	} {
		if got := actionIDs(render(viewOf(status))); got != want {
			t.Errorf("%s: %q, want %q", status, got, want)
		}
	}
	v := viewOf(incidents.Observing)
	v.CanRollback = false
	if got := actionIDs(render(v)); got != "firebreak_ack firebreak_resolve" {
		t.Errorf("without a hook: %q", got)
	}
	v = viewOf(incidents.Observing)
	v.Suspects = nil
	if got := actionIDs(render(v)); got != "firebreak_ack firebreak_resolve" {
		t.Errorf("without a suspect: %q", got)
	}
}

// Whatever people typed, the message stays within Slack's limits (a header of 150
// characters, sections of 3000) and its markup stays Firebreak's: &, < and > are escaped.
func TestMessagesStayWithinSlacksLimits(t *testing.T) {
	v := viewOf(incidents.Observing)
	v.Inc.Title = strings.Repeat("<b>&", 100)
	v.Inc.Summary = strings.Repeat("é<>&", 6000)
	v.Inc.Service = strings.Repeat("s", 200)
	r := render(v)
	raw, _ := json.Marshal(r.Blocks)
	var blocks []map[string]any
	_ = json.Unmarshal(raw, &blocks)
	for _, b := range blocks {
		if b["type"] == "header" {
			if n := utf8.RuneCountInString(b["text"].(map[string]any)["text"].(string)); n > maxHeader {
				t.Errorf("header of %d characters", n)
			}
		}
		if tx, ok := b["text"].(map[string]any); ok && b["type"] == "section" {
			s := tx["text"].(string)
			if n := utf8.RuneCountInString(s); n > maxSectionText {
				t.Errorf("section of %d characters", n)
			}
			if strings.Contains(s, "<b>") || strings.ContainsAny(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(s, "&amp;", ""), "&lt;", ""), "&gt;", ""), "<>&") {
				t.Errorf("unescaped markup in %q…", s[:80])
			}
			if !utf8.ValidString(s) {
				t.Error("a section is not valid UTF-8")
			}
		}
	}
	long := replyText(incidents.Event{Kind: incidents.KindNote, Actor: "Alice", Text: strings.Repeat("x", incidents.MaxNote)})
	if n := utf8.RuneCountInString(long); n > maxReplyText || !strings.HasSuffix(long, "…") {
		t.Errorf("a 20,000-character note became a reply of %d characters", n)
	}
}

// Incident channel names are what Slack accepts: lowercase letters, digits and hyphens, at
// most 80 characters, starting with the prefix and the incident id.
func TestChannelNames(t *testing.T) {
	for _, c := range []struct {
		title, want string
	}{
		{"Checkout: payments FAIL for EU!", "inc-12-checkout-payments-fail-for-eu"},
		{"  ", "inc-12"},
		{"Überweisung kaputt — 500s", "inc-12-berweisung-kaputt-500s"},
		{strings.Repeat("very long title ", 20), "inc-12-very-long-title-very-long-title-very-long-title-very-long-title-very-long"},
	} {
		if got := channelName("inc-", 12, c.title); got != c.want || len(got) > maxChannelName {
			t.Errorf("%q: %q (%d), want %q", c.title, got, len(got), c.want)
		}
	}
}
