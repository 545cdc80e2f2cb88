// Package web is Firebreak's HTTP layer: it decodes requests, authenticates them, calls the
// domain packages and translates their answers and errors to JSON. It holds no rules.
package web

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/tokens"
)

// Authenticator turns a presented token into a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (tokens.Principal, error)
}

// Deps is what the HTTP layer calls into. Wired by cmd/firebreak.
type Deps struct {
	DB        *store.DB
	Incidents *incidents.Manager
	// Alerts ingests Alertmanager webhooks; nil leaves the endpoint out.
	Alerts *alerts.Ingester
	// Deploys records deploys and finds suspects; nil leaves the endpoints out.
	Deploys *deploys.Tracker
	// Rollbacks requests rollbacks; nil when no service has a hook.
	Rollbacks *deploys.Rollbacks
	Auth      Authenticator
	// Registry receives the HTTP metrics; /metrics serves it.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// MaxBodyBytes caps the body of Firebreak's own API requests.
	MaxBodyBytes int
	// MaxWebhookBytes caps the body of the Alertmanager webhook, which is larger.
	MaxWebhookBytes int
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
}

// Server is the fiber application with its routes.
type Server struct {
	mu        sync.Mutex
	listeners []*trackingListener
	app       *fiber.App
	deps      Deps
	log       *slog.Logger
	metrics   *httpMetrics
}

// New builds the application and registers every route.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 1 << 20
	}
	if d.MaxWebhookBytes <= 0 {
		d.MaxWebhookBytes = 10 << 20
	}
	if d.Registry == nil {
		d.Registry = prometheus.NewRegistry()
	}
	s := &Server{deps: d, log: d.Logger}
	s.metrics = newHTTPMetrics(d.Registry, d.DB)
	s.app = fiber.New(fiber.Config{
		// Fiber reuses request buffers; Immutable copies strings out so none change under us.
		Immutable:             true,
		DisableStartupMessage: true,
		// The largest body any route takes; each route group applies its own smaller cap.
		BodyLimit:    max(d.MaxBodyBytes, d.MaxWebhookBytes),
		ReadTimeout:  d.ReadTimeout,
		WriteTimeout: d.WriteTimeout,
		ErrorHandler: s.handleError,
		JSONEncoder:  marshalJSON,
	})
	s.routes()
	return s
}

// App exposes the fiber app, for tests (app.Test) and for Listen.
func (s *Server) App() *fiber.App { return s.app }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	tl := newTrackingListener(ln)
	s.mu.Lock()
	s.listeners = append(s.listeners, tl)
	s.mu.Unlock()
	return s.app.Listener(tl)
}

// Shutdown stops accepting connections, closes the ones that never sent a request, and
// waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.app.ShutdownWithContext(ctx) }()
	// Twice: once now, once after fasthttp stopped accepting, for a connection that arrived
	// in between.
	for i := 0; i < 2; i++ {
		s.mu.Lock()
		for _, l := range s.listeners {
			l.closeSilent()
		}
		s.mu.Unlock()
		if i == 0 {
			select {
			case err := <-done:
				return err
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return <-done
}

func (s *Server) routes() {
	s.app.Use(s.recoverPanics, s.observe)

	s.app.Get("/-/healthy", s.healthy)
	s.app.Get("/-/ready", s.ready)
	s.app.Get("/metrics", s.metricsHandler())

	api := s.app.Group("/api/v1", s.authenticate)
	api.Get("/incidents", s.require(tokens.Read), s.listIncidents)
	api.Post("/incidents", s.require(tokens.IncidentsWrite), s.limitBody(s.deps.MaxBodyBytes), s.declareIncident)
	api.Get("/incidents/:id", s.require(tokens.Read), s.getIncident)
	api.Post("/incidents/:id/rollback", s.require(tokens.IncidentsWrite), s.limitBody(s.deps.MaxBodyBytes), s.requestRollback)
	api.Post("/incidents/:id/notes", s.require(tokens.IncidentsWrite), s.limitBody(s.deps.MaxBodyBytes), s.addNote)
	api.Post("/incidents/:id/:action", s.require(tokens.IncidentsWrite), s.limitBody(s.deps.MaxBodyBytes), s.transitionIncident)
	if s.deps.Alerts != nil {
		api.Post("/alerts/alertmanager", s.require(tokens.AlertsWrite), s.limitBody(s.deps.MaxWebhookBytes), s.receiveAlertmanager)
	}
	if s.deps.Deploys != nil {
		api.Get("/deploys", s.require(tokens.Read), s.listDeploys)
		api.Post("/deploys", s.require(tokens.DeploysWrite), s.limitBody(s.deps.MaxBodyBytes), s.recordDeploy)
		api.Get("/deploys/:id", s.require(tokens.Read), s.getDeploy)
	}
	api.Get("/metrics/mttr", s.require(tokens.Read), s.mttrReport)
}
