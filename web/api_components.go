package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"firebreak/statuspage/publish"
	"firebreak/tokens"
)

// statuspageRoutes registers the status page's components and maintenances: anyone with
// read sees them, admins change them.
func (s *Server) statuspageRoutes(api *trustGroup) {
	small := s.deps.MaxBodyBytes
	api.get("/components", s.require(tokens.Read), s.listComponents)
	api.post("/components", small, s.require(tokens.Admin), s.createComponent)
	api.get("/components/:ref", s.require(tokens.Read), s.getComponent)
	api.put("/components/:ref", small, s.require(tokens.Admin), s.updateComponent)
	api.delete("/components/:ref", s.require(tokens.Admin), s.deleteComponent)
	api.get("/maintenances", s.require(tokens.Read), s.listMaintenances)
	api.post("/maintenances", small, s.require(tokens.Admin), s.createMaintenance)
	api.get("/maintenances/:id", s.require(tokens.Read), s.getMaintenance)
	api.put("/maintenances/:id", small, s.require(tokens.Admin), s.updateMaintenance)
	api.delete("/maintenances/:id", s.require(tokens.Admin), s.deleteMaintenance)
}

// componentRef reads the component a path names: its id, or its name (URL-escaped).
func componentRef(c *fiber.Ctx) (string, error) {
	ref, err := url.PathUnescape(c.Params("ref"))
	if err != nil || ref == "" {
		return "", badRequest("%q does not name a component", c.Params("ref"))
	}
	return ref, nil
}

func (s *Server) listComponents(c *fiber.Ctx) error {
	list, err := s.deps.Statuspage.Components(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"components": list})
}

func (s *Server) getComponent(c *fiber.Ctx) error {
	ref, err := componentRef(c)
	if err != nil {
		return err
	}
	comp, err := s.deps.Statuspage.Component(c.UserContext(), ref)
	if err != nil {
		return err
	}
	return c.JSON(comp)
}

func (s *Server) createComponent(c *fiber.Ctx) error {
	var in publish.ComponentInput
	if err := decodeStrict(bodyOf(c), &in); err != nil {
		return err
	}
	comp, err := s.deps.Statuspage.CreateComponent(c.UserContext(), actor(c), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1/components/" + strconv.FormatInt(comp.ID, 10))
	return c.Status(http.StatusCreated).JSON(comp)
}

func (s *Server) updateComponent(c *fiber.Ctx) error {
	ref, err := componentRef(c)
	if err != nil {
		return err
	}
	var in publish.ComponentInput
	if err := decodeStrict(bodyOf(c), &in); err != nil {
		return err
	}
	comp, err := s.deps.Statuspage.UpdateComponent(c.UserContext(), actor(c), ref, in)
	if err != nil {
		return err
	}
	return c.JSON(comp)
}

func (s *Server) deleteComponent(c *fiber.Ctx) error {
	ref, err := componentRef(c)
	if err != nil {
		return err
	}
	if err := s.deps.Statuspage.DeleteComponent(c.UserContext(), actor(c), ref); err != nil {
		return err
	}
	return c.SendStatus(http.StatusNoContent)
}
