package statuspage

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"strconv"
	"time"
)

// The HTML pages: html/template escapes every value from the snapshot, the pages need no
// JavaScript (the Content-Security-Policy allows none), and every colour comes with words.

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed assets/style.css
var styleCSS []byte

// stylePath is where the stylesheet is served: its name carries a hash of its content, so
// it can be cached for good.
var stylePath = func() string {
	sum := sha256.Sum256(styleCSS)
	return "/assets/style-" + hex.EncodeToString(sum[:4]) + ".css"
}()

// templates holds one template set per page, each with the shared layout.
var templates = func() map[string]*template.Template {
	sets := map[string]*template.Template{}
	for _, page := range []string{"index", "incident", "history", "notfound"} {
		sets[page] = template.Must(template.ParseFS(templateFiles, "templates/base.html", "templates/"+page+".html"))
	}
	return sets
}()

// historyPageSize is how many incidents one page of /history lists.
const historyPageSize = 50

// recentShown is how many resolved incidents the front page lists under its components.
const recentShown = 5

// layout is what every page's frame needs.
type layout struct {
	Title    string
	SiteName string
	Links    links
	// Updated is when the snapshot was made; nil before the first push.
	Updated *stamp
}

type links struct {
	Home, History, Atom, RSS, API, CSS string
}

func (v *view) layout(title string) layout {
	l := layout{Title: title, SiteName: v.name, Links: links{
		Home: v.link("/"), History: v.link("/history"), Atom: v.link("/history.atom"), RSS: v.link("/history.rss"),
		API: v.link("/api/v2/summary.json"), CSS: v.link(stylePath),
	}}
	if v.snap.Sequence > 0 {
		s := v.stamp(v.snap.GeneratedAt)
		l.Updated = &s
	}
	return l
}

func render(page string, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := templates[page].ExecuteTemplate(&b, "base", data); err != nil {
		return nil, fmt.Errorf("render %s page: %w", page, err)
	}
	return b.Bytes(), nil
}

type indexPage struct {
	layout
	Status      Status
	Active      []event
	Maintenance []event
	Entries     []entryView
	Bars        bool
	Zone        string
	Legend      []legendItem
	Recent      []event
}

type entryView struct {
	Group     *groupView
	Component *componentView
}

type groupView struct {
	Name, Description string
	Status            ComponentStatus
	Members           []componentView
}

type componentView struct {
	Name, Description string
	Status            ComponentStatus
	Uptime            *uptimeView
}

type uptimeView struct {
	Days     []dayView
	Percent  string
	Problems []dayView
}

type dayView struct {
	Class, Title string
}

type legendItem struct {
	Class, Label string
}

var legend = []legendItem{
	{"d-ok", "Operational"}, {"d-maint", "Maintenance"}, {"d-degraded", "Degraded performance"},
	{"d-partial", "Partial outage"}, {"d-major", "Major outage"}, {"d-nodata", "No data"},
}

// indexHTML renders the front page.
func (v *view) indexHTML() ([]byte, error) {
	p := indexPage{layout: v.layout(v.name), Status: v.status, Zone: v.loc.String(), Legend: legend}
	for _, i := range v.unresolved() {
		p.Active = append(p.Active, v.incidentEvent(i))
	}
	// Under way first, then the next ones to start.
	for _, m := range v.maintenancesWhere(MaintenanceStatus.active) {
		p.Maintenance = append(p.Maintenance, v.maintenanceEvent(m))
	}
	upcoming := v.maintenancesWhere(func(s MaintenanceStatus) bool { return s == Scheduled })
	for i := len(upcoming) - 1; i >= 0; i-- {
		p.Maintenance = append(p.Maintenance, v.maintenanceEvent(upcoming[i]))
	}
	for _, e := range v.top {
		if e.component != nil {
			if c, ok := v.componentView(e.component); ok {
				p.Entries = append(p.Entries, entryView{Component: &c})
				p.Bars = p.Bars || c.Uptime != nil
			}
			continue
		}
		g := &groupView{Name: e.group.Name, Description: e.group.Description, Status: v.groupStatus[e.group.ID]}
		for _, m := range v.members[e.group.ID] {
			if c, ok := v.componentView(m); ok {
				g.Members = append(g.Members, c)
				p.Bars = p.Bars || c.Uptime != nil
			}
		}
		if len(g.Members) > 0 {
			p.Entries = append(p.Entries, entryView{Group: g})
		}
	}
	for _, i := range v.incidents {
		if len(p.Recent) == recentShown {
			break
		}
		if i.Status.closed() {
			p.Recent = append(p.Recent, v.incidentEvent(i))
		}
	}
	return render("index", p)
}

