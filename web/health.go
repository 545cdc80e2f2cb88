package web

import (
	"context"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthy answers while the process runs, like Alertmanager's /-/healthy.
func (s *Server) healthy(c *fiber.Ctx) error { return c.SendString("OK") }

// ready answers 200 only while the database is reachable, so a load balancer sends
// traffic elsewhere when it is not. It asks through the read pool: on SQLite the writer is
// one connection, and a long write batch holding it would make a healthy server look down.
func (s *Server) ready(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
	defer cancel()
	// A read of a real table, not "SELECT 1", which SQLite answers without its file.
	var exists bool
	if err := s.deps.DB.R.GetContext(ctx, &exists, "SELECT EXISTS (SELECT 1 FROM incidents)"); err != nil {
		s.log.Warn("not ready", "err", err)
		return c.Status(http.StatusServiceUnavailable).SendString("database unreachable")
	}
	return c.SendString("OK")
}
