package web

import (
	"github.com/gofiber/fiber/v2"

	"firebreak/alerts"
)

// receiveAlertmanager is Alertmanager's webhook receiver. It answers only after the alerts
// are committed; a full write queue or an unavailable database answers 503, which
// Alertmanager retries (it drops a notification on 4xx).
func (s *Server) receiveAlertmanager(c *fiber.Ctx) error {
	p, err := alerts.Decode(bodyOf(c))
	if err != nil {
		return err
	}
	res, err := s.deps.Alerts.Ingest(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(res)
}
