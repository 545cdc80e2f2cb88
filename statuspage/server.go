package statuspage

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// DefaultMaxPushBytes is the largest snapshot a push may carry.
const DefaultMaxPushBytes = 32 << 20

// ServerOptions configure a Server.
type ServerOptions struct {
	// DataDir holds the last accepted snapshot.
	DataDir string
	// Secret is the key shared with the platform that signs pushes.
	Secret []byte
	// Defaults are the title and URL shown before the first push, and whenever a
	// snapshot leaves them empty.
	Defaults Defaults
	// MaxPushBytes caps a push's body; DefaultMaxPushBytes when zero.
	MaxPushBytes int
	// Now is the clock pushes' timestamps are checked against; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// ReadTimeout, WriteTimeout and IdleTimeout bound each connection (30 s, 30 s, 2 min
	// when zero).
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

// Server is status-server: it accepts signed snapshots, keeps the last one on disk and
// serves its site from memory. It needs nothing of the platform.
type Server struct {
	opts ServerOptions
	app  *fiber.App
	disk *disk
	// site is what is served; nil until Load has run.
	site atomic.Pointer[Site]
	// pushMu orders pushes: the sequence check, the save and the swap happen as one.
	pushMu sync.Mutex
	// lastSequence is the sequence of the snapshot shown (0 for none), under pushMu.
	lastSequence int64
}

// NewServer prepares the data folder and the routes. Nothing is served until Load has read
// the saved snapshot: pages and pushes answer 503 until then, /-/ready too.
func NewServer(opts ServerOptions) (*Server, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("status-server needs a push secret")
	}
	if opts.MaxPushBytes <= 0 {
		opts.MaxPushBytes = DefaultMaxPushBytes
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d, err := openDisk(opts.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, disk: d}
	s.app = fiber.New(fiber.Config{
		// Fiber reuses request buffers; Immutable copies strings out so none change under us.
		Immutable:             true,
		DisableStartupMessage: true,
		// Bodies stream: only the push route reads one, within its own limit, and a
		// Content-Length past it is refused before anything is read.
		StreamRequestBody:            true,
		BodyLimit:                    opts.MaxPushBytes,
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  orDefault(opts.ReadTimeout, 30*time.Second),
		WriteTimeout:                 orDefault(opts.WriteTimeout, 30*time.Second),
		IdleTimeout:                  orDefault(opts.IdleTimeout, 2*time.Minute),
		ErrorHandler:                 s.handleError,
	})
	s.app.Get("/-/healthy", func(c *fiber.Ctx) error { return c.SendString("OK") })
	s.app.Get("/-/ready", s.ready)
	s.app.Post("/api/push", s.push)
	s.app.Use(s.serveSite)
	return s, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// App is the fiber application, to serve on a listener.
func (s *Server) App() *fiber.App { return s.app }

// Load reads the saved snapshot, if any, and starts serving it; without one it serves the
// empty page. A saved snapshot that cannot be read or shown is an error: the operator
// should know rather than see the page silently emptied.
func (s *Server) Load() error {
	body, err := s.disk.load()
	if err != nil {
		return err
	}
	if body == nil {
		site, err := EmptySite(s.opts.Defaults, s.opts.Now())
		if err != nil {
			return err
		}
		s.site.Store(site)
		s.opts.Logger.Info("no snapshot saved yet: serving the empty page until the first push")
		return nil
	}
	snap, err := Decode(body)
	if err != nil {
		return fmt.Errorf("saved snapshot %s: %w", s.disk.path(), err)
	}
	site, err := Render(snap, s.opts.Defaults)
	if err != nil {
		return fmt.Errorf("saved snapshot %s: %w", s.disk.path(), err)
	}
	s.pushMu.Lock()
	s.lastSequence = snap.Sequence
	s.site.Store(site)
	s.pushMu.Unlock()
	s.opts.Logger.Info("serving the saved snapshot", "sequence", snap.Sequence, "generated_at", snap.GeneratedAt)
	return nil
}

// Site is the site being served; nil before Load.
func (s *Server) Site() *Site { return s.site.Load() }

// ready answers 200 once Load has run: the server shows a snapshot, or knows it has none.
func (s *Server) ready(c *fiber.Ctx) error {
	if s.site.Load() == nil {
		return c.Status(fiber.StatusServiceUnavailable).SendString("loading the saved snapshot")
	}
	return c.SendString("OK")
}

// handleError writes errors as {"error": "..."} with their status.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code = fe.Code
	} else {
		s.opts.Logger.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
		err = errors.New("internal error")
	}
	return c.Status(code).JSON(fiber.Map{"error": err.Error()})
}
