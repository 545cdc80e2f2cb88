package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// flagService stands in for a feature-flag service: flags by name, PATCH /flags/{name}
// with {"enabled": bool} and a bearer token; fail makes it answer 503.
type flagService struct {
	mu    sync.Mutex
	flags map[string]bool
	fail  bool
}

func (fs *flagService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	name, ok := strings.CutPrefix(r.URL.Path, "/flags/")
	switch {
	case r.Header.Get("Authorization") != "Bearer flags-token":
		http.Error(w, "bad token", http.StatusUnauthorized)
	case fs.fail:
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	case r.Method != http.MethodPatch || !ok:
		http.NotFound(w, r)
	default:
		if _, known := fs.flags[name]; !known {
			http.Error(w, "no such flag", http.StatusNotFound)
			return
		}
		var in struct{ Enabled bool }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		fs.flags[name] = in.Enabled
	}
}

func (fs *flagService) setFail(fail bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.fail = fail
}

func (fs *flagService) state() map[string]bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := map[string]bool{}
	for k, v := range fs.flags {
		out[k] = v
	}
	return out
}

// send posts body to url signed with secret, as Firebreak does.
func send(t *testing.T, url, secret, body string) (int, string) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + body))
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("X-Firebreak-Timestamp", ts)
	req.Header.Set("X-Firebreak-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Idempotency-Key", "disable_flag-42-7-new-cart")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func TestFlagReceiverTurnsOffTheFlagNamedInTheBody(t *testing.T) {
	fs := &flagService{flags: map[string]bool{"new-cart": true, "fast-pay": true}}
	flags := httptest.NewServer(fs)
	defer flags.Close()
	srv := httptest.NewServer(newFlagOff([]byte("s3cret"), flags.URL+"/", "flags-token"))
	defer srv.Close()
	body := `{"action":"disable_flag","service":"checkout","flag":"new-cart","deploy":{"id":7,"flags":["new-cart","fast-pay"]}}`

	if code, _ := send(t, srv.URL, "forged", body); code != http.StatusUnauthorized {
		t.Errorf("forged signature: %d, want 401", code)
	}
	if got := fs.state(); !got["new-cart"] {
		t.Fatal("a forged call turned the flag off")
	}
	if code, out := send(t, srv.URL, "s3cret", body); code != http.StatusOK {
		t.Fatalf("disable: %d %s", code, out)
	}
	if got := fs.state(); got["new-cart"] || !got["fast-pay"] {
		t.Errorf("flags after disabling new-cart: %v", got)
	}
	// Firebreak's retry does it again, harmlessly.
	if code, _ := send(t, srv.URL, "s3cret", body); code != http.StatusOK {
		t.Errorf("retry: %d", code)
	}

	// The flag service's outage is retried (502); what will not get better is not (422).
	fs.setFail(true)
	if code, out := send(t, srv.URL, "s3cret", body); code != http.StatusBadGateway || !strings.Contains(out, "503") {
		t.Errorf("flag service down: %d %s", code, out)
	}
	fs.setFail(false)
	for _, c := range []struct{ body, why string }{
		{`{"action":"disable_flag","flag":"no-such-flag"}`, "unknown flag"},
		{`{"action":"rollback"}`, "another action"},
		{`{"action":"disable_flag","flag":""}`, "no flag"},
	} {
		if code, _ := send(t, srv.URL, "s3cret", c.body); code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", c.why, code)
		}
	}
	if got := fs.state(); !got["fast-pay"] {
		t.Errorf("fast-pay was turned off: %v", got)
	}
}
