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
	"firebreak/metrics"
	"firebreak/postmortem"
	"firebreak/statuspage/publish"
	"firebreak/store"
	"firebreak/tokens"
	"firebreak/web/serving"
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
	// Slack checks Slack's request signature; nil leaves the /slack endpoints out.
	Slack SlackVerifier
	// Sessions finds who holds a web UI session; nil leaves the web UI's pages out.
	Sessions SessionAuthenticator
	// Accounts logs people in to the web UI; with Sessions it turns the UI on.
	Accounts Accounts
	// UI configures the web UI.
	UI UIOptions
	// Registry receives the HTTP metrics; /metrics serves it.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// MaxBodyBytes caps the body of Firebreak's own API requests.
	MaxBodyBytes int
	// MaxWebhookBytes caps the body of the Alertmanager webhook, which is larger.
	MaxWebhookBytes int
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration

	// Postmortems builds and edits postmortems; nil leaves the endpoints out.
	Postmortems *postmortem.Service
	// Statuspage keeps the status page's components and maintenances; nil (no statuspage
	// section) leaves their endpoints out.
	Statuspage *publish.Service

	// Metrics counts Alertmanager notifications refused as malformed (by their alerts) and
	// answered 503; nil counts nothing.
	Metrics *metrics.Set
}

// Server is the fiber application with its routes.
type Server struct {
	app     *fiber.App
	serving *serving.Server
	deps    Deps
	log     *slog.Logger
	metrics *httpMetrics
	// maxBody is the largest body any route takes: how much of a body nobody read is
	// discarded to keep its connection usable.
	maxBody int
	// stopLive is closed at Shutdown so live-update streams end instead of holding it up.
	stopLive chan struct{}
	stopOnce sync.Once
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
	s := &Server{stopLive: make(chan struct{}), deps: d, log: d.Logger, maxBody: max(d.MaxBodyBytes, d.MaxWebhookBytes)}
	s.metrics = newHTTPMetrics(d.Registry, d.DB)
	s.app = fiber.New(fiber.Config{
		// Fiber reuses request buffers; Immutable copies strings out so none change under us.
		Immutable:             true,
		DisableStartupMessage: true,
		// Bodies stream: fasthttp reads at most 8 KiB of one before the route decides, with
		// its own limit, how much it takes (takeBody). Without streaming fasthttp would read
		// every body up to the largest limit of all routes, whatever its route.
		StreamRequestBody: true,
		// With streaming, BodyLimit refuses nothing; it only picks how fasthttp reads the
		// first bytes. The routes' limits are what holds.
		BodyLimit: s.maxBody,
		// No route takes multipart forms; fasthttp would otherwise parse them, spilling
		// files to disk, before any handler ran.
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  d.ReadTimeout,
		WriteTimeout:                 d.WriteTimeout,
		ErrorHandler:                 s.handleError,
		JSONEncoder:                  marshalJSON,
	})
	s.serving = serving.New(s.app)
	s.routes()
	return s
}

// App exposes the fiber app, for tests (app.Test) and for Listen.
func (s *Server) App() *fiber.App { return s.app }

// Serve serves on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.serving.Serve(ln) }

// Shutdown stops accepting connections, closes the ones that never sent a request, and
// waits for requests in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stopLive) })
	return s.serving.Shutdown(ctx)
}
