package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/postmortem"
	"firebreak/statuspage/publish"
	"firebreak/store"
)

// errBadRequest marks a request the caller got wrong; its message says how.
var errBadRequest = errors.New("bad request")

// badRequest builds an error that maps to 400 with the given message.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// statusOf maps domain errors to HTTP status codes, in one place.
func statusOf(err error) int {
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		return fe.Code
	case errors.Is(err, incidents.ErrNotFound), errors.Is(err, deploys.ErrNotFound), errors.Is(err, deploys.ErrUnknownAction):
		return http.StatusNotFound
	case errors.Is(err, incidents.ErrInvalidTransition), errors.Is(err, deploys.ErrNoHook), errors.Is(err, deploys.ErrPolicyOff),
		errors.Is(err, deploys.ErrNoSuspect), errors.Is(err, deploys.ErrAlreadyRequested), errors.Is(err, deploys.ErrIncidentResolved),
		errors.Is(err, deploys.ErrWrongDeploy), errors.Is(err, postmortem.ErrIncidentOpen), errors.Is(err, deploys.ErrStateBackwards),
		errors.Is(err, deploys.ErrNoRemedy):
		return http.StatusConflict
	case errors.Is(err, publish.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, publish.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, publish.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrOverloaded), errors.Is(err, incidents.ErrContended):
		return http.StatusServiceUnavailable
	case errors.Is(err, incidents.ErrInvalid), errors.Is(err, errBadRequest), errors.Is(err, alerts.ErrInvalid),
		errors.Is(err, deploys.ErrInvalid), errors.Is(err, postmortem.ErrInvalid):
		return http.StatusBadRequest
	case store.IsUnavailable(err):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// handleError is fiber's error handler: every error leaves as {"error": "..."}.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	code := statusOf(err)
	msg := err.Error()
	switch {
	case code == http.StatusServiceUnavailable:
		s.log.Warn("request failed, caller should retry", "method", c.Method(), "path", c.Path(), "err", err)
		msg = "the database is unavailable right now; retry later"
		if errors.Is(err, store.ErrOverloaded) {
			msg = "too many writes queued; retry later"
		}
		c.Set(fiber.HeaderRetryAfter, "5")
	case code >= 500:
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
		msg = "internal error; see the server log"
	}
	return c.Status(code).JSON(fiber.Map{"error": msg})
}

// recoverPanics turns a panicking handler into a 500 instead of a dead connection.
func (s *Server) recoverPanics(c *fiber.Ctx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in handler: %v", p)
		}
	}()
	return c.Next()
}
