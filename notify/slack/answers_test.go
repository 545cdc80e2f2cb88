package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"firebreak/incidents"
	slack "firebreak/notify/slack"
	"firebreak/notify/slack/slackfake"
	"firebreak/store"
	"firebreak/store/storetest"
)

// Bad input gets an ephemeral answer that says what was wrong and how to write it.
func TestBadCommandsSayWhatWasWrong(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		inc := r.declare("Known", incidents.Sev3, "")
		id := inc.ID
		r.command(alice, "C0GENERAL", fmt.Sprintf("ack %d", id))
		for _, c := range []struct{ text, want string }{
			{"frobnicate 3", `/incident has no subcommand "frobnicate". ` + "`/incident help` lists them."},
			{"ack", "Which incident? Write it as `/incident ack <id> [note]`"},
			{"resolve abc", `"abc" is not an incident id. Write it as ` + "`/incident resolve <id> [note]`"},
			{"show 1x", `"1x" is not an incident id. Write it as ` + "`/incident show <id>`"},
			{"ack 999", "There is no incident #999. `/incident list` shows the open ones."},
			{fmt.Sprintf("ack %d", id), fmt.Sprintf("Incident #%d is responding: it was already acknowledged by Alice at <!date^", id)},
			{"declare sev2 " + strings.Repeat("x", incidents.MaxTitle+1), "title is 301 characters long, at most 300 allowed. Write it as `/incident declare [sev1-4] <title>`"},
			{fmt.Sprintf("note %d", id), "`note` needs the text to add. Write it as `/incident note <id> <text>`"},
			{"rollback " + fmt.Sprint(id), fmt.Sprintf("Cannot roll back: incident #%d has no suspected deploy.", id)},
			{"mttr 30x", `"30x" is not a period`},
		} {
			reply := r.command(alice, "C0GENERAL", c.text)
			if reply.ResponseType != slackapi.ResponseTypeEphemeral || !strings.Contains(reply.Text, c.want) {
				t.Errorf("/incident %s:\n got %+v\nwant ephemeral %q", text(c.text), reply, c.want)
			}
		}
		if reply := r.command(alice, "C0GENERAL", "help"); !strings.Contains(reply.Text, "/incident mttr [service] [30d]") ||
			reply.ResponseType != slackapi.ResponseTypeEphemeral {
			t.Errorf("help: %+v", reply)
		}
	})
}

func text(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// list, show, postmortem, update and mttr answer with what they are asked for.
func TestListShowPostmortemAndMTTR(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		a := r.declare("Checkout <down> & out", incidents.Sev1, "checkout")
		b := r.declare("Search slow", incidents.Sev3, "search")
		r.command(alice, "C0GENERAL", fmt.Sprintf("resolve %d", b.ID))
		list := r.command(alice, "C0GENERAL", "list").Text
		if !strings.Contains(list, fmt.Sprintf("*#%d* [sev1] observing: Checkout &lt;down&gt; &amp; out (checkout/production)", a.ID)) ||
			strings.Contains(list, "Search slow") {
			t.Errorf("list:\n%s", list)
		}
		show := r.command(alice, "C0GENERAL", fmt.Sprintf("show %d", b.ID))
		raw, _ := json.Marshal(show.Blocks)
		if !strings.Contains(string(raw), "Resolved by Alice") || !strings.Contains(show.Text, "Search slow") {
			t.Errorf("show: %s", raw)
		}
		if pm := r.command(alice, "C0GENERAL", fmt.Sprintf("postmortem %d", a.ID)).Text; !strings.Contains(pm,
			fmt.Sprintf("https://firebreak.example/incidents/%d/postmortem", a.ID)) {
			t.Errorf("postmortem: %s", pm)
		}
		up := r.command(alice, "C0GENERAL", fmt.Sprintf("update %d We are rolling back.", a.ID))
		if up.ResponseType != slackapi.ResponseTypeInChannel || !strings.Contains(up.Text, "Status page update") {
			t.Errorf("update: %+v", up)
		}
		timeline, _ := r.incidents.Timeline(context.Background(), a.ID)
		if last := timeline[len(timeline)-1]; !last.Public || last.Kind != incidents.KindStatusUpdate || last.Actor != "Alice" {
			t.Errorf("update left %+v on the timeline, want a public status update by Alice", last)
		}
		mttr := r.command(alice, "C0GENERAL", "mttr search 7d").Text
		for _, want := range []string{"*MTTR*, search, incidents opened in the last 1w: 1", "time to detect", "time to acknowledge",
			"time to mitigate", "time to recover"} {
			if !strings.Contains(mttr, want) {
				t.Errorf("mttr does not say %q:\n%s", want, mttr)
			}
		}
		if none := r.command(alice, "C0GENERAL", "mttr payments").Text; !strings.Contains(none, "payments, incidents opened in the last 30d: none") {
			t.Errorf("mttr of a service without incidents: %s", none)
		}
	})
}

