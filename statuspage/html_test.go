package statuspage

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// injected would change the document's title if it ran.
const injected = `<script>document.title="pwned"</script><img src=x onerror="document.title='pwned'">`

// hostile puts markup in every text a person types that reaches the page.
func hostile(t *testing.T) Snapshot {
	s := fixture(t)
	s.Page.Name = "Acme " + injected
	s.Groups[0].Name = "Shop " + injected
	s.Groups[0].Description = "Group " + injected
	for i := range s.Components {
		s.Components[i].Name += " " + injected
		s.Components[i].Description += " " + injected
	}
	for i := range s.Incidents {
		s.Incidents[i].Name += " " + injected
		for j := range s.Incidents[i].Updates {
			s.Incidents[i].Updates[j].Body += "\n" + injected
		}
	}
	for i := range s.Maintenances {
		s.Maintenances[i].Name += " " + injected
		s.Maintenances[i].Updates[0].Body += " " + injected
	}
	return s
}

func TestMarkupInSnapshotTextIsEscapedEverywhere(t *testing.T) {
	site, err := Render(hostile(t), Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	unsafe := regexp.MustCompile(`(?i)<script|<img`)
	for _, p := range site.Paths() {
		res, err := site.Get(p)
		if err != nil {
			t.Fatal(err)
		}
		if loc := unsafe.FindIndex(res.Body); loc != nil {
			t.Errorf("%s carries live markup: …%s…", p, res.Body[max(0, loc[0]-60):min(len(res.Body), loc[1]+60)])
		}
	}
	index, _ := site.Get("/")
	for _, want := range []string{
		`<title>Acme &lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;`,
		`Checkout &lt;script&gt;`,
	} {
		if !strings.Contains(string(index.Body), want) {
			t.Errorf("front page lacks the escaped text %s", want)
		}
	}
}

func TestFrontPageShowsStatusComponentsIncidentsAndMaintenance(t *testing.T) {
	site, err := Render(fixture(t), Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := site.Get("/")
	page := string(res.Body)
	for _, want := range []string{
		`<h1 class="banner ind-major">`, `Partial System Outage</h1>`,
		// Components by group, each status in words beside its colour.
		`<h3 class="name">Shop</h3><span class="st st-partial_outage"><span class="dot" aria-hidden="true"></span>Partial outage</span>`,
		`<span class="name">Checkout</span><span class="st st-partial_outage"><span class="dot" aria-hidden="true"></span>Partial outage</span>`,
		`<span class="name">API</span><span class="st st-operational"><span class="dot" aria-hidden="true"></span>Operational</span>`,
		`<p class="desc">Basket and saved items</p>`,
		// The active incident with its public updates, newest first.
		`<a href="/incidents/inc2">Checkout errors for some customers</a>`,
		`<span class="badge imp-major">Major impact</span> <span class="badge state">Identified</span>`,
		"We are investigating errors at checkout.\r\nSome payments fail.",
		`<time datetime="2024-05-10T12:55:00-05:00">10 May 2024, 12:55 CDT</time>`,
		// Upcoming maintenance with its window.
		`<a href="/incidents/mnt2">Database upgrade</a>`, `Scheduled 12 May 2024, 01:00 – 03:00 CDT`,
		// Uptime bars, with their figure in words.
		`99.94 % uptime`, `2 days not fully operational`, `28 Apr 2024: 95.83 % up, worst: Major outage (60 min counted as down)`,
		// Recently resolved, and when the page was last updated.
		`<a href="/incidents/inc1">Slow API responses</a>`,
		`Last updated <time datetime="2024-05-10T13:00:00-05:00">10 May 2024, 13:00 CDT</time>`,
		`<link rel="stylesheet" href="` + stylePath + `">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("front page lacks %q", want)
		}
	}
	// Cart is not showcased: no bars for it. The fixture's two showcased components have 90
	// bars each.
	if n := strings.Count(page, `<li class="d `); n != 2*UptimeDays {
		t.Errorf("%d day bars, want %d", n, 2*UptimeDays)
	}
	if strings.Index(page, "Checkout errors") > strings.Index(page, `id="components"`) {
		t.Error("active incidents should come before the components")
	}
}

func TestComponentShownOnlyIfDegradedHidesWhileOperational(t *testing.T) {
	s := fixture(t)
	s.Components[0].OnlyShowIfDegraded = true // Cart, operational
	s.Components[1].OnlyShowIfDegraded = true // Checkout, partial outage
	site, err := Render(s, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := site.Get("/")
	if strings.Contains(string(res.Body), `<span class="name">Cart</span>`) {
		t.Error("Cart is operational and only shown if degraded, but is on the page")
	}
	if !strings.Contains(string(res.Body), `<span class="name">Checkout</span>`) {
		t.Error("Checkout is degraded and should be on the page")
	}
}

func TestIncidentPageShowsEveryUpdate(t *testing.T) {
	site, err := Render(fixture(t), Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := site.Get("/incidents/inc1")
	if err != nil {
		t.Fatal(err)
	}
	page := string(res.Body)
	order := []string{"<h1>Slow API responses</h1>", "Minor impact", "2 May 2024, 09:00 – 10:30 CDT", "Affected components",
		"This incident has been resolved.", "A fix has been implemented", "We are currently investigating this issue."}
	last := -1
	for _, want := range order {
		i := strings.Index(page, want)
		if i < 0 {
			t.Fatalf("incident page lacks %q", want)
		}
		if i < last {
			t.Errorf("%q is out of order", want)
		}
		last = i
	}
	if _, err := site.Get("/incidents/mnt1/"); err != nil {
		t.Errorf("maintenance page with a trailing slash: %v", err)
	}
	for _, missing := range []string{"/incidents/nope", "/incidents/", "/incidents/inc1/x", "/nothing", "/history/1", "/history/02", "/history/2"} {
		if _, err := site.Get(missing); err != errNoPage {
			t.Errorf("%s: %v, want no page", missing, err)
		}
	}
}

func TestHistoryIsPagedNewestFirst(t *testing.T) {
	s := fixture(t)
	base := time.Date(2023, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range 120 {
		at := base.AddDate(0, 0, i)
		s.Incidents = append(s.Incidents, Incident{
			ID: fmt.Sprintf("h%03d", i), Name: fmt.Sprintf("History %03d", i), Status: Postmortem, Impact: ImpactNone,
			CreatedAt: at, UpdatedAt: at, ResolvedAt: &at,
			Updates: []Update{{ID: fmt.Sprintf("hu%03d", i), Status: "postmortem", Body: "done", DisplayAt: at}},
		})
	}
	site, err := Render(s, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	// 124 entries: the fixture's 4, then 120 from 2023 — three pages of at most 50.
	pages := []struct {
		path, first, last, newer, older string
	}{
		{"/history", "Database upgrade", "History 074", "", "/history/2"},
		{"/history/2", "History 073", "History 024", "/history", "/history/3"},
		{"/history/3", "History 023", "History 000", "/history/2", ""},
	}
	for _, p := range pages {
		res, err := site.Get(p.path)
		if err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		page := string(res.Body)
		items := regexp.MustCompile(`<li class="imp-\w+"><a href="[^"]+">([^<]+)</a>`).FindAllStringSubmatch(page, -1)
		if len(items) == 0 || items[0][1] != p.first || items[len(items)-1][1] != p.last {
			t.Errorf("%s: %d items, want %s … %s", p.path, len(items), p.first, p.last)
		}
		if has := strings.Contains(page, `rel="prev"`); has != (p.newer != "") || (has && !strings.Contains(page, `href="`+p.newer+`" rel="prev"`)) {
			t.Errorf("%s: newer link wrong", p.path)
		}
		if has := strings.Contains(page, `rel="next"`); has != (p.older != "") || (has && !strings.Contains(page, `href="`+p.older+`" rel="next"`)) {
			t.Errorf("%s: older link wrong", p.path)
		}
	}
	res, _ := site.Get("/history")
	if !strings.Contains(string(res.Body), `<h2 id="m-2024-05">May 2024</h2>`) {
		t.Error("history is not grouped by month")
	}
	if _, err := site.Get("/history/4"); err != errNoPage {
		t.Errorf("/history/4: %v, want no page", err)
	}
}

// Links follow the public URL's path, for a page served under a prefix.
func TestLinksFollowThePublicURLPath(t *testing.T) {
	s := fixture(t)
	s.Page.URL = "https://example.com/status/"
	site, err := Render(s, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := site.Get("/")
	for _, want := range []string{`href="/status/incidents/inc2"`, `href="/status/history"`, `href="/status` + stylePath + `"`} {
		if !strings.Contains(string(res.Body), want) {
			t.Errorf("front page lacks %s", want)
		}
	}
	var inc struct{ Incidents []struct{ Shortlink string } }
	getJSON(t, site, "/api/v2/incidents/unresolved.json", &inc)
	if inc.Incidents[0].Shortlink != "https://example.com/status/incidents/inc2" {
		t.Errorf("shortlink %q", inc.Incidents[0].Shortlink)
	}
}
