package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"

	"firebreak/statuspage"
)

// The program runs its servers as children of itself, each in its own process like a real
// status-server: FIREBREAK_STATUSLOAD_SERVE says which one.
const (
	envServe  = "FIREBREAK_STATUSLOAD_SERVE"  // "status" or "bare"
	envDir    = "FIREBREAK_STATUSLOAD_DIR"    // status: data_dir; bare: folder of the bodies
	envSecret = "FIREBREAK_STATUSLOAD_SECRET" // status: push secret
)

// The bodies the bare server serves, written by the parent from the status-server's
// gzip responses.
var bareRoutes = []struct{ path, file, contentType string }{
	{"/", "index.gz", "text/html; charset=utf-8"},
	{"/api/v2/summary.json", "summary.gz", "application/json; charset=utf-8"},
}

// serveChild runs a child server if the environment asks for one; it reports whether it did.
func serveChild() (bool, error) {
	mode := os.Getenv(envServe)
	if mode == "" {
		return false, nil
	}
	var app *fiber.App
	switch mode {
	case "status":
		srv, err := statuspage.NewServer(statuspage.ServerOptions{
			DataDir: os.Getenv(envDir), Secret: []byte(os.Getenv(envSecret)),
			Defaults: statuspage.Defaults{Title: "Bench", URL: "https://status.bench.test"},
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			return true, err
		}
		if err := srv.Load(); err != nil {
			return true, err
		}
		app = srv.App()
	case "bare":
		var err error
		if app, err = bareApp(os.Getenv(envDir)); err != nil {
			return true, err
		}
	default:
		return true, fmt.Errorf("%s=%q: want status or bare", envServe, mode)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return true, err
	}
	// The parent reads the address from the first line.
	fmt.Printf("listening %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The parent holds stdin open; when it goes, so does the child.
		io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		stop()
	}()
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return true, err
	case <-ctx.Done():
	}
	return true, app.ShutdownWithTimeout(5 * time.Second)
}

// bareApp serves the given bytes from memory on the same HTTP stack, configured as
// status-server configures it, with nothing else: the ceiling status-server is measured
// against.
func bareApp(dir string) (*fiber.App, error) {
	app := fiber.New(fiber.Config{
		Immutable: true, DisableStartupMessage: true, StreamRequestBody: true,
		BodyLimit: statuspage.DefaultMaxPushBytes, DisablePreParseMultipartForm: true,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
	})
	for _, r := range bareRoutes {
		body, err := os.ReadFile(filepath.Join(dir, r.file))
		if err != nil {
			return nil, err
		}
		contentType := []byte(r.contentType)
		app.Get(r.path, func(c *fiber.Ctx) error {
			c.Response().Header.SetContentTypeBytes(contentType)
			c.Response().Header.Set(fiber.HeaderContentEncoding, "gzip")
			c.Response().SetBodyRaw(body)
			return nil
		})
	}
	return app, nil
}
