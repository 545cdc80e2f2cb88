package web

import (
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"firebreak/alerts"
	"firebreak/metrics"
)

// receiveAlertmanager is Alertmanager's webhook receiver. It answers only after the alerts
// are committed; a full write queue or an unavailable database answers 503, which
// Alertmanager retries (it drops a notification on 4xx).
//
// Both are counted: the alerts of a notification refused as malformed are lost for good,
// and a rising rate of 503s means Firebreak is falling behind.
func (s *Server) receiveAlertmanager(c *fiber.Ctx) error {
	body := bodyOf(c)
	p, err := alerts.Decode(body)
	if err != nil {
		if errors.Is(err, alerts.ErrInvalid) {
			n := alerts.AlertCount(body)
			s.deps.Metrics.Alerts(metrics.AlertRefused, n)
			s.log.DebugContext(c.UserContext(), "alertmanager notification refused as malformed", "alerts", n, "reason", err)
		}
		return err
	}
	res, err := s.deps.Alerts.Ingest(c.UserContext(), p)
	if err != nil {
		if statusOf(err) == http.StatusServiceUnavailable {
			s.deps.Metrics.Unavailable()
		}
		return err
	}
	return c.JSON(res)
}
