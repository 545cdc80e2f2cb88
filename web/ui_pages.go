package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/tokens"
	"firebreak/web/ui"
)

// loginRoutes registers /login, /logout and the static files: how a session starts and
// ends needs no session.
func (s *Server) loginRoutes(public *trustGroup) {
	s.app.Use("/static", filesystem.New(filesystem.Config{Root: http.FS(ui.Static), PathPrefix: "static", MaxAge: 3600}))
	small := s.deps.MaxBodyBytes
	// The CSRF token is in the body, so it is checked once the body is read.
	forms := &trustGroup{s: s, router: public.router, afterBody: []fiber.Handler{s.checkCSRFOnPost}}
	forms.get("/login", nil, s.loginForm)
	forms.post("/login", small, nil, s.login)
	forms.post("/logout", small, nil, s.logout)
}

// checkCSRFOnPost checks the CSRF token of every form a page posts.
func (s *Server) checkCSRFOnPost(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodPost {
		return c.Next()
	}
	return s.checkCSRF(c)
}

// uiRoutes registers the pages; actions need the responder role, /status the admin role.
func (s *Server) uiRoutes(pages *trustGroup) {
	small := s.deps.MaxBodyBytes
	write := s.requirePage(tokens.IncidentsWrite)
	pages.get("/", nil, func(c *fiber.Ctx) error { return c.Redirect("/incidents", http.StatusSeeOther) })
	pages.get("/incidents", nil, s.page(s.incidentsPage))
	pages.get("/incidents/live", nil, s.page(s.incidentsLive))
	pages.get("/incidents/:id", nil, s.page(s.incidentPage))
	pages.get("/incidents/:id/live", nil, s.page(s.timelineLive))
	pages.post("/incidents/:id/act/:action", small, write, s.page(s.actOnIncident))
	pages.post("/incidents/:id/notes", small, write, s.page(s.noteOnIncident))
	pages.get("/incidents/:id/rollback", write, s.page(s.rollbackConfirm))
	pages.post("/incidents/:id/rollback", small, write, s.page(s.rollbackIncident))
	pages.get("/incidents/:id/remedies/:action", write, s.page(s.remedyConfirm))
	pages.post("/incidents/:id/remedies/:action", small, write, s.page(s.remedyIncident))
	pages.get("/incidents/:id/postmortem", nil, s.page(s.postmortemPage))
	pages.post("/incidents/:id/postmortem", small, write, s.page(s.savePostmortem))
	pages.get("/deploys", nil, s.page(s.deploysPage))
	pages.get("/reports/mttr", nil, s.page(s.mttrPage))
	pages.get("/status", s.requirePage(tokens.Admin), s.page(s.statusPage))
}

// listFilter is the /incidents form as typed, to show it back.
type listFilter struct {
	Status, Service, Severity, Environment, Since string
}

// Any reports whether some filter is set.
func (f listFilter) Any() bool { return f != listFilter{} }

func (f listFilter) query() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"status": f.Status, "service": f.Service, "severity": f.Severity, "environment": f.Environment, "since": f.Since} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// incidentFilter reads the list's filters as the API does.
func (s *Server) incidentFilter(c *fiber.Ctx) (incidents.Filter, listFilter, error) {
	lf := listFilter{Status: c.Query("status"), Service: c.Query("service"), Severity: c.Query("severity"),
		Environment: c.Query("environment"), Since: c.Query("since")}
	f := incidents.Filter{Service: lf.Service, Environment: lf.Environment}
	switch lf.Status {
	case "":
	case "open":
		f.OpenOnly = true
	default:
		st, err := incidents.ParseStatus(lf.Status)
		if err != nil {
			return f, lf, err
		}
		f.Statuses = []incidents.Status{st}
	}
	if lf.Severity != "" {
		sev, err := incidents.ParseSeverity(lf.Severity)
		if err != nil {
			return f, lf, err
		}
		f.Severity = sev
	}
	var err error
	f.Since, f.Limit, f.Before, err = s.pageQuery(c)
	if c.Query("limit") == "" {
		f.Limit = 50
	}
	return f, lf, err
}

func (s *Server) incidentsPage(c *fiber.Ctx) error {
	f, lf, err := s.incidentFilter(c)
	if err != nil {
		return err
	}
	list, next, err := s.deps.Incidents.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	var newest int64
	if len(list) > 0 && f.Before == 0 {
		newest = list[0].ID
	}
	nq := lf.query()
	nq.Set("cursor", strconv.FormatInt(next, 10))
	lq := lf.query()
	if f.Before == 0 {
		lq.Set("after", strconv.FormatInt(newest, 10))
	}
	return s.render(c, http.StatusOK, "incidents", "Incidents", "incidents", map[string]any{
		"Incidents": list, "F": lf, "Next": next, "NextQuery": nq.Encode(), "LiveQuery": lq.Encode(),
		"Newest":     newest,
		"Statuses":   []string{"open", "observing", "responding", "remediating", "resolved"},
		"Severities": []string{"sev1", "sev2", "sev3", "sev4"},
	})
}

// allowedActions are the actions the incident's phase allows, for its buttons.
func allowedActions(inc incidents.Incident) []incidents.Action {
	switch inc.Status {
	case incidents.Observing:
		return []incidents.Action{incidents.Acknowledge, incidents.Remediate, incidents.Mitigate, incidents.Resolve}
	case incidents.Responding:
		return []incidents.Action{incidents.Remediate, incidents.Mitigate, incidents.Resolve}
	case incidents.Remediating:
		if inc.MitigatedAt != nil {
			return []incidents.Action{incidents.Resolve}
		}
		return []incidents.Action{incidents.Mitigate, incidents.Resolve}
	case incidents.Resolved:
		return []incidents.Action{incidents.Reopen}
	}
	return nil
}

