// Package serving runs a fiber application on a listener and stops it gracefully. It holds
// what every Firebreak HTTP server needs at shutdown, whatever its routes: serve (the
// platform) and status-server alike.
package serving

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// silentRecheck is how long after the first sweep the connections that never sent a byte
// are closed once more: one may have been accepted while fasthttp was stopping to accept.
const silentRecheck = 100 * time.Millisecond

// Server serves one fiber app on any number of listeners.
type Server struct {
	app       *fiber.App
	mu        sync.Mutex
	listeners []*trackingListener
}

// New wraps app. The app's own timeouts (ReadTimeout, IdleTimeout) still apply.
func New(app *fiber.App) *Server { return &Server{app: app} }

// Serve serves on ln until Shutdown. Like fiber's Listener it returns nil once shut down.
func (s *Server) Serve(ln net.Listener) error {
	tl := newTrackingListener(ln)
	s.mu.Lock()
	s.listeners = append(s.listeners, tl)
	s.mu.Unlock()
	return s.app.Listener(tl)
}

// Shutdown stops accepting connections, closes the ones that never sent a request, and
// waits for requests in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.app.ShutdownWithContext(ctx) }()
	// fasthttp counts an accepted connection as busy before its first byte; HTTP clients keep
	// such spares open, and they would hold the shutdown until their read timeout.
	s.closeSilent()
	select {
	case err := <-done:
		return err
	case <-time.After(silentRecheck):
	}
	s.closeSilent()
	return <-done
}

func (s *Server) closeSilent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		l.closeSilent()
	}
}

// Serve serves app on ln until ctx ends, then stops taking connections and gives the
// requests in flight up to grace to finish. It returns nil after a clean stop, and an error
// when serving failed or requests were still running when grace ran out.
func Serve(ctx context.Context, app *fiber.App, ln net.Listener, grace time.Duration) error {
	s := New(app)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	err := s.Shutdown(sctx)
	// A ctx that ended before the serving goroutine reached Accept leaves fasthttp nothing
	// to shut down, and it would then serve forever: closing the listener ends it either way.
	_ = ln.Close()
	if serr := <-served; serr != nil && !errors.Is(serr, net.ErrClosed) && err == nil {
		err = serr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: requests still running after %s", grace)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
