package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v2"

	slacknotify "firebreak/notify/slack"
)

// SlackVerifier checks that a request came from Slack: the v0 HMAC of its timestamp and raw
// body with the signing secret, within Slack's five-minute window.
type SlackVerifier interface {
	VerifySlack(header http.Header, body []byte) error
}

// Slack is Firebreak's Slack app as the /slack endpoints see it (notify/slack.Service): it
// checks Slack's signature and answers slash commands and interactions. The handlers only
// decode Slack's forms and write the answers. Deps.Slack that implements it gets the
// endpoints; one that only verifies gets the group and no routes.
type Slack interface {
	SlackVerifier
	// Command answers a slash command's form.
	Command(ctx context.Context, form url.Values) (slacknotify.Reply, error)
	// Interaction handles an interaction's payload (JSON); a nil answer is an empty 200.
	Interaction(ctx context.Context, payload []byte) (any, error)
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

// slackForm decodes the url-encoded form Slack posts.
func slackForm(c *fiber.Ctx) (url.Values, error) {
	form, err := url.ParseQuery(string(bodyOf(c)))
	if err != nil {
		return nil, badRequest("the body is not a url-encoded form: %v", err)
	}
	return form, nil
}

// slackCommand is POST /slack/commands: the /incident slash command.
func (s *Server) slackCommand(app Slack) fiber.Handler {
	return func(c *fiber.Ctx) error {
		form, err := slackForm(c)
		if err != nil {
			return err
		}
		reply, err := app.Command(c.UserContext(), form)
		if err != nil {
			return slackError(err)
		}
		if reply.Empty() {
			return c.Status(http.StatusOK).Send(nil) // empty: Slack shows a body as a message
		}
		return c.JSON(reply)
	}
}

// slackInteraction is POST /slack/interactions: buttons and modal submissions.
func (s *Server) slackInteraction(app Slack) fiber.Handler {
	return func(c *fiber.Ctx) error {
		form, err := slackForm(c)
		if err != nil {
			return err
		}
		payload := form.Get("payload")
		if payload == "" {
			return badRequest("the form has no payload field")
		}
		answer, err := app.Interaction(c.UserContext(), []byte(payload))
		if err != nil {
			return slackError(err)
		}
		if answer == nil {
			return c.Status(http.StatusOK).Send(nil) // empty: Slack shows a body as a message
		}
		return c.JSON(answer)
	}
}

// slackError maps what the Slack app refused as malformed to 400.
func slackError(err error) error {
	if errors.Is(err, slacknotify.ErrBadRequest) {
		return badRequest("%v", err)
	}
	return err
}
