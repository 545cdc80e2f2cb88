package web

import (
	"github.com/gofiber/fiber/v2"

	"firebreak/alerts"
)

// incidentAlerts answers GET /api/v1/incidents/{id}/alerts?status=&limit=&cursor=: one page
// of the incident's alerts, newest first.
func (s *Server) incidentAlerts(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if _, err := s.deps.Incidents.Get(c.UserContext(), id); err != nil {
		return err
	}
	limit, err := limitQuery(c)
	if err != nil {
		return err
	}
	before, err := cursorQuery(c)
	if err != nil {
		return err
	}
	list, next, err := s.deps.Alerts.PageForIncident(c.UserContext(), id, alerts.PageFilter{Status: c.Query("status"), Before: before, Limit: limit})
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"alerts": list, "next_cursor": cursorValue(next)})
}
