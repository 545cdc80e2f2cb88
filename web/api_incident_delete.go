package web

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// deleteIncident removes a test incident with its alerts and timeline (admin only), so
// trying Firebreak out does not skew the MTTR report. It is logged: it rewrites history.
func (s *Server) deleteIncident(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	inc, err := s.deps.Incidents.Delete(c.UserContext(), id)
	if err != nil {
		return err
	}
	if s.deps.Alerts != nil {
		// Its alerts went with it: their next notification must be stored anew, not
		// counted as a repeat of a row that is gone.
		s.deps.Alerts.Forget()
	}
	s.log.Warn("incident deleted", "incident", inc.ID, "title", inc.Title, "service", inc.Service,
		"status", inc.Status, "by", actor(c))
	return c.SendStatus(http.StatusNoContent)
}
