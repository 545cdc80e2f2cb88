package web

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"firebreak/statuspage/publish"
)

func (s *Server) listMaintenances(c *fiber.Ctx) error {
	list, err := s.deps.Statuspage.Maintenances(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"maintenances": list})
}

func (s *Server) getMaintenance(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	m, err := s.deps.Statuspage.Maintenance(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (s *Server) createMaintenance(c *fiber.Ctx) error {
	var in publish.MaintenanceInput
	if err := decodeStrict(bodyOf(c), &in); err != nil {
		return err
	}
	m, err := s.deps.Statuspage.CreateMaintenance(c.UserContext(), actor(c), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1/maintenances/" + strconv.FormatInt(m.ID, 10))
	return c.Status(http.StatusCreated).JSON(m)
}

func (s *Server) updateMaintenance(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var in publish.MaintenanceInput
	if err := decodeStrict(bodyOf(c), &in); err != nil {
		return err
	}
	m, err := s.deps.Statuspage.UpdateMaintenance(c.UserContext(), actor(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(m)
}

func (s *Server) deleteMaintenance(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if err := s.deps.Statuspage.DeleteMaintenance(c.UserContext(), actor(c), id); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
