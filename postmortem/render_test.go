package postmortem_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"firebreak/incidents"
	"firebreak/postmortem"
	"firebreak/store"
	"firebreak/store/storetest"
)

// TestHumanPartsRoundTripThroughEveryFormat: what people write comes back unchanged in
// JSON, as written in Markdown, and rendered (emphasis, lists, tables, task lists, links)
// in HTML.
func TestHumanPartsRoundTripThroughEveryFormat(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		inc := s.declare("bob", "Search is slow", "search", at(11, 50, 0))
		parts := postmortem.Parts{
			RootCause:           "The *query planner* chose a `seq scan` after the **index** was dropped.",
			ContributingFactors: "1. No alert on slow queries\n2. The migration ran at peak",
			WentWell:            "| step | took |\n| --- | --- |\n| page | 1 min |",
			WentBadly:           "See [the runbook](https://runbooks.example.com/search) — it was ~~stale~~ out of date.",
			GotLucky:            "Nobody was searching for Ünïcödé 🦊 at the time.",
			ActionItems: []postmortem.ActionItem{
				{Text: "Alert on `p99 > 1s`", Owner: "alice", Due: ptr("2026-03-20")},
				{Text: "Review migrations", Done: true},
			},
		}
		body, err := json.Marshal(parts)
		if err != nil {
			t.Fatal(err)
		}
		s.edit(inc.ID, "alice", string(body))
		r, err := s.pm.Get(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}

		var back postmortem.Report
		if err := json.Unmarshal([]byte(render(t, r, postmortem.FormatJSON)), &back); err != nil {
			t.Fatal(err)
		}
		gotParts, _ := json.Marshal(back.Parts)
		if string(gotParts) != string(body) {
			t.Errorf("JSON round trip:\n got %s\nwant %s", gotParts, body)
		}

		md := render(t, r, postmortem.FormatMarkdown)
		for _, want := range []string{parts.RootCause, parts.ContributingFactors, parts.WentWell, parts.WentBadly, parts.GotLucky,
			"- [ ] Alert on `p99 > 1s` (owner alice, due 2026-03-20)", "- [x] Review migrations"} {
			if !strings.Contains(md, want) {
				t.Errorf("Markdown lacks %q", want)
			}
		}

		html := render(t, r, postmortem.FormatHTML)
		for _, want := range []string{
			"<em>query planner</em>", "<code>seq scan</code>", "<strong>index</strong>",
			"<li>No alert on slow queries</li>", "<td>page</td>",
			`<a href="https://runbooks.example.com/search">the runbook</a>`, "<del>stale</del>",
			"Ünïcödé 🦊", `<input disabled="" type="checkbox"> Alert on <code>p99 &gt; 1s</code> (owner alice, due 2026-03-20)`,
			`<input checked="" disabled="" type="checkbox"> Review migrations`,
			"<h2>Root cause</h2>", "<title>Postmortem: Search is slow (incident 1)</title>",
		} {
			if !strings.Contains(html, want) {
				t.Errorf("HTML lacks %q", want)
			}
		}
		if !strings.HasPrefix(html, "<!DOCTYPE html>") || !strings.HasSuffix(html, "</html>\n") {
			t.Errorf("HTML is not a whole document:\n%s", html)
		}
	})
}

