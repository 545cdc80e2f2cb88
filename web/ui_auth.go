package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"firebreak/accounts"
	"firebreak/tokens"
)

// Accounts logs people in and out of the web UI.
type Accounts interface {
	SessionAuthenticator
	// Login checks a password and starts a session, returning the cookie's value.
	Login(ctx context.Context, username, password, addr string) (string, accounts.User, error)
	// Logout ends a session.
	Logout(ctx context.Context, id string) error
	// Principal finds an enabled user by name, for proxy authentication.
	Principal(ctx context.Context, username string) (tokens.Principal, bool, error)
}

// UIOptions configure the web UI.
type UIOptions struct {
	// SecureCookies marks cookies Secure: public_url is https.
	SecureCookies bool
	// ProxyHeader names the header a login proxy puts the username in; "" disables it.
	ProxyHeader string
	// TrustedProxies are the peers whose ProxyHeader is believed.
	TrustedProxies accounts.TrustedProxies
}

// csrfCookie carries the token of the forms shown before a session exists (the login form)
// or without one (behind a login proxy): the form's hidden field must repeat it, which a
// page on another site cannot read.
const csrfCookie = "firebreak_csrf"

const (
	localsCSRF  = "firebreak.csrf"
	localsProxy = "firebreak.proxy"
)

// proxyPrincipal returns the person a trusted login proxy names; ok is false when proxy
// auth is off, the peer is not trusted, or the header is empty or names nobody enabled.
func (s *Server) proxyPrincipal(c *fiber.Ctx) (tokens.Principal, bool, error) {
	o := s.deps.UI
	if o.ProxyHeader == "" || !o.TrustedProxies.Trusts(c.Context().RemoteIP().String()) {
		return tokens.Principal{}, false, nil
	}
	name := strings.TrimSpace(c.Get(o.ProxyHeader))
	if name == "" {
		return tokens.Principal{}, false, nil
	}
	return s.deps.Accounts.Principal(c.UserContext(), name)
}

// csrfToken is the token the forms of this response carry. With a session it is derived
// from the session id (not guessable without the cookie, and it dies with the session);
// otherwise it is the value of the csrf cookie, set here when missing.
func (s *Server) csrfToken(c *fiber.Ctx) string {
	if t, ok := c.Locals(localsCSRF).(string); ok {
		return t
	}
	var t string
	if id := c.Cookies(SessionCookie); id != "" && c.Locals(localsProxy) == nil {
		t = sessionCSRF(id)
	} else if v := c.Cookies(csrfCookie); len(v) >= 32 {
		t = v
	} else {
		t = randomToken()
		s.setCookie(c, csrfCookie, t, 0)
	}
	c.Locals(localsCSRF, t)
	return t
}

func sessionCSRF(sessionID string) string {
	sum := sha256.Sum256([]byte("firebreak csrf\x00" + sessionID))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) setCookie(c *fiber.Ctx, name, value string, maxAge int) {
	c.Cookie(&fiber.Cookie{Name: name, Value: value, Path: "/", HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: s.deps.UI.SecureCookies, MaxAge: maxAge})
}

// formValues parses the urlencoded body of a form.
func formValues(c *fiber.Ctx) url.Values {
	v, _ := url.ParseQuery(string(bodyOf(c)))
	return v
}

// checkCSRF refuses a form whose hidden csrf field does not match, before its handler runs:
// 403 and nothing changed.
func (s *Server) checkCSRF(c *fiber.Ctx) error {
	got := formValues(c).Get("csrf")
	want := s.csrfToken(c)
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return s.renderError(c, fiber.NewError(http.StatusForbidden, "The form was stale or came from another site (CSRF check failed). Reload the page and try again."))
	}
	return c.Next()
}

// localPath keeps next= to a path on this site, so the login form cannot send people away.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/incidents"
	}
	return next
}

func (s *Server) loginForm(c *fiber.Ctx) error {
	return s.render(c, http.StatusOK, "login", "Log in", "", map[string]any{"Next": localPath(c.Query("next")), "Username": ""})
}

func (s *Server) login(c *fiber.Ctx) error {
	f := formValues(c)
	username, next := strings.TrimSpace(f.Get("username")), localPath(f.Get("next"))
	id, _, err := s.deps.Accounts.Login(c.UserContext(), username, f.Get("password"), c.IP())
	if err != nil {
		code, msg := http.StatusUnauthorized, "Wrong username or password."
		switch {
		case errors.Is(err, accounts.ErrRateLimited):
			code, msg = http.StatusTooManyRequests, "Too many failed logins; wait a few minutes and try again."
		case !errors.Is(err, accounts.ErrBadCredentials):
			return s.renderError(c, err)
		}
		return s.render(c, code, "login", "Log in", "", map[string]any{"Next": next, "Username": username, "Error": msg})
	}
	s.setCookie(c, SessionCookie, id, 0)
	return c.Redirect(next, http.StatusSeeOther)
}

func (s *Server) logout(c *fiber.Ctx) error {
	if id := c.Cookies(SessionCookie); id != "" {
		if err := s.deps.Accounts.Logout(c.UserContext(), id); err != nil {
			return s.renderError(c, err)
		}
	}
	s.setCookie(c, SessionCookie, "", -1)
	c.Cookie(&fiber.Cookie{Name: SessionCookie, Value: "", Path: "/", Expires: time.Unix(1, 0), HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode, Secure: s.deps.UI.SecureCookies})
	return c.Redirect("/login", http.StatusSeeOther)
}
