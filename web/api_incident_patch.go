package web

import (
	"encoding/json"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"firebreak/incidents"
)

// incidentPatch is the body of PATCH /api/v1/incidents/{id}: the fields it names change.
// public_components names status page components by name (a string) or id (a number).
type incidentPatch struct {
	Title            *string            `json:"title"`
	Summary          *string            `json:"summary"`
	Severity         *string            `json:"severity"`
	PublicTitle      *string            `json:"public_title"`
	PublicComponents *[]json.RawMessage `json:"public_components"`
}

func (s *Server) patchIncident(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var body incidentPatch
	if err := decodeStrict(bodyOf(c), &body); err != nil {
		return err
	}
	p := incidents.Patch{Title: body.Title, Summary: body.Summary, Severity: body.Severity, PublicTitle: body.PublicTitle}
	if body.PublicComponents != nil {
		if s.deps.Statuspage == nil {
			return badRequest("public_components: this server has no status page (no statuspage section in its config)")
		}
		ids, names, err := s.deps.Statuspage.ResolveComponents(c.UserContext(), *body.PublicComponents)
		if err != nil {
			return err
		}
		p.PublicComponents, p.PublicComponentNames = &ids, names
	}
	if p.Empty() {
		return badRequest("nothing to change: send title, summary, severity, public_title or public_components")
	}
	inc, err := s.deps.Incidents.Patch(c.UserContext(), id, actor(c), p)
	if err != nil {
		return err
	}
	return c.JSON(inc)
}

// addPublicUpdate adds a public note that names its status page status.
func (s *Server) addPublicUpdate(c *fiber.Ctx, id int64, body noteBody) error {
	ev, err := s.deps.Incidents.AddPublicUpdate(c.UserContext(), id, actor(c), body.Text, incidents.PublicStatus(body.Status))
	if err != nil {
		return err
	}
	return c.Status(http.StatusCreated).JSON(ev)
}
