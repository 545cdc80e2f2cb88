package serving_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"firebreak/web/serving"
)

// startApp serves a fiber app with one slow route (it answers once release is closed) until
// the returned cancel is called; done receives what Serve returned.
func startApp(t *testing.T, release <-chan struct{}, entered chan<- struct{}) (base string, cancel func(), done <-chan error) {
	t.Helper()
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/slow", func(c *fiber.Ctx) error {
		entered <- struct{}{}
		<-release
		return c.SendString("finished")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	// A minute of grace: far more than these tests need, so only a stuck shutdown uses it.
	go func() { served <- serving.Serve(ctx, app, ln, time.Minute) }()
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop, served
}

// TestServeClosesSilentConnectionsAtShutdown: HTTP clients open spare connections and may
// never send on them; fasthttp counts them busy, and they must not hold the shutdown until
// the grace runs out.
func TestServeClosesSilentConnectionsAtShutdown(t *testing.T) {
	base, cancel, done := startApp(t, nil, nil)
	conn, err := net.Dial("tcp", base[len("http://"):])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve with a silent connection open: %v, want a clean stop", err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	// Closed either way: EOF when it had been accepted and was closed, a reset when the
	// listener closed with it still in the kernel's accept queue.
	if _, err := conn.Read(make([]byte, 1)); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("the silent connection: read %v, want it closed (EOF or reset)", err)
	}
}

// TestServeFinishesRequestsInFlight: a request that started before the shutdown gets its
// answer.
func TestServeFinishesRequestsInFlight(t *testing.T) {
	release, entered := make(chan struct{}), make(chan struct{}, 1)
	base, cancel, done := startApp(t, release, entered)
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answer <- string(body)
	}()
	<-entered
	cancel()
	close(release)
	if got := <-answer; got != "finished" {
		t.Fatalf("request in flight at shutdown: %q, want finished", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// TestServeReturnsWhenStoppedBeforeItStarted: a context that ends before the server reaches
// Accept (a status-server whose saved snapshot cannot be read stops at once) must still end
// Serve, not leave it serving forever.
func TestServeReturnsWhenStoppedBeforeItStarted(t *testing.T) {
	for i := 0; i < 20; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		done := make(chan error, 1)
		go func() {
			done <- serving.Serve(ctx, fiber.New(fiber.Config{DisableStartupMessage: true}), ln, time.Second)
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Serve stopped before it started: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Serve with an ended context never returned")
		}
	}
}