// timelineShown is how many of the latest timeline events the page shows unless asked for
// all: an alert storm can write thousands.
const timelineShown = 500

func (s *Server) incidentPage(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	inc, err := s.deps.Incidents.Get(ctx, id)
	if err != nil {
		return err
	}
	timeline, err := s.deps.Incidents.Timeline(ctx, id)
	if err != nil {
		return err
	}
	var notes []incidents.Event
	for _, ev := range timeline {
		if ev.Kind == incidents.KindNote || ev.Kind == incidents.KindStatusUpdate {
			notes = append(notes, ev)
		}
	}
	total, shown := len(timeline), timeline
	if c.Query("timeline") != "all" && len(shown) > timelineShown {
		shown = shown[len(shown)-timelineShown:]
	}
	var last int64
	if len(timeline) > 0 {
		last = timeline[len(timeline)-1].ID
	}
	d := map[string]any{"Inc": inc, "Actions": allowedActions(inc), "Timeline": shown, "TimelineTotal": total,
		"TimelineEarlier": len(shown) < total, "LastEvent": last, "Notes": notes}
	if s.deps.Alerts != nil {
		status := c.Query("alerts")
		cursor, _ := strconv.ParseInt(c.Query("alerts_cursor"), 10, 64)
		list, next, err := s.deps.Alerts.PageForIncident(ctx, id, alerts.PageFilter{Status: status, Before: cursor, Limit: 50})
		if err != nil {
			return err
		}
		counts, err := s.deps.Alerts.CountForIncident(ctx, id)
		if err != nil {
			return err
		}
		d["Alerts"], d["AlertsNext"], d["AlertsStatus"], d["Counts"] = list, next, status, counts
	} else {
		d["Counts"] = alerts.Counts{}
	}
	if s.deps.Deploys != nil {
		if d["Suspects"], err = s.deps.Deploys.Suspects(ctx, id); err != nil {
			return err
		}
		if d["During"], err = s.deps.Deploys.During(ctx, id); err != nil {
			return err
		}
	}
	if s.deps.Rollbacks != nil {
		if d["Rollbacks"], err = s.deps.Rollbacks.ForIncident(ctx, id); err != nil {
			return err
		}
		d["Remedies"] = s.remediesOfSuspects(d["Suspects"])
	}
	return s.render(c, http.StatusOK, "incident", "#"+strconv.FormatInt(id, 10)+" "+inc.Title, "incidents", d)
}

// backTo sends the browser back to the incident page with a message (Post/Redirect/Get).
func backTo(c *fiber.Ctx, id int64, flash string) error {
	return c.Redirect("/incidents/"+strconv.FormatInt(id, 10)+"?flash="+url.QueryEscape(flash), http.StatusSeeOther)
}

func (s *Server) actOnIncident(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	action, err := incidents.ParseAction(c.Params("action"))
	if err != nil {
		return fiber.NewError(http.StatusNotFound, "No such action.")
	}
	if _, err := s.deps.Incidents.Transition(c.UserContext(), id, action, actor(c), strings.TrimSpace(formValues(c).Get("note"))); err != nil {
		return err
	}
	return backTo(c, id, "Done: "+string(action)+".")
}

func (s *Server) noteOnIncident(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	f := formValues(c)
	if _, err := s.deps.Incidents.AddNote(c.UserContext(), id, actor(c), f.Get("text"), f.Get("visibility") == "public"); err != nil {
		return err
	}
	return backTo(c, id, "Note added.")
}

func (s *Server) rollbackConfirm(c *fiber.Ctx) error {
	inc, d, err := s.confirmTarget(c, "No service has a rollback hook.")
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "rollback", "Roll back?", "incidents", map[string]any{"Inc": inc, "Deploy": d})
}

// confirmTarget reads what a remedy's confirm step is about: the incident of the path and
// the deploy of ?deploy=. missing answers 404 when no remedy is wired at all.
func (s *Server) confirmTarget(c *fiber.Ctx, missing string) (incidents.Incident, deploys.Deploy, error) {
	id, err := idParam(c)
	if err != nil {
		return incidents.Incident{}, deploys.Deploy{}, err
	}
	if s.deps.Deploys == nil || s.deps.Rollbacks == nil {
		return incidents.Incident{}, deploys.Deploy{}, fiber.NewError(http.StatusNotFound, missing)
	}
	inc, err := s.deps.Incidents.Get(c.UserContext(), id)
	if err != nil {
		return incidents.Incident{}, deploys.Deploy{}, err
	}
	deployID, err := strconv.ParseInt(c.Query("deploy"), 10, 64)
	if err != nil {
		return incidents.Incident{}, deploys.Deploy{}, badRequest("deploy=%q is not a deploy id", c.Query("deploy"))
	}
	d, err := s.deps.Deploys.Get(c.UserContext(), deployID)
	return inc, d, err
}

func (s *Server) rollbackIncident(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if s.deps.Rollbacks == nil {
		return fiber.NewError(http.StatusNotFound, "No service has a rollback hook.")
	}
	f := formValues(c)
	deployID, err := strconv.ParseInt(f.Get("deploy"), 10, 64)
	if err != nil {
		return badRequest("deploy=%q is not a deploy id", f.Get("deploy"))
	}
	if _, err := s.deps.Rollbacks.RequestWithNote(c.UserContext(), id, deployID, actor(c), strings.TrimSpace(f.Get("note"))); err != nil {
		return err
	}
	return backTo(c, id, "Rollback requested.")
}
