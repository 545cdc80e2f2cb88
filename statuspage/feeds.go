package statuspage

import (
	"html"
	"strings"

	"github.com/gorilla/feeds"
)

// feedSize is how many incidents and maintenances the feeds hold, newest first.
const feedSize = 50

// feed builds the history feed: one item per incident or maintenance, its id the
// incident's permanent address (stable across pushes and restarts), its content every
// public update, newest first.
func (v *view) feed(refs []historyRef) *feeds.Feed {
	f := &feeds.Feed{
		Title:       v.name + " · incident history",
		Link:        &feeds.Link{Href: v.url + "/"},
		Description: "Incidents and scheduled maintenance of " + v.name,
		// The last change, not the push time: an unchanged page gives an unchanged feed.
		Updated: v.updatedAt,
	}
	for _, r := range firstN(refs, feedSize) {
		e := v.event(r)
		title := e.Name
		if e.Maintenance {
			title = "Scheduled maintenance: " + e.Name
		}
		link := v.incidentURL(e.ID)
		f.Items = append(f.Items, &feeds.Item{
			Title:       title,
			Link:        &feeds.Link{Href: link},
			Id:          link,
			IsPermaLink: "true",
			Created:     e.Created,
			Updated:     e.Updated,
			Description: feedContent(e),
		})
	}
	return f
}

// feedContent is an item's HTML: each update with its time and status, as Statuspage's
// feeds carry them. Every value is escaped.
func feedContent(e event) string {
	var b strings.Builder
	if e.Window != "" {
		b.WriteString("<p><strong>Scheduled</strong> " + html.EscapeString(e.Window) + "</p>")
	}
	for _, u := range e.Updates {
		b.WriteString("<p><small>" + html.EscapeString(u.At.Text) + "</small><br><strong>" +
			html.EscapeString(u.StatusLabel) + "</strong> - " + html.EscapeString(u.Body) + "</p>")
	}
	if len(e.Components) > 0 {
		names := make([]string, len(e.Components))
		for i, c := range e.Components {
			names[i] = html.EscapeString(c.Name)
		}
		b.WriteString("<p>Affected components: " + strings.Join(names, ", ") + ".</p>")
	}
	return b.String()
}

// atomAndRSS renders the feed both ways.
func (v *view) atomAndRSS(refs []historyRef) (atom, rss []byte, err error) {
	f := v.feed(refs)
	a, err := f.ToAtom()
	if err != nil {
		return nil, nil, err
	}
	r, err := f.ToRss()
	if err != nil {
		return nil, nil, err
	}
	return []byte(a), []byte(r), nil
}
