package statuspage

import (
	"fmt"
	"io"

	"github.com/gofiber/fiber/v2"

	"firebreak/notify/webhook"
)

// PushPath is where the platform pushes snapshots.
const PushPath = "/api/push"

// PushResult is the answer to an accepted push.
type PushResult struct {
	Sequence int64 `json:"sequence"`
}

// push accepts a signed snapshot. In order: 413 for a body past the limit (a declared
// length is refused before anything is read), 415 for an encoded body, 401 for a missing,
// forged or stale signature (more than 5 minutes off), 400 for a snapshot that cannot be
// shown, 409 for a sequence not newer than the last accepted one. Only then is it saved to
// disk and served; a refused push changes nothing.
func (s *Server) push(c *fiber.Ctx) error {
	if s.site.Load() == nil {
		c.Set(fiber.HeaderRetryAfter, "1")
		return fiber.NewError(fiber.StatusServiceUnavailable, "status-server is starting")
	}
	body, err := s.readPush(c)
	if err != nil {
		return err
	}
	ts := string(c.Request().Header.Peek(webhook.HeaderTimestamp))
	sig := string(c.Request().Header.Peek(webhook.HeaderSignature))
	if err := webhook.Verify(s.opts.Secret, ts, sig, body, s.opts.Now(), webhook.DefaultTolerance); err != nil {
		s.opts.Logger.Warn("refused a push", "reason", err, "remote", c.IP())
		return fiber.NewError(fiber.StatusUnauthorized, "push refused: "+err.Error())
	}
	snap, err := Decode(body)
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, err.Error())
	}

	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	if snap.Sequence <= s.lastSequence {
		return fiber.NewError(fiber.StatusConflict,
			fmt.Sprintf("sequence %d is not newer than the last accepted, %d", snap.Sequence, s.lastSequence))
	}
	site, err := Render(snap, s.opts.Defaults)
	if err != nil {
		if IsInvalid(err) {
			return fiber.NewError(fiber.StatusBadRequest, err.Error())
		}
		return fmt.Errorf("render snapshot %d: %w", snap.Sequence, err)
	}
	if err := s.disk.save(body); err != nil {
		return err
	}
	s.lastSequence = snap.Sequence
	s.site.Store(site)
	s.opts.Logger.Info("snapshot accepted", "sequence", snap.Sequence, "bytes", len(body),
		"incidents", len(snap.Incidents), "status", site.Status().Indicator)
	return c.JSON(PushResult{Sequence: snap.Sequence})
}

// readPush reads the streamed body within MaxPushBytes. The connection is closed after a
// refusal that left body bytes unread.
func (s *Server) readPush(c *fiber.Ctx) ([]byte, error) {
	limit := s.opts.MaxPushBytes
	tooLarge := fiber.NewError(fiber.StatusRequestEntityTooLarge, fmt.Sprintf("a push may carry at most %d bytes", limit))
	req := c.Request()
	if enc := req.Header.Peek(fiber.HeaderContentEncoding); len(enc) > 0 && string(enc) != "identity" {
		c.Context().SetConnectionClose()
		return nil, fiber.NewError(fiber.StatusUnsupportedMediaType, "a push must not be encoded (Content-Encoding)")
	}
	declared := req.Header.ContentLength()
	if declared > limit {
		c.Context().SetConnectionClose()
		return nil, tooLarge
	}
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return req.Body(), nil
	}
	if declared >= 0 {
		body := make([]byte, declared)
		if _, err := io.ReadFull(stream, body); err != nil {
			c.Context().SetConnectionClose()
			return nil, fiber.NewError(fiber.StatusBadRequest, "could not read the body: "+err.Error())
		}
		return body, nil
	}
	// Chunked: read until the end or one byte past the limit.
	body, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
	if err != nil {
		c.Context().SetConnectionClose()
		return nil, fiber.NewError(fiber.StatusBadRequest, "could not read the body: "+err.Error())
	}
	if len(body) > limit {
		c.Context().SetConnectionClose()
		return nil, tooLarge
	}
	return body, nil
}
