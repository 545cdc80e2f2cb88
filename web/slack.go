package web

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// SlackVerifier checks that a request came from Slack: the v0 HMAC of its timestamp and raw
// body with the signing secret, within Slack's five-minute window (slack-go's
// SecretsVerifier does it from the same header and body).
type SlackVerifier interface {
	VerifySlack(header http.Header, body []byte) error
}

// Slack's request-signing headers.
const (
	headerSlackSignature = "X-Slack-Signature"
	headerSlackTimestamp = "X-Slack-Request-Timestamp"
)

// verifySlack refuses, with 401, a request to /slack that Slack did not sign. It runs after
// the body is read: the signature covers it.
func (s *Server) verifySlack(c *fiber.Ctx) error {
	h := http.Header{}
	h.Set(headerSlackSignature, c.Get(headerSlackSignature))
	h.Set(headerSlackTimestamp, c.Get(headerSlackTimestamp))
	if err := s.deps.Slack.VerifySlack(h, bodyOf(c)); err != nil {
		s.log.Info("slack request refused", "path", c.Path(), "err", err)
		return fiber.NewError(http.StatusUnauthorized, "the request is not signed by Slack: "+err.Error())
	}
	return c.Next()
}
