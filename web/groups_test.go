package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/slack-go/slack"

	"firebreak/tokens"
)

// slackSecret verifies with slack-go's SecretsVerifier, as the Slack integration will.
type slackSecret string

func (s slackSecret) VerifySlack(h http.Header, body []byte) error {
	v, err := slack.NewSecretsVerifier(h, string(s))
	if err != nil {
		return err
	}
	if _, err := v.Write(body); err != nil {
		return err
	}
	return v.Ensure()
}

func signSlack(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func send(t *testing.T, app *fiber.App, req *http.Request) (int, string, http.Header) {
	t.Helper()
	resp, err := app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp.Header
}

// TestSlackGroupChecksTheSignature: every route of the /slack group sees only requests
// Slack signed, and sees their body; without a verifier the group is left out.
func TestSlackGroupChecksTheSignature(t *testing.T) {
	s := New(Deps{Slack: slackSecret("8f742231b10e8888abcd99yyyzzz85a5")})
	s.groups().slack.post("/commands", 4096, nil, func(c *fiber.Ctx) error {
		return c.SendString("got " + string(c.Body()))
	})
	body := "command=%2Fincident&text=list"
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	for _, c := range []struct {
		name, sig string
		want      int
	}{
		{"signed", signSlack("8f742231b10e8888abcd99yyyzzz85a5", ts, []byte(body)), 200},
		{"signed with another secret", signSlack("not-the-secret", ts, []byte(body)), 401},
		{"unsigned", "", 401},
	} {
		req := httptest.NewRequest("POST", "/slack/commands", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(headerSlackTimestamp, ts)
		if c.sig != "" {
			req.Header.Set(headerSlackSignature, c.sig)
		}
		code, got, _ := send(t, s.App(), req)
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, got, c.want)
		}
		if code == 200 && got != "got "+body {
			t.Errorf("%s: the handler saw %q", c.name, got)
		}
		if code == 401 && !strings.Contains(got, `"error"`) {
			t.Errorf("%s: %s is not {\"error\": ...}", c.name, got)
		}
	}
	if g := New(Deps{}).groups(); g.slack != nil {
		t.Error("without a SlackVerifier there is a /slack group")
	}
}

// sessionsOf is a SessionAuthenticator over a fixed set of sessions.
type sessionsOf map[string]tokens.Principal

func (m sessionsOf) Session(_ context.Context, id string) (tokens.Principal, bool, error) {
	p, ok := m[id]
	return p, ok, nil
}

// TestPagesNeedASession: a web UI page is shown with a live session and sends a browser
// without one to /login; without session auth wired the pages are left out.
func TestPagesNeedSessionsAndAccounts(t *testing.T) {
	// The pages check sessions and, on every form, a CSRF token tied to the account's
	// session: without either there is no pages group at all. Logging in, redirects to
	// /login and sessions ending are told by the UI tests (ui_test.go).
	if g := New(Deps{}).groups(); g.pages != nil {
		t.Error("without session auth there is a pages group")
	}
	if g := New(Deps{Sessions: sessionsOf{"s3cret": {Name: "carol", Scopes: tokens.Scopes{tokens.Read}}}}).groups(); g.pages != nil {
		t.Error("without accounts (for CSRF) there is a pages group")
	}
}

// TestFiberKeepsStringsImmutable: fiber reuses request buffers; without Immutable a string
// taken from a request changes under whoever kept it.
func TestFiberKeepsStringsImmutable(t *testing.T) {
	if !New(Deps{}).App().Config().Immutable {
		t.Fatal("fiber runs without Immutable: true")
	}
}
