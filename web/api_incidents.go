package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"firebreak/incidents"
)

// incidentDetail is an incident with everything GET /api/v1/incidents/{id} shows.
type incidentDetail struct {
	incidents.Incident
	Alerts   any `json:"alerts"`
	Suspects any `json:"suspects"`
	// DeploysDuring are deploys of the service recorded while the incident was open: shown,
	// but not suspects.
	DeploysDuring any `json:"deploys_during"`
	// DeploysKnown says whether any deploy of the incident's service and environment has
	// been recorded: false means no suspect can be found because CI records no deploys
	// (or the incident names no service), not that no deploy is to blame. Null when deploy
	// tracking is not wired.
	DeploysKnown *bool             `json:"deploys_known"`
	Rollbacks    any               `json:"rollbacks"`
	Timeline     []incidents.Event `json:"timeline"`
}

func (s *Server) listIncidents(c *fiber.Ctx) error {
	f := incidents.Filter{Service: c.Query("service")}
	if raw := c.Query("status"); raw != "" {
		for _, part := range strings.Split(raw, ",") {
			if part == "open" {
				// Statuses are ORed, so "open,resolved" means both.
				f.Statuses = append(f.Statuses, incidents.Observing, incidents.Responding, incidents.Remediating)
				continue
			}
			st, err := incidents.ParseStatus(part)
			if err != nil {
				return err
			}
			f.Statuses = append(f.Statuses, st)
		}
	}
	if raw := c.Query("severity"); raw != "" {
		sev, err := incidents.ParseSeverity(raw)
		if err != nil {
			return err
		}
		f.Severity = sev
	}
	var err error
	if f.Since, f.Limit, f.Before, err = s.pageQuery(c); err != nil {
		return err
	}
	list, next, err := s.deps.Incidents.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []incidents.Incident{}
	}
	return c.JSON(fiber.Map{"incidents": list, "next_cursor": cursorValue(next)})
}

func (s *Server) declareIncident(c *fiber.Ctx) error {
	var in incidents.DeclareInput
	if err := decodeStrict(bodyOf(c), &in); err != nil {
		return err
	}
	inc, err := s.deps.Incidents.Declare(c.UserContext(), actor(c), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1/incidents/" + strconv.FormatInt(inc.ID, 10))
	return c.Status(http.StatusCreated).JSON(inc)
}

func (s *Server) getIncident(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	inc, err := s.deps.Incidents.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	timeline, err := s.deps.Incidents.Timeline(c.UserContext(), id)
	if err != nil {
		return err
	}
	if timeline == nil {
		timeline = []incidents.Event{}
	}
	var alertList any = []any{}
	if s.deps.Alerts != nil {
		if alertList, err = s.deps.Alerts.ForIncident(c.UserContext(), id); err != nil {
			return err
		}
	}
	detail := incidentDetail{Incident: inc, Alerts: alertList, Suspects: []any{}, DeploysDuring: []any{}, Rollbacks: []any{}, Timeline: timeline}
	if s.deps.Deploys != nil {
		if detail.Suspects, err = s.deps.Deploys.Suspects(c.UserContext(), id); err != nil {
			return err
		}
		if detail.DeploysDuring, err = s.deps.Deploys.During(c.UserContext(), id); err != nil {
			return err
		}
		known, err := s.deps.Deploys.DeploysKnown(c.UserContext(), inc.Service, inc.Environment)
		if err != nil {
			return err
		}
		detail.DeploysKnown = &known
	}
	if s.deps.Rollbacks != nil {
		if detail.Rollbacks, err = s.deps.Rollbacks.ForIncident(c.UserContext(), id); err != nil {
			return err
		}
	}
	return c.JSON(detail)
}

// transitionBody is the optional body of a state change.
type transitionBody struct {
	Note string `json:"note"`
}

func (s *Server) transitionIncident(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	action, err := incidents.ParseAction(c.Params("action"))
	if err != nil {
		return fiber.NewError(http.StatusNotFound, "no such action "+strconv.Quote(c.Params("action"))+
			": want acknowledge, remediate, mitigate, resolve, reopen, notes or rollback")
	}
	var body transitionBody
	if err := decodeOptional(bodyOf(c), &body); err != nil {
		return err
	}
	inc, err := s.deps.Incidents.Transition(c.UserContext(), id, action, actor(c), body.Note)
	if err != nil {
		return err
	}
	return c.JSON(inc)
}

// noteBody is the body of POST /incidents/{id}/notes.
type noteBody struct {
	Text   string `json:"text"`
	Public bool   `json:"public"`
	// Status names the status page status a public note sets; empty keeps the one it has.
	Status string `json:"status"`
}

func (s *Server) addNote(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var body noteBody
	if err := decodeStrict(bodyOf(c), &body); err != nil {
		return err
	}
	if body.Status != "" {
		if !body.Public {
			return badRequest("status: only a public note sets the status page status")
		}
		return s.addPublicUpdate(c, id, body)
	}
	ev, err := s.deps.Incidents.AddNote(c.UserContext(), id, actor(c), body.Text, body.Public)
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(ev)
}

// pageQuery reads what every list endpoint takes: ?since=, ?limit= and ?cursor=.
func (s *Server) pageQuery(c *fiber.Ctx) (since time.Time, limit int, before int64, err error) {
	if since, err = timeQuery(c, "since", s.deps.Incidents.Now()); err != nil {
		return
	}
	if limit, err = limitQuery(c); err != nil {
		return
	}
	before, err = cursorQuery(c)
	return
}

// limitQuery reads ?limit= (default 100, at most 1000).
func limitQuery(c *fiber.Ctx) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 1000 {
		return 0, badRequest("limit=%q must be a whole number from 1 to 1000", raw)
	}
	return n, nil
}

// cursorQuery reads ?cursor=, the id the previous page ended at.
func cursorQuery(c *fiber.Ctx) (int64, error) {
	raw := c.Query("cursor")
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 1 {
		return 0, badRequest("cursor=%q is not a cursor this server returned", raw)
	}
	return n, nil
}

func cursorValue(next int64) any {
	if next == 0 {
		return nil
	}
	return strconv.FormatInt(next, 10)
}
