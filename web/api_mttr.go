package web

import (
	"github.com/gofiber/fiber/v2"

	"firebreak/incidents"
)

func (s *Server) mttrReport(c *fiber.Ctx) error {
	groupBy, err := incidents.ParseGroupBy(c.Query("group_by"))
	if err != nil {
		return err
	}
	now := s.deps.Incidents.Now()
	since, err := timeQuery(c, "since", now)
	if err != nil {
		return err
	}
	until, err := timeQuery(c, "until", now)
	if err != nil {
		return err
	}
	report, err := s.deps.Incidents.MTTR(c.UserContext(), groupBy, since, until)
	if err != nil {
		return err
	}
	return c.JSON(report)
}