// TestHTMLCarriesNoScriptFromWhatPeopleOrAlertsWrote: raw HTML and javascript: links in
// notes, human parts, action items, titles and alert text never reach the page as markup;
// what people wrote as plain text (titles, names) shows escaped, what they wrote as
// Markdown loses its raw HTML. An unclosed code fence or HTML block in one part does not
// swallow the sections after it.
func TestHTMLCarriesNoScriptFromWhatPeopleOrAlertsWrote(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		ctx := context.Background()
		inc := s.declare("bob", `<script>alert("title")</script> & <b>bold</b>`, "search", at(11, 50, 0))
		s.note(at(12, 1, 0), inc.ID, "bob", "<script>alert('note')</script>\n<img src=x onerror=alert(1)>", false)
		s.note(at(12, 2, 0), inc.ID, "bob", "<pre>\nan HTML block left open", true)
		s.note(at(12, 3, 0), inc.ID, "<script>alice</script>", "[click](javascript:alert(document.cookie))", false)
		a := firing(`<script>alert("alert")</script>`, "x", "warning", at(12, 3, 0))
		a.Labels["service"], a.Labels["env"] = "search", "prod"
		s.set(at(12, 4, 0))
		s.ingest("{}:{service=\"search\"}", a)
		s.edit(inc.ID, "alice", `{
			"root_cause": "<script>alert('root')</script>\n\n`+"```"+`\nan unclosed fence",
			"contributing_factors": "<style>body{display:none}</style>\n<textarea>",
			"went_well": "<iframe src=\"https://evil.example\"></iframe> [x](JAVASCRIPT:alert(1)) <a href=\"javascript:alert(2)\">y</a>",
			"action_items": [{"text": "<script>alert('item')</script> [z](javascript:alert(3))", "owner": "<b>eve</b>"}]
		}`)
		r, err := s.pm.Get(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		html := render(t, r, postmortem.FormatHTML)
		lower := strings.ToLower(html)
		for _, bad := range []string{"<script", "javascript:", "onerror=", "<iframe", "<img", "<textarea", "<b>", `<a href="javascript`} {
			if strings.Contains(lower, bad) {
				t.Errorf("HTML carries %q:\n%s", bad, html)
			}
		}
		if n := strings.Count(lower, "<style"); n != 1 {
			t.Errorf("HTML has %d <style> elements, want only the page's own", n)
		}
		for _, want := range []string{
			`&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;`, // the title, shown as written
			`&lt;script&gt;alice&lt;/script&gt;`,                                                  // an actor's name
			"&lt;b&gt;eve&lt;/b&gt;",                                                              // an owner
			// every section after the unclosed parts is still there
			"<h2>Contributing factors</h2>", "<h2>What went well</h2>", "<h2>Action items</h2>", "<h2>Timeline (UTC)</h2>",
			"an unclosed fence",
		} {
			if !strings.Contains(html, want) {
				t.Errorf("HTML lacks %q:\n%s", want, html)
			}
		}
		// The timeline keeps every line after the note with an HTML block left open.
		items := regexp.MustCompile(`<li>12:0[1-4]:00 · `).FindAllString(html, -1)
		if len(items) != 4 {
			t.Errorf("the timeline shows %d lines from 12:01 to 12:04, want 4:\n%s", len(items), html)
		}

		md := render(t, r, postmortem.FormatMarkdown)
		for _, want := range []string{
			"# Postmortem: \\<script\\>alert(\"title\")\\</script\\> \\& \\<b\\>bold\\</b\\>",
			"```\nan unclosed fence\n```\n\n## Contributing factors", // the fence is closed before the next section
		} {
			if !strings.Contains(md, want) {
				t.Errorf("Markdown lacks %q:\n%s", want, md)
			}
		}
	})
}

// TestPlainTextStaysPlainInMarkdown: names and lines Firebreak wrote keep their characters
// in Markdown and HTML, never turning into emphasis, links or table cells.
func TestPlainTextStaysPlainInMarkdown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		inc := s.declare("bob", "*not emphasis* _nor this_ [nor](a link) | nor a cell", "my_service", at(11, 50, 0))
		s.do(at(12, 1, 0), inc.ID, incidents.Acknowledge, "ops_team*", "")
		r, err := s.pm.Get(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		html := render(t, r, postmortem.FormatHTML)
		for _, want := range []string{
			"<h1>Postmortem: *not emphasis* _nor this_ [nor](a link) | nor a cell</h1>",
			"<li><strong>Service:</strong> my_service, environment prod</li>",
			"by ops_team*, 1 min after the incident opened",
			"<th>my_service, 90 days before</th>",
		} {
			if !strings.Contains(html, want) {
				t.Errorf("HTML lacks %q:\n%s", want, html)
			}
		}
	})
}
