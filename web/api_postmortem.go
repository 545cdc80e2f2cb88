package web

import (
	"github.com/gofiber/fiber/v2"

	"firebreak/postmortem"
	"firebreak/tokens"
)

// postmortemRoutes registers GET and PUT /incidents/{id}/postmortem and POST
// /incidents/{id}/postmortem/publish. apiRoutes calls it before POST /incidents/:id/:action:
// fiber tries routes in the order they were registered, so the more specific paths come
// first.
func (s *Server) postmortemRoutes(api *trustGroup) {
	// A PUT may carry every human part at its full length; the API's usual limit may be less.
	editLimit := max(s.deps.MaxBodyBytes, postmortem.MaxEditBytes)
	api.get("/incidents/:id/postmortem", s.require(tokens.Read), s.getPostmortem)
	api.router.Put("/incidents/:id/postmortem", api.chain(editLimit, s.require(tokens.IncidentsWrite), s.editPostmortem)...)
	api.post("/incidents/:id/postmortem/publish", s.deps.MaxBodyBytes, s.require(tokens.IncidentsWrite), s.publishPostmortem)
}

// getPostmortem answers the postmortem in ?format=md|html|json (json by default).
func (s *Server) getPostmortem(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	format, err := postmortem.ParseFormat(c.Query("format"))
	if err != nil {
		return err
	}
	r, err := s.deps.Postmortems.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return sendPostmortem(c, r, format)
}

// editPostmortem applies a PUT of some of the human parts and answers the JSON format.
func (s *Server) editPostmortem(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	edit, err := postmortem.DecodeEdit(bodyOf(c))
	if err != nil {
		return err
	}
	r, err := s.deps.Postmortems.Update(c.UserContext(), id, edit, actor(c))
	if err != nil {
		return err
	}
	return sendPostmortem(c, r, postmortem.FormatJSON)
}

// publishPostmortem publishes the postmortem; its body, if any, must be an empty object.
func (s *Server) publishPostmortem(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if err := decodeOptional(bodyOf(c), &struct{}{}); err != nil {
		return err
	}
	r, err := s.deps.Postmortems.Publish(c.UserContext(), id, actor(c))
	if err != nil {
		return err
	}
	return sendPostmortem(c, r, postmortem.FormatJSON)
}

func sendPostmortem(c *fiber.Ctx, r postmortem.Report, f postmortem.Format) error {
	out, err := postmortem.Render(r, f)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, f.ContentType())
	return c.Send(out)
}
