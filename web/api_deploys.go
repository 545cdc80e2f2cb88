package web

import (
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"firebreak/deploys"
)

func (s *Server) recordDeploy(c *fiber.Ctx) error {
	var in deploys.Input
	if err := decodeStrict(bodyOf(c), &in); err != nil {
		return err
	}
	d, err := s.deps.Deploys.Record(c.UserContext(), in)
	if err != nil {
		return err
	}
	c.Location("/api/v1/deploys/" + strconv.FormatInt(d.ID, 10))
	return c.Status(http.StatusCreated).JSON(d)
}

func (s *Server) listDeploys(c *fiber.Ctx) error {
	f := deploys.Filter{Service: c.Query("service"), Environment: c.Query("env")}
	if f.Environment == "" {
		f.Environment = c.Query("environment")
	}
	var err error
	if f.Since, f.Limit, f.Before, err = s.pageQuery(c); err != nil {
		return err
	}
	list, next, err := s.deps.Deploys.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	if list == nil {
		list = []deploys.Deploy{}
	}
	return c.JSON(fiber.Map{"deploys": list, "next_cursor": cursorValue(next)})
}

func (s *Server) getDeploy(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	d, err := s.deps.Deploys.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// rollbackBody is the optional body of POST /incidents/{id}/rollback and
// /incidents/{id}/actions/{action}.
type rollbackBody struct {
	DeployID int64  `json:"deploy_id"`
	Flag     string `json:"flag"`
	Note     string `json:"note"`
}

func (s *Server) requestRollback(c *fiber.Ctx) error {
	return s.requestRemedy(c, deploys.ActionRollback)
}

// requestAction runs POST /incidents/{id}/actions/{action}.
func (s *Server) requestAction(c *fiber.Ctx) error {
	return s.requestRemedy(c, c.Params("action"))
}

func (s *Server) requestRemedy(c *fiber.Ctx, action string) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var body rollbackBody
	if err := decodeOptional(bodyOf(c), &body); err != nil {
		return err
	}
	if s.deps.Rollbacks == nil {
		if _, err := s.deps.Incidents.Get(c.UserContext(), id); err != nil {
			return err
		}
		return fiber.NewError(http.StatusConflict, "no service has a rollback hook configured")
	}
	rb, err := s.deps.Rollbacks.RequestRemedy(c.UserContext(), deploys.RemedyRequest{IncidentID: id, DeployID: body.DeployID,
		Action: action, Flag: body.Flag, Actor: actor(c), Note: body.Note})
	if err != nil {
		return err
	}
	return c.Status(http.StatusAccepted).JSON(rb)
}

// updateDeploy moves a rollout on: PATCH /deploys/{id} with state, weight or stage.
func (s *Server) updateDeploy(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	var u deploys.Update
	if err := decodeStrict(bodyOf(c), &u); err != nil {
		return err
	}
	d, err := s.deps.Deploys.Update(c.UserContext(), id, u)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

// listReleases answers the release view: GET /releases?service=&env=.
func (s *Server) listReleases(c *fiber.Ctx) error {
	env := c.Query("env")
	if env == "" {
		env = c.Query("environment")
	}
	list, err := s.deps.Deploys.Releases(c.UserContext(), c.Query("service"), env)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"releases": list})
}
