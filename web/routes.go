package web

import (
	"github.com/gofiber/fiber/v2"

	"firebreak/tokens"
)

// trustGroup is a set of routes whose callers prove who they are the same way: nobody
// (public), a bearer token (/api/v1), Slack's signature (/slack), a session cookie (the web
// UI's pages). Routes join a group through get and post, which give every route its own body
// limit: a route that takes no body takes at most 0 bytes, so no handler can read an
// unbounded body by accident.
//
// Routes are registered on a plain prefix rather than behind a fiber group middleware: a
// group middleware runs before the route is matched, and a request it refused (401) would be
// counted under the group's prefix instead of its route.
type trustGroup struct {
	s      *Server
	router fiber.Router
	// who runs first on every route of the group: it identifies the caller, or refuses
	// without reading the body.
	who []fiber.Handler
	// afterBody runs once the body is read, for checks that need it (Slack signs the body;
	// a web form carries its CSRF token in it).
	afterBody []fiber.Handler
}

// get registers a GET (and HEAD) route that takes no body. check, when not nil, runs before
// anything else of the route (a scope check).
func (g *trustGroup) get(path string, check, handler fiber.Handler) {
	g.router.Get(path, g.chain(0, check, handler)...)
}

// delete registers a DELETE route that takes no body.
func (g *trustGroup) delete(path string, check, handler fiber.Handler) {
	g.router.Delete(path, g.chain(0, check, handler)...)
}

// post registers a POST route whose body may hold up to limit bytes after decompression.
func (g *trustGroup) post(path string, limit int, check, handler fiber.Handler) {
	g.router.Post(path, g.chain(limit, check, handler)...)
}

// put registers a PUT route whose body may hold up to limit bytes after decompression.
func (g *trustGroup) put(path string, limit int, check, handler fiber.Handler) {
	g.router.Put(path, g.chain(limit, check, handler)...)
}

// patch registers a PATCH route whose body may hold up to limit bytes after decompression.
func (g *trustGroup) patch(path string, limit int, check, handler fiber.Handler) {
	g.router.Patch(path, g.chain(limit, check, handler)...)
}

func (g *trustGroup) chain(limit int, check, handler fiber.Handler) []fiber.Handler {
	hs := append([]fiber.Handler{}, g.who...)
	if check != nil {
		hs = append(hs, check)
	}
	hs = append(hs, g.s.takeBody(limit))
	hs = append(hs, g.afterBody...)
	return append(hs, handler)
}

// groups are the route groups of the server, by trust. slack and pages are nil when what
// they need is not wired.
type groups struct {
	public *trustGroup
	api    *trustGroup
	slack  *trustGroup
	pages  *trustGroup
}

func (s *Server) groups() groups {
	g := groups{
		public: &trustGroup{s: s, router: s.app},
		api:    &trustGroup{s: s, router: s.app.Group("/api/v1"), who: []fiber.Handler{s.authenticate}},
	}
	if s.deps.Slack != nil {
		g.slack = &trustGroup{s: s, router: s.app.Group("/slack"), afterBody: []fiber.Handler{s.verifySlack}}
	}
	if s.deps.Sessions != nil && s.deps.Accounts != nil {
		// The web UI's pages sit at the root (/incidents, /deploys, ...), beside the API.
		g.pages = &trustGroup{s: s, router: s.app, who: []fiber.Handler{s.requireSession}, afterBody: []fiber.Handler{s.checkCSRFOnPost}}
	}
	return g
}

func (s *Server) routes() {
	// settleBody first: it must see every request's body, whatever answers it.
	s.app.Use(s.settleBody, s.observe, s.recoverPanics)
	g := s.groups()

	g.public.get("/-/healthy", nil, s.healthy)
	g.public.get("/-/ready", nil, s.ready)
	g.public.get("/metrics", nil, s.metricsHandler())

	s.apiRoutes(g.api)
	if g.slack != nil {
		s.slackRoutes(g.slack)
	}
	if g.pages != nil {
		s.loginRoutes(g.public)
		s.pageRoutes(g.pages)
	}
}

func (s *Server) apiRoutes(api *trustGroup) {
	small := s.deps.MaxBodyBytes
	api.get("/incidents", s.require(tokens.Read), s.listIncidents)
	api.post("/incidents", small, s.require(tokens.IncidentsWrite), s.declareIncident)
	api.get("/incidents/:id", s.require(tokens.Read), s.getIncident)
	api.patch("/incidents/:id", small, s.require(tokens.IncidentsWrite), s.patchIncident)
	api.delete("/incidents/:id", s.require(tokens.Admin), s.deleteIncident)
	if s.deps.Postmortems != nil {
		s.postmortemRoutes(api) // before /incidents/:id/:action, which would otherwise match first
	}
	api.post("/incidents/:id/rollback", small, s.require(tokens.IncidentsWrite), s.requestRollback)
	api.post("/incidents/:id/actions/:action", small, s.require(tokens.IncidentsWrite), s.requestAction)
	api.post("/incidents/:id/notes", small, s.require(tokens.IncidentsWrite), s.addNote)
	api.post("/incidents/:id/:action", small, s.require(tokens.IncidentsWrite), s.transitionIncident)
	if s.deps.Alerts != nil {
		api.post("/alerts/alertmanager", s.deps.MaxWebhookBytes, s.require(tokens.AlertsWrite), s.receiveAlertmanager)
		api.get("/incidents/:id/alerts", s.require(tokens.Read), s.incidentAlerts)
	}
	if s.deps.Deploys != nil {
		api.get("/deploys", s.require(tokens.Read), s.listDeploys)
		api.post("/deploys", small, s.require(tokens.DeploysWrite), s.recordDeploy)
		api.get("/deploys/:id", s.require(tokens.Read), s.getDeploy)
		api.patch("/deploys/:id", small, s.require(tokens.DeploysWrite), s.updateDeploy)
		api.get("/releases", s.require(tokens.Read), s.listReleases)
	}
	api.get("/metrics/mttr", s.require(tokens.Read), s.mttrReport)
	if s.deps.Statuspage != nil {
		s.statuspageRoutes(api)
	}
}

// slackRoutes registers Slack's endpoints; every route of the group is checked against
// Slack's signature.
func (s *Server) slackRoutes(slack *trustGroup) {
	app, ok := s.deps.Slack.(Slack)
	if !ok {
		return // a verifier alone (tests of the group) answers nothing
	}
	slack.post("/commands", s.deps.MaxBodyBytes, nil, s.slackCommand(app))
	slack.post("/interactions", s.deps.MaxBodyBytes, nil, s.slackInteraction(app))
}

// pageRoutes registers the web UI's pages (/incidents, /incidents/:id, /deploys,
// /reports/mttr, /status) once they exist; every page needs a live session. /login and
// /logout go on the public group: they are how a session starts and ends.
func (s *Server) pageRoutes(pages *trustGroup) { s.uiRoutes(pages) }
