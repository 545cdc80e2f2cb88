package statuspage

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // status-server runs on hosts that may lack a zone database
)

// Defaults fill what a snapshot leaves empty: status-server's title and public_url from
// status.yaml.
type Defaults struct {
	Title string
	URL   string
}

// view is a validated snapshot, sorted, with everything the renderers derive from it. The
// HTML pages, the feeds and the v2 JSON are all built from one view, so they agree.
type view struct {
	snap   Snapshot
	loc    *time.Location
	pageID string
	name   string
	url    string // public URL without a trailing slash
	base   string // its path: the prefix of every link on the pages
	// updatedAt is the latest change to anything on the page (v2 page.updated_at).
	updatedAt time.Time

	// top is the page's top level in display order: groups and ungrouped components.
	top        []entry
	components map[string]*Component
	// members are each group's components, in position order.
	members     map[string][]*Component
	groupStatus map[string]ComponentStatus
	// incidents are newest first; maintenances latest scheduled first. Every update list
	// is newest first.
	incidents    []*Incident
	maintenances []*Maintenance
	status       Status
}

// entry is one top-level line: a group (with its members) or an ungrouped component.
type entry struct {
	group     *Group
	component *Component
}

// buildView fills s's defaults and sorts it; s must have passed Validate (or be empty).
// It does not modify s's lists.
func buildView(s Snapshot, d Defaults) *view {
	v := &view{snap: s, name: s.Page.Name, url: s.Page.URL}
	if strings.TrimSpace(v.name) == "" {
		v.name = d.Title
	}
	if v.url == "" {
		v.url = d.URL
	}
	v.url = strings.TrimRight(v.url, "/")
	if u, err := url.Parse(v.url); err == nil {
		v.base = strings.TrimRight(u.EscapedPath(), "/")
	}
	v.pageID = s.Page.ID
	if v.pageID == "" {
		v.pageID = PageID(v.url)
	}
	v.loc = time.UTC
	if s.Page.TimeZone != "" {
		v.loc, _ = time.LoadLocation(s.Page.TimeZone) // Validate checked it
	}

	v.components = make(map[string]*Component, len(s.Components))
	v.members = map[string][]*Component{}
	for i := range s.Components {
		c := &s.Components[i]
		v.components[c.ID] = c
		if c.GroupID != "" {
			v.members[c.GroupID] = append(v.members[c.GroupID], c)
		}
	}
	v.groupStatus = make(map[string]ComponentStatus, len(s.Groups))
	for i := range s.Groups {
		g := &s.Groups[i]
		slices.SortStableFunc(v.members[g.ID], byPosition)
		worst := Operational
		for _, c := range v.members[g.ID] {
			if c.Status.rank() > worst.rank() {
				worst = c.Status
			}
		}
		v.groupStatus[g.ID] = worst
		v.top = append(v.top, entry{group: g})
	}
	for i := range s.Components {
		if c := &s.Components[i]; c.GroupID == "" {
			v.top = append(v.top, entry{component: c})
		}
	}
	slices.SortStableFunc(v.top, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.position(), b.position()), strings.Compare(a.name(), b.name()))
	})

	for i := range s.Incidents {
		inc := s.Incidents[i]
		inc.Updates = sortedUpdates(inc.Updates)
		v.incidents = append(v.incidents, &inc)
	}
	slices.SortStableFunc(v.incidents, func(a, b *Incident) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(b.ID, a.ID))
	})
	for i := range s.Maintenances {
		m := s.Maintenances[i]
		m.Updates = sortedUpdates(m.Updates)
		v.maintenances = append(v.maintenances, &m)
	}
	slices.SortStableFunc(v.maintenances, func(a, b *Maintenance) int {
		return cmp.Or(b.ScheduledFor.Compare(a.ScheduledFor), strings.Compare(b.ID, a.ID))
	})

	v.updatedAt = v.lastChange()
	v.status = v.rollup()
	return v
}

func byPosition(a, b *Component) int {
	return cmp.Or(cmp.Compare(a.Position, b.Position), strings.Compare(a.Name, b.Name))
}

func (e entry) position() int {
	if e.group != nil {
		return e.group.Position
	}
	return e.component.Position
}

func (e entry) name() string {
	if e.group != nil {
		return e.group.Name
	}
	return e.component.Name
}

// newerUpdate orders updates newest first: by display time, then creation, then id.
func newerUpdate(a, b Update) bool {
	return compareUpdates(a, b) < 0
}

func compareUpdates(a, b Update) int {
	return cmp.Or(b.DisplayAt.Compare(a.DisplayAt), b.CreatedAt.Compare(a.CreatedAt), strings.Compare(b.ID, a.ID))
}

func sortedUpdates(us []Update) []Update {
	out := slices.Clone(us)
	slices.SortStableFunc(out, compareUpdates)
	return out
}

// lastChange is the latest updated_at of anything on the page; an empty page was last
// changed when its snapshot was made.
func (v *view) lastChange() time.Time {
	var last time.Time
	later := func(t time.Time) {
		if t.After(last) {
			last = t
		}
	}
	for _, g := range v.snap.Groups {
		later(g.UpdatedAt)
	}
	for _, c := range v.snap.Components {
		later(c.UpdatedAt)
	}
	for _, i := range v.incidents {
		later(i.UpdatedAt)
	}
	for _, m := range v.maintenances {
		later(m.UpdatedAt)
	}
	if last.IsZero() {
		return v.snap.GeneratedAt
	}
	return last
}

// groupUpdatedAt is a group container's updated_at: its members' changes change its
// rolled-up status.
func (v *view) groupUpdatedAt(g *Group) time.Time {
	t := g.UpdatedAt
	for _, c := range v.members[g.ID] {
		if c.UpdatedAt.After(t) {
			t = c.UpdatedAt
		}
	}
	return t
}

// unresolved are the open incidents, newest first.
func (v *view) unresolved() []*Incident {
	var out []*Incident
	for _, i := range v.incidents {
		if !i.Status.closed() {
			out = append(out, i)
		}
	}
	return out
}

// maintenancesWhere are the maintenances whose status passes keep, in view order.
func (v *view) maintenancesWhere(keep func(MaintenanceStatus) bool) []*Maintenance {
	var out []*Maintenance
	for _, m := range v.maintenances {
		if keep(m.Status) {
			out = append(out, m)
		}
	}
	return out
}

// incidentURL is the absolute address of an incident's or maintenance's page.
func (v *view) incidentURL(id string) string { return v.url + "/incidents/" + id }

// link is a path on the site as the pages link to it: under the public URL's path.
func (v *view) link(path string) string { return v.base + path }

// apiTime writes t as Statuspage does: RFC 3339 with milliseconds, in the page's zone.
func (v *view) apiTime(t time.Time) string {
	return t.In(v.loc).Format("2006-01-02T15:04:05.000Z07:00")
}

func (v *view) apiTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := v.apiTime(*t)
	return &s
}

// PageID derives a Statuspage-style page id (12 characters of lowercase base36) from the
// page's URL, for snapshots that carry none: the same URL always gives the same id.
func PageID(pageURL string) string {
	sum := sha256.Sum256([]byte(pageURL))
	id := strconv.FormatUint(binary.BigEndian.Uint64(sum[:8]), 36)
	for len(id) < 12 {
		id = "0" + id
	}
	return id[len(id)-12:]
}
