package slack_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"

	"firebreak/incidents"
	slack "firebreak/notify/slack"
	"firebreak/store"
	"firebreak/store/storetest"
)

// An incident at or above slack.incident_channels.min_severity gets its own channel:
// created with the incident's id and title in its name, the responders (and their user
// group's members) invited, the summary posted and pinned, and linked from the service
// channel's message. In it, /incident needs no id; only responders may resolve.
func TestIncidentChannelIsCreatedInvitedPinnedAndLinked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, func(c *slack.Config) {
			c.IncidentChannels = &slack.IncidentChannels{MinSeverity: incidents.Sev2, Prefix: "inc-"}
			c.Responders = []string{alice, "S0ONCALL"}
		})
		r.fake.AddGroup("S0ONCALL", bob, "U0CAROL01")
		inc := r.declare("Checkout: payments FAIL for EU!", incidents.Sev1, "checkout")
		name := fmt.Sprintf("inc-%d-checkout-payments-fail-for-eu", inc.ID)
		r.waitFor("the incident channel", func() bool { return r.fake.ChannelID(name) != "" })
		ch := r.fake.ChannelID(name)
		summary := r.message(ch, inc.ID)
		r.waitFor("the summary pinned", func() bool { return r.fake.Pinned(ch, summary.TS) })
		members := r.fake.Members(ch)
		slices.Sort(members)
		if want := []string{alice, bob, "U0CAROL01"}; !slices.Equal(members, want) {
			t.Errorf("invited %v, want %v", members, want)
		}
		m := r.message("#checkout", inc.ID)
		r.waitFor("the service message linking the channel", func() bool {
			return strings.Contains(r.current(m).BlocksText(), "incident channel <#"+ch+">")
		})

		if reply := r.command(alice, ch, "ack"); !strings.Contains(reply.Text, fmt.Sprintf("Incident #%d acknowledged by Alice", inc.ID)) {
			t.Errorf("ack without an id in the incident channel: %+v", reply)
		}
		r.command(alice, ch, "note 500 errors stopped")
		reply := r.command(dave, ch, "resolve")
		if reply.ResponseType != slackapi.ResponseTypeEphemeral || !strings.Contains(reply.Text, "Only the configured responders") {
			t.Errorf("a non-responder resolving: %+v", reply)
		}
		if reply := r.command(dave, "C0GENERAL", "ack"); !strings.Contains(reply.Text, "Which incident?") {
			t.Errorf("ack without an id elsewhere: %+v", reply)
		}
		got, _ := r.incidents.Get(context.Background(), inc.ID)
		if got.Status != incidents.Responding {
			t.Errorf("incident is %s, want responding", got.Status)
		}
		r.waitFor("the replies", func() bool { return len(r.threadTexts(m)) >= 2 })
		if got := r.threadTexts(m); !strings.Contains(got[1], "Alice*: 500 errors stopped") {
			t.Errorf("replies %q", got)
		}
		r.waitFor("the pinned summary updated", func() bool { return strings.Contains(r.current(summary).BlocksText(), "responding") })

		// A button is refused to a non-responder too; a sev3 incident gets no channel.
		_, url := r.press(dave, r.current(m), slack.ActionResolve)
		r.waitFor("the refusal", func() bool { return len(r.responses(url)) == 1 })
		if !strings.Contains(r.responses(url)[0], "Only the configured responders") {
			t.Errorf("button refusal: %q", r.responses(url))
		}
		minor := r.declare("Minor glitch", incidents.Sev3, "checkout")
		r.message("#checkout", minor.ID)
		if n := len(r.fake.OKCalls("conversations.create")); n != 1 {
			t.Errorf("%d channels created, want 1 (sev3 is below sev2)", n)
		}
	})
}
