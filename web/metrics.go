package web

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"firebreak/store"
)

// httpMetrics are the request series every route reports.
type httpMetrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// liveStreams counts the web UI's live-update streams open now: one that outlives its
	// browser tab would hold a goroutine and poll the database forever.
	liveStreams prometheus.Gauge
}

func newHTTPMetrics(reg *prometheus.Registry, db *store.DB) *httpMetrics {
	m := &httpMetrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "firebreak_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "firebreak_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		liveStreams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "firebreak_ui_live_streams",
			Help: "Live-update streams (server-sent events) of the web UI open now.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.liveStreams, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: "firebreak"}))
	if db != nil {
		reg.MustRegister(&openIncidentsCollector{db: db})
	}
	return m
}

// observe logs each request and counts it by route pattern (not raw path, which would give
// one series per incident id).
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	middleware := c.Route()
	err := c.Next()
	if err != nil {
		if herr := s.app.ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	code := c.Response().StatusCode()
	route := routeLabel(c, middleware)
	elapsed := time.Since(start)
	s.metrics.requests.WithLabelValues(route, c.Method(), strconv.Itoa(code)).Inc()
	s.metrics.duration.WithLabelValues(route, c.Method()).Observe(elapsed.Seconds())
	level := slog.LevelDebug
	if code >= 400 {
		level = slog.LevelInfo
	}
	s.log.Log(c.UserContext(), level, "http request", "method", c.Method(), "path", c.Path(),
		"route", route, "code", code, "duration", elapsed)
	return nil
}

// routeLabel is the pattern of the route that answered. Every guard (a token check, a
// session check) runs inside its route, so a refusal is counted under the route it refused;
// a request no route matched (404, 405) is counted as "unmatched", not under the "/" of the
// middleware that saw it last.
func routeLabel(c *fiber.Ctx, middleware *fiber.Route) string {
	if r := c.Route(); r != middleware {
		return r.Path
	}
	return "unmatched"
}

func (s *Server) metricsHandler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
}

// openIncidentsCollector reads open incidents by severity from the database at scrape time,
// so every replica reports the same truth without keeping counters in step.
type openIncidentsCollector struct{ db *store.DB }

var openIncidentsDesc = prometheus.NewDesc("firebreak_open_incidents",
	"Incidents not yet resolved, by severity.", []string{"severity"}, nil)

// openIncidentsQuery counts open incidents by severity. Its WHERE is, word for word, that of
// the partial index incidents_open_severity (migration 0007), so both SQLite and PostgreSQL
// read the small index of open incidents instead of every incident ever recorded; a test
// checks the plan.
const openIncidentsQuery = `SELECT severity, COUNT(*) AS n FROM incidents WHERE status <> 'resolved' GROUP BY severity`

func (o *openIncidentsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- openIncidentsDesc }

func (o *openIncidentsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var rows []struct {
		Severity string `db:"severity"`
		N        int    `db:"n"`
	}
	err := o.db.R.SelectContext(ctx, &rows, openIncidentsQuery)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(openIncidentsDesc, err)
		return
	}
	counts := map[string]int{"sev1": 0, "sev2": 0, "sev3": 0, "sev4": 0}
	for _, r := range rows {
		counts[r.Severity] = r.N
	}
	for sev, n := range counts {
		ch <- prometheus.MustNewConstMetric(openIncidentsDesc, prometheus.GaugeValue, float64(n), sev)
	}
}