// componentView is a component's line on the front page; not ok when it is hidden
// (only_show_if_degraded while operational).
func (v *view) componentView(c *Component) (componentView, bool) {
	if c.OnlyShowIfDegraded && c.Status == Operational {
		return componentView{}, false
	}
	cv := componentView{Name: c.Name, Description: c.Description, Status: c.Status}
	if c.Showcase {
		cv.Uptime = v.uptimeView(c)
	}
	return cv, true
}

var dayClasses = map[ComponentStatus]string{
	Operational: "d-ok", UnderMaintenance: "d-maint", DegradedPerformance: "d-degraded",
	PartialOutage: "d-partial", MajorOutage: "d-major",
}

func (v *view) uptimeView(c *Component) *uptimeView {
	u := uptime(c, v.snap.GeneratedAt, v.loc)
	uv := &uptimeView{Percent: percent(u.Ratio)}
	for _, d := range u.Days {
		uv.Days = append(uv.Days, dayView{Class: dayClass(d), Title: dayTitle(d)})
	}
	for _, d := range u.Problems {
		uv.Problems = append(uv.Problems, dayView{Class: dayClass(d), Title: dayTitle(d)})
	}
	return uv
}

func dayClass(d UptimeDay) string {
	if d.NoData {
		return "d-nodata"
	}
	return dayClasses[d.Worst]
}

// dayTitle says what a bar shows: "3 May 2024: 97.12 % up, worst: Major outage (41 min down)".
func dayTitle(d UptimeDay) string {
	date := d.Date.Format("2 Jan 2006")
	if d.NoData {
		return date + ": no data"
	}
	if d.Worst == Operational {
		return date + ": " + percent(d.Ratio) + " up, operational"
	}
	s := date + ": " + percent(d.Ratio) + " up, worst: " + d.Worst.Label()
	if d.Down > 0 {
		s += " (" + minutes(d.Down) + " counted as down)"
	}
	return s
}

func minutes(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m < 1 {
		return "under a minute"
	}
	if m < 120 {
		return strconv.Itoa(m) + " min"
	}
	return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " h"
}

type incidentPage struct {
	layout
	Event event
}

// incidentHTML renders the page of one incident or maintenance.
func (v *view) incidentHTML(r historyRef) ([]byte, error) {
	e := v.event(r)
	return render("incident", incidentPage{layout: v.layout(e.Name + " · " + v.name), Event: e})
}

type historyPage struct {
	layout
	Months        []monthView
	Newer, Older  string
	Number, Pages int
}

type monthView struct {
	Key, Label string
	Events     []event
}

// historyPages is how many pages /history has; an empty history has one.
func historyPages(n int) int { return max(1, (n+historyPageSize-1)/historyPageSize) }

// historyPath is the address of page n of the history (1-based).
func historyPath(n int) string {
	if n <= 1 {
		return "/history"
	}
	return "/history/" + strconv.Itoa(n)
}

// historyHTML renders page n (1-based) of the history, grouped by month.
func (v *view) historyHTML(refs []historyRef, n int) ([]byte, error) {
	pages := historyPages(len(refs))
	title := "Incident history · " + v.name
	if n > 1 {
		title = fmt.Sprintf("Incident history, page %d · %s", n, v.name)
	}
	p := historyPage{layout: v.layout(title), Number: n, Pages: pages}
	if n > 1 {
		p.Newer = v.link(historyPath(n - 1))
	}
	if n < pages {
		p.Older = v.link(historyPath(n + 1))
	}
	from := (n - 1) * historyPageSize
	for _, r := range refs[from:min(len(refs), from+historyPageSize)] {
		at := r.at.In(v.loc)
		key := at.Format("2006-01")
		if len(p.Months) == 0 || p.Months[len(p.Months)-1].Key != key {
			p.Months = append(p.Months, monthView{Key: key, Label: at.Format("January 2006")})
		}
		m := &p.Months[len(p.Months)-1]
		m.Events = append(m.Events, v.event(r))
	}
	return render("history", p)
}

// notFoundHTML is the page for addresses the site does not have.
func (v *view) notFoundHTML() ([]byte, error) {
	return render("notfound", struct{ layout }{v.layout("Page not found · " + v.name)})
}
