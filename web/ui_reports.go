package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/postmortem"
)

func (s *Server) deploysPage(c *fiber.Ctx) error {
	if s.deps.Deploys == nil {
		return fiber.NewError(http.StatusNotFound, "Deploy tracking is not enabled.")
	}
	before, err := cursorQuery(c)
	if err != nil {
		return err
	}
	recent, next, err := s.deps.Deploys.List(c.UserContext(), deploys.Filter{Before: before, Limit: 100})
	if err != nil {
		return err
	}
	// The release view: what runs in each service and environment now (after a rollback,
	// the version rolled back to), and the rollbacks and aborts that led there.
	releases, err := s.deps.Deploys.Releases(c.UserContext(), "", "")
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "deploys", "Deploys", "deploys", map[string]any{"Recent": recent, "Releases": releases, "Next": next})
}

// bar is one bar of a server-rendered SVG chart.
type bar struct {
	Key     string
	Value   string
	X, Y, W float64
	TextY   float64
	ValueX  float64
}

type measureChart struct {
	Name          string
	Width, Height int
	Bars          []bar
}

type chart struct {
	ID, By   string
	Measures []measureChart
	Groups   []incidents.Group
}

// chartOf draws each of the four times of a report as horizontal bars of its p50, in
// minutes, labelled with the value so no one needs the bar's length or colour.
func chartOf(id, by string, r incidents.Report) chart {
	ch := chart{ID: id, By: by, Groups: r.Groups}
	pick := []struct {
		name string
		m    func(g incidents.Group) incidents.Measure
	}{
		{"Time to detect", func(g incidents.Group) incidents.Measure { return g.TimeToDetect }},
		{"Time to acknowledge", func(g incidents.Group) incidents.Measure { return g.TimeToAcknowledge }},
		{"Time to mitigate", func(g incidents.Group) incidents.Measure { return g.TimeToMitigate }},
		{"Time to recover", func(g incidents.Group) incidents.Measure { return g.TimeToRecover }},
	}
	const width, left, right, row = 640, 150, 90, 20
	for _, p := range pick {
		mc := measureChart{Name: p.name + " (p50, minutes)", Width: width, Height: max(row, row*len(r.Groups)) + 4}
		var top float64
		for _, g := range r.Groups {
			if v := p.m(g).P50Seconds; v != nil && *v > top {
				top = *v
			}
		}
		for i, g := range r.Groups {
			b := bar{Key: g.Key, X: left, Y: float64(i*row + 3), TextY: float64(i*row + 14), Value: "—"}
			if b.Key == "" {
				b.Key = "(none)"
			}
			if v := p.m(g).P50Seconds; v != nil {
				b.Value = fmt.Sprintf("%.1f", *v/60)
				if top > 0 {
					b.W = (width - left - right) * *v / top
				}
			}
			b.ValueX = left + b.W + 6
			mc.Bars = append(mc.Bars, b)
		}
		ch.Measures = append(ch.Measures, mc)
	}
	return ch
}

func (s *Server) mttrPage(c *fiber.Ctx) error {
	now := s.deps.Incidents.Now()
	since := now.AddDate(0, 0, -90)
	if raw := strings.TrimSpace(c.Query("since")); raw != "" {
		t, err := timeQuery(c, "since", now)
		if err != nil {
			return err
		}
		since = t
	}
	var charts []chart
	for _, g := range []incidents.GroupBy{incidents.ByWeek, incidents.ByService} {
		r, err := s.deps.Incidents.MTTR(c.UserContext(), g, since, now)
		if err != nil {
			return err
		}
		charts = append(charts, chartOf(string(g), string(g), r))
	}
	return s.render(c, http.StatusOK, "mttr", "Time to recover", "mttr", map[string]any{
		"Charts": charts, "From": since, "Until": now, "Since": c.Query("since")})
}

func (s *Server) statusPage(c *fiber.Ctx) error {
	d := map[string]any{"Wired": s.deps.Statuspage != nil}
	if s.deps.Statuspage != nil {
		var err error
		if d["Components"], err = s.deps.Statuspage.Components(c.UserContext()); err != nil {
			return err
		}
		if d["Maintenances"], err = s.deps.Statuspage.Maintenances(c.UserContext()); err != nil {
			return err
		}
	}
	return s.render(c, http.StatusOK, "status", "Status page", "status", d)
}

func (s *Server) postmortemPage(c *fiber.Ctx) error {
	if s.deps.Postmortems == nil {
		return fiber.NewError(http.StatusNotFound, "Postmortems are not enabled.")
	}
	id, err := idParam(c)
	if err != nil {
		return err
	}
	r, err := s.deps.Postmortems.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	preview, err := postmortem.Render(r, postmortem.FormatHTML)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "postmortem", "Postmortem #"+strconv.FormatInt(id, 10), "incidents", map[string]any{
		"ID": id, "Report": r, "Preview": string(preview), "ActionItems": formatActionItems(r.ActionItems)})
}

// formatActionItems writes action items one a line: text | owner | due | done.
func formatActionItems(items []postmortem.ActionItem) string {
	var b strings.Builder
	for _, it := range items {
		due, done := "", ""
		if it.Due != nil {
			due = *it.Due
		}
		if it.Done {
			done = "done"
		}
		fmt.Fprintf(&b, "%s | %s | %s | %s\n", it.Text, it.Owner, due, done)
	}
	return b.String()
}

// parseActionItems reads the lines formatActionItems writes.
func parseActionItems(text string) []postmortem.ActionItem {
	items := []postmortem.ActionItem{}
	for _, line := range strings.Split(text, "\n") {
		parts := strings.Split(line, "|")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		if parts[0] == "" {
			continue
		}
		it := postmortem.ActionItem{Text: parts[0]}
		if len(parts) > 1 {
			it.Owner = parts[1]
		}
		if len(parts) > 2 && parts[2] != "" {
			due := parts[2]
			it.Due = &due
		}
		it.Done = len(parts) > 3 && strings.EqualFold(parts[3], "done")
		items = append(items, it)
	}
	return items
}

func (s *Server) savePostmortem(c *fiber.Ctx) error {
	if s.deps.Postmortems == nil {
		return fiber.NewError(http.StatusNotFound, "Postmortems are not enabled.")
	}
	id, err := idParam(c)
	if err != nil {
		return err
	}
	f := formValues(c)
	text := func(k string) postmortem.Optional[string] {
		return postmortem.Optional[string]{Value: strings.ReplaceAll(f.Get(k), "\r\n", "\n"), Set: true}
	}
	e := postmortem.Edit{RootCause: text("root_cause"), ContributingFactors: text("contributing_factors"),
		WentWell: text("went_well"), WentBadly: text("went_badly"), GotLucky: text("got_lucky"),
		ActionItems: postmortem.Optional[[]postmortem.ActionItem]{Value: parseActionItems(f.Get("action_items")), Set: true}}
	if _, err := s.deps.Postmortems.Update(c.UserContext(), id, e, actor(c)); err != nil {
		return err
	}
	return c.Redirect("/incidents/"+strconv.FormatInt(id, 10)+"/postmortem?flash=Saved.", http.StatusSeeOther)
}
