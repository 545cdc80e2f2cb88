package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"firebreak/notify/webhook"
)

// hookBody is the part of the rollback webhook's JSON (PRODUCT.md, "Deploys, correlation,
// rollback") the benchmark checks.
type hookBody struct {
	Action   string `json:"action"`
	Incident struct {
		ID       int64  `json:"id"`
		Severity string `json:"severity"`
	} `json:"incident"`
	Service     string `json:"service"`
	Environment string `json:"environment"`
	Deploy      struct {
		ID int64 `json:"id"`
	} `json:"deploy"`
	RollbackFrom string  `json:"rollback_from"`
	RollbackTo   *string `json:"rollback_to"`
}

// call is what the receiver saw of one Idempotency-Key.
type call struct {
	at      time.Time // arrival of the first validly signed call
	n       int       // validly signed calls with this key
	signed  string    // X-Firebreak-Timestamp of the first call
	remote  string    // the first call's client address
	body    hookBody
	arrived chan struct{} // closed at the first call
}

// receiver is the rollback hook: a plain net/http server on loopback that checks every
// call's signature with webhook.Verify and records when each Idempotency-Key first arrived.
type receiver struct {
	secret []byte
	url    string
	srv    *http.Server
	done   chan struct{}

	mu       sync.Mutex
	calls    map[string]*call
	valid    int      // validly signed calls, repeats included
	rejected int      // calls refused: bad or missing signature, bad body, wrong key
	problems []string // the first few reasons for refusals
	repeats  []string // the first few repeated calls, described
}

// maxProblems is how many refusal reasons the receiver keeps to print.
const maxProblems = 5

// startReceiver listens on 127.0.0.1:<free port>; url is where the hook is.
func startReceiver(secret []byte) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("rollback hook receiver: %w", err)
	}
	r := &receiver{secret: secret, url: "http://" + ln.Addr().String() + "/rollback", calls: map[string]*call{}, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /rollback", r.handle)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
	go func() {
		defer close(r.done)
		if err := r.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.refuse(fmt.Sprintf("receiver stopped: %v", err))
		}
	}()
	return r, nil
}

// close stops the receiver; calls in flight get a few seconds to finish.
func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
	<-r.done
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	at := time.Now() // the hook "received its call": before reading the body and checking it
	raw, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		r.refuse("read body: " + err.Error())
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(r.secret, req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature),
		raw, time.Now(), webhook.DefaultTolerance); err != nil {
		r.refuse("signature: " + err.Error())
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var b hookBody
	if err := json.Unmarshal(raw, &b); err != nil {
		r.refuse("body: " + err.Error())
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	key := req.Header.Get("Idempotency-Key")
	if want := idempotencyKey(b.Incident.ID, b.Deploy.ID); key != want || b.Action != benchAction {
		r.refuse(fmt.Sprintf("Idempotency-Key %q and action %q, want %q and %q", key, b.Action, want, benchAction))
		http.Error(w, "unexpected key or action", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	c := r.callLocked(key)
	r.valid++
	c.n++
	signed := req.Header.Get(webhook.HeaderTimestamp)
	if c.n == 1 {
		c.at, c.body, c.signed, c.remote = at, b, signed, req.RemoteAddr
		close(c.arrived)
	} else if len(r.repeats) < maxProblems {
		// Enough to tell a retry of the outbox (signed anew) from one of an HTTP transport
		// (the same request replayed on another connection).
		r.repeats = append(r.repeats, fmt.Sprintf("%s call %d, %s after the first; signed at %s (first: %s), from %s (first: %s)",
			key, c.n, at.Sub(c.at).Round(time.Microsecond), signed, c.signed, req.RemoteAddr, c.remote))
	}
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

func (r *receiver) refuse(why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected++
	if len(r.problems) < maxProblems {
		r.problems = append(r.problems, why)
	}
}

// callLocked returns the record of key, creating it; r.mu is held.
func (r *receiver) callLocked(key string) *call {
	c := r.calls[key]
	if c == nil {
		c = &call{arrived: make(chan struct{})}
		r.calls[key] = c
	}
	return c
}

// wait blocks until the first valid call with key has arrived or until deadline, and
// returns it (nil when none came in time).
func (r *receiver) wait(ctx context.Context, key string, deadline time.Time) *call {
	r.mu.Lock()
	c := r.callLocked(key)
	r.mu.Unlock()
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-c.arrived:
	case <-t.C:
	case <-ctx.Done():
	}
	select {
	case <-c.arrived:
		r.mu.Lock()
		defer r.mu.Unlock()
		cp := *c
		return &cp
	default:
		return nil
	}
}

// stats are the receiver's counts at the end of a run.
type stats struct {
	valid, rejected int
	duplicates      int // valid calls beyond the first of their key
	unexpected      int // keys the benchmark never waited for
	problems        []string
	repeats         []string
}

func (r *receiver) stats(expected map[string]bool) stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := stats{valid: r.valid, rejected: r.rejected, problems: append([]string(nil), r.problems...),
		repeats: append([]string(nil), r.repeats...)}
	for key, c := range r.calls {
		if c.n > 1 {
			s.duplicates += c.n - 1
		}
		if c.n > 0 && !expected[key] {
			s.unexpected++
		}
	}
	return s
}

// benchAction is the remedy measured (-action): rollback or abort_canary.
var benchAction = "rollback"

// idempotencyKey is the Idempotency-Key PRODUCT.md promises for the measured remedy's call.
func idempotencyKey(incidentID, deployID int64) string {
	return fmt.Sprintf("%s-%d-%d", benchAction, incidentID, deployID)
}
