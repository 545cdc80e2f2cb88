package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"firebreak/deploys"
)

// remediesOfSuspects maps each suspect deploy's id to the remedies besides rollback its
// service allows, for the buttons under it on the incident page.
func (s *Server) remediesOfSuspects(suspects any) map[int64][]deploys.Remedy {
	list, _ := suspects.([]deploys.Match)
	out := make(map[int64][]deploys.Remedy, len(list))
	for _, m := range list {
		out[m.Deploy.ID] = s.deps.Rollbacks.RemediesFor(m.Deploy)
	}
	return out
}

// remedyConfirm is the confirm step of a remedy other than rollback (GET
// /incidents/{id}/remedies/{action}?deploy=&flag=), as rollbackConfirm is for rollback:
// nothing runs until the person posts its form.
func (s *Server) remedyConfirm(c *fiber.Ctx) error {
	inc, d, err := s.confirmTarget(c, "No service has a remedy configured.")
	if err != nil {
		return err
	}
	r := deploys.Remedy{Action: c.Params("action"), Flag: strings.TrimSpace(c.Query("flag"))}
	return s.render(c, http.StatusOK, "remedy", r.Label()+"?", "incidents", map[string]any{"Inc": inc, "Deploy": d, "Remedy": r})
}

// remedyIncident asks for the remedy through the same domain method as
// POST /api/v1/incidents/{id}/actions/{action}, so the page and the API refuse alike.
func (s *Server) remedyIncident(c *fiber.Ctx) error {
	id, err := idParam(c)
	if err != nil {
		return err
	}
	if s.deps.Rollbacks == nil {
		return fiber.NewError(http.StatusNotFound, "No service has a remedy configured.")
	}
	f := formValues(c)
	deployID, err := strconv.ParseInt(f.Get("deploy"), 10, 64)
	if err != nil {
		return badRequest("deploy=%q is not a deploy id", f.Get("deploy"))
	}
	r := deploys.Remedy{Action: c.Params("action"), Flag: strings.TrimSpace(f.Get("flag"))}
	if _, err := s.deps.Rollbacks.RequestRemedy(c.UserContext(), deploys.RemedyRequest{IncidentID: id, DeployID: deployID,
		Action: r.Action, Flag: r.Flag, Actor: actor(c), Note: strings.TrimSpace(f.Get("note"))}); err != nil {
		return err
	}
	return backTo(c, id, r.Label()+" requested.")
}
