package web_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"firebreak/accounts"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

// streamServer is the web UI served on a loopback port, with a responder's session.
type streamServer struct {
	t       *testing.T
	srv     *web.Server
	reg     *prometheus.Registry
	inc     *incidents.Manager
	base    string
	session string
	served  chan error
}

func startStreamServer(t *testing.T, db *store.DB) *streamServer {
	t.Helper()
	acc := accounts.New(db, accounts.Options{BcryptCost: bcrypt.MinCost})
	if _, err := acc.Create(context.Background(), "resp", "password-1", accounts.Responder); err != nil {
		t.Fatal(err)
	}
	session, _, err := acc.Login(context.Background(), "resp", "password-1", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := incidents.NewManager(db, time.Now)
	srv := web.New(web.Deps{DB: db, Incidents: m, Auth: tokens.NewStore(db, time.Now), Sessions: acc, Accounts: acc, Registry: reg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls := &streamServer{t: t, srv: srv, reg: reg, inc: m, base: "http://" + ln.Addr().String(), session: session, served: make(chan error, 1)}
	go func() { ls.served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return ls
}

// openStream GETs a live path with the session cookie and reads up to the stream's first
// line, so the handler is known to be streaming.
func (ls *streamServer) openStream(path string) (*http.Response, *bufio.Reader) {
	ls.t.Helper()
	req, err := http.NewRequest("GET", ls.base+path, nil)
	if err != nil {
		ls.t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: ls.session})
	// A transport of its own: closing the body must close the connection, not pool it.
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		ls.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		ls.t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || line != "retry: 3000\n" {
		ls.t.Fatalf("first line of %s: %q, %v", path, line, err)
	}
	return resp, r
}

// openStreams reads firebreak_ui_live_streams.
func (ls *streamServer) openStreams() float64 {
	ls.t.Helper()
	mfs, err := ls.reg.Gather()
	if err != nil {
		ls.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "firebreak_ui_live_streams" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	ls.t.Fatal("no firebreak_ui_live_streams metric")
	return 0
}

// waitStreams waits until n live streams are open.
func (ls *streamServer) waitStreams(n float64, what string) {
	ls.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for ls.openStreams() != n {
		if time.Now().After(deadline) {
			ls.t.Fatalf("%s: %v live streams open, want %v", what, ls.openStreams(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUILiveStreamsEndWhenTheBrowserGoesAway: a live stream's handler stops once its client
// closes the connection, for the list and for an incident's timeline.
func TestUILiveStreamsEndWhenTheBrowserGoesAway(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ls := startStreamServer(t, db)
		inc, err := ls.inc.Declare(context.Background(), "test", incidents.DeclareInput{Title: "db down", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		list, _ := ls.openStream("/incidents/live")
		timeline, _ := ls.openStream("/incidents/" + itoa(int(inc.ID)) + "/live")
		ls.waitStreams(2, "both streams open")
		list.Body.Close()
		ls.waitStreams(1, "after the list's client closed")
		timeline.Body.Close()
		ls.waitStreams(0, "after the timeline's client closed")
	})
}

// TestUIShutdownEndsOpenLiveStreams: Shutdown does not wait for a browser that keeps a live
// stream open; the stream ends and Shutdown returns before its deadline.
func TestUIShutdownEndsOpenLiveStreams(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ls := startStreamServer(t, db)
		resp, r := ls.openStream("/incidents/live")
		defer resp.Body.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := ls.srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown with a live stream open: %v", err)
		}
		if err := <-ls.served; err != nil {
			t.Fatalf("Serve: %v", err)
		}
		ls.waitStreams(0, "after Shutdown")
		// The client sees its stream end rather than hang.
		for {
			if _, err := r.ReadString('\n'); err != nil {
				break
			}
		}
	})
}

// TestUILiveListSendsWhatOpenedAfterThePage: the list page names the newest incident it
// showed (after=), so an incident opened between the page and the stream's start is
// streamed, not lost.
func TestUILiveListSendsWhatOpenedAfterThePage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ls := startStreamServer(t, db)
		ctx := context.Background()
		first, err := ls.inc.Declare(ctx, "test", incidents.DeclareInput{Title: "shown on the page", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		// The page was rendered now, with first as its newest: its live URL carries after=.
		req, _ := http.NewRequest("GET", ls.base+"/incidents", nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: ls.session})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page := new(strings.Builder)
		bufio.NewReader(resp.Body).WriteTo(page)
		resp.Body.Close()
		want := `data-live="/incidents/live?after=` + itoa(int(first.ID)) + `"`
		if !strings.Contains(page.String(), want) {
			t.Fatalf("list page lacks %s", want)
		}
		// An incident opens before the browser's stream starts.
		second, err := ls.inc.Declare(ctx, "test", incidents.DeclareInput{Title: "opened in between", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		stream, r := ls.openStream("/incidents/live?after=" + itoa(int(first.ID)))
		defer stream.Body.Close()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream ended before sending #%d: %v", second.ID, err)
			}
			if strings.Contains(line, "shown on the page") {
				t.Fatalf("stream repeats the incident the page showed: %s", line)
			}
			if strings.HasPrefix(line, "data: ") && strings.Contains(line, `data-id="`+itoa(int(second.ID))+`"`) {
				if !strings.Contains(line, "opened in between") {
					t.Fatalf("row: %s", line)
				}
				return
			}
		}
	})
}