// /incident declare without a title opens the form with the command's trigger; a form
// missing its title and severity is sent back with errors under those fields; a complete
// one declares the incident, named after the Slack user, and posts its message.
func TestDeclareFormRoundTrip(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		if reply := r.command(alice, "C0GENERAL", "declare sev2"); !reply.Empty() {
			t.Errorf("declare without a title answered %+v, want nothing (the form opens)", reply)
		}
		opens := r.fake.Calls("views.open")
		if len(opens) != 1 || opens[0].Args.Get("trigger_id") != "trigger-declare sev2" {
			t.Fatalf("views.open calls: %v", opens)
		}
		var view struct {
			CallbackID      string `json:"callback_id"`
			PrivateMetadata string `json:"private_metadata"`
			Blocks          []struct {
				BlockID string `json:"block_id"`
				Element struct {
					InitialOption *struct {
						Value string `json:"value"`
					} `json:"initial_option"`
				} `json:"element"`
			} `json:"blocks"`
		}
		if err := json.Unmarshal([]byte(opens[0].Args.Get("view")), &view); err != nil {
			t.Fatal(err)
		}
		if view.CallbackID != slack.DeclareCallbackID || view.PrivateMetadata != "C0GENERAL" || len(view.Blocks) != 5 ||
			view.Blocks[1].Element.InitialOption == nil || view.Blocks[1].Element.InitialOption.Value != "sev2" {
			t.Errorf("the form: %+v", view)
		}

		submit := func(values map[string]string) any {
			t.Helper()
			answer, err := r.svc.Interaction(context.Background(), []byte(slackfake.ViewSubmissionPayload(slack.DeclareCallbackID,
				"C0GENERAL", alice, "alice", values)))
			if err != nil {
				t.Fatal(err)
			}
			return answer
		}
		answer := submit(map[string]string{slack.BlockTitle: "  ", slack.BlockService: "checkout"})
		resp, ok := answer.(*slackapi.ViewSubmissionResponse)
		if !ok || resp.ResponseAction != slackapi.RAErrors || resp.Errors[slack.BlockTitle] == "" || resp.Errors[slack.BlockSeverity] == "" ||
			len(resp.Errors) != 2 {
			t.Fatalf("a form without title and severity: %#v", answer)
		}
		if list, _, _ := r.incidents.List(context.Background(), incidents.Filter{}); len(list) != 0 {
			t.Fatalf("an incomplete form declared %v", list)
		}
		if answer := submit(map[string]string{slack.BlockTitle: "Checkout is down", slack.BlockSeverity: "option:sev1",
			slack.BlockService: "checkout", slack.BlockEnvironment: "production", slack.BlockSummary: "EU customers cannot pay"}); answer != nil {
			t.Fatalf("a complete form: %#v, want an empty answer that closes it", answer)
		}
		list, _, _ := r.incidents.List(context.Background(), incidents.Filter{})
		if len(list) != 1 {
			t.Fatalf("declared %d incidents", len(list))
		}
		inc := list[0]
		if inc.Severity != incidents.Sev1 || inc.Service != "checkout" || inc.Environment != "production" ||
			inc.Summary != "EU customers cannot pay" || inc.DeclaredBy == nil || *inc.DeclaredBy != "Alice" {
			t.Errorf("declared %+v", inc)
		}
		m := r.message("#checkout", inc.ID)
		if !strings.Contains(m.BlocksText(), "EU customers cannot pay") {
			t.Errorf("the message lacks the summary:\n%s", m.BlocksText())
		}
		r.waitFor("the confirmation", func() bool { return len(r.fake.OKCalls("chat.postEphemeral")) == 1 })
		if c := r.fake.OKCalls("chat.postEphemeral")[0]; c.Args.Get("channel") != "C0GENERAL" || c.Args.Get("user") != alice {
			t.Errorf("confirmation: %v", c)
		}
	})
}

// A command slower than the budget answers "working on it" at once; the answer follows
// through its response_url.
func TestSlowCommandsAnswerThroughTheResponseURL(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, func(c *slack.Config) { c.CommandBudget = 20 * time.Millisecond })
		r.fake.Delay("users.info", 300*time.Millisecond)
		reply := r.command(alice, "C0GENERAL", "declare sev3 Slow Slack")
		if !strings.Contains(reply.Text, "Working on it") {
			t.Fatalf("immediate answer: %+v", reply)
		}
		url := r.fake.ResponseURL(r.n)
		r.waitFor("the answer through response_url", func() bool { return len(r.responses(url)) == 1 })
		if got := r.responses(url)[0]; !strings.Contains(got, "declared by Alice") {
			t.Errorf("late answer %q", got)
		}
		calls := r.fake.Calls("response_url")
		if rt := calls[len(calls)-1].Args.Get("response_type"); rt != "in_channel" {
			t.Errorf("late answer's response_type %q", rt)
		}
	})
}

// Slack's forms that are not what Slack sends are refused as bad requests.
func TestMalformedRequestsAreBadRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		if _, err := r.svc.Command(context.Background(), nil); !errors.Is(err, slack.ErrBadRequest) {
			t.Errorf("a form without user_id: %v", err)
		}
		for _, p := range []string{"not json", `{"type":"block_actions"}`} {
			if _, err := r.svc.Interaction(context.Background(), []byte(p)); !errors.Is(err, slack.ErrBadRequest) {
				t.Errorf("payload %q: %v", p, err)
			}
		}
	})
}
