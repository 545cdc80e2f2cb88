package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"firebreak/incidents"
	"firebreak/tokens"
	"firebreak/web/ui"
)

// me is who is looking at a page, as the templates need it.
type me struct {
	Name     string
	Role     string
	CanWrite bool
	Admin    bool
}

// pageData is what every page template gets; Page holds the page's own fields.
type pageData struct {
	Title string
	Nav   string
	Me    me
	CSRF  string
	Flash string
	Page  any
}

var (
	pageTemplatesOnce sync.Once
	pageTemplates     map[string]*template.Template
)

// templateFuncs are the helpers the templates use. None of them returns template.HTML:
// everything a template prints is escaped by html/template.
var templateFuncs = template.FuncMap{
	"iso": func(t any) string {
		if tt, ok := asTime(t); ok {
			return tt.UTC().Format(time.RFC3339)
		}
		return ""
	},
	"human": func(t any) string {
		if tt, ok := asTime(t); ok {
			return tt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		return "—"
	},
	"title": func(a incidents.Action) string {
		s := string(a)
		return strings.ToUpper(s[:1]) + s[1:]
	},
	"safeURL": safeURL,
	"minutes": func(m incidents.Measure) string {
		if m.P50Seconds == nil {
			return "—"
		}
		p90 := "—"
		if m.P90Seconds != nil {
			p90 = fmt.Sprintf("%.1f", *m.P90Seconds/60)
		}
		return fmt.Sprintf("%.1f / %s", *m.P50Seconds/60, p90)
	},
}

func asTime(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t != nil {
			return *t, true
		}
	}
	return time.Time{}, false
}

// safeURL reports whether a URL from an alert or a deploy may be a link: http or https
// only, so javascript: and data: URLs are shown as text, never linked.
func safeURL(raw string) bool {
	u, err := url.Parse(strings.TrimSpace(raw))
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// templates parses layout.html with each page once.
func templates() map[string]*template.Template {
	pageTemplatesOnce.Do(func() {
		layout := template.Must(template.New("layout.html").Funcs(templateFuncs).ParseFS(ui.Templates, "templates/layout.html"))
		names, err := fs.Glob(ui.Templates, "templates/*.html")
		if err != nil {
			panic(err)
		}
		pageTemplates = map[string]*template.Template{}
		for _, n := range names {
			name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
			if name == "layout" {
				continue
			}
			pageTemplates[name] = template.Must(template.Must(layout.Clone()).ParseFS(ui.Templates, n))
		}
	})
	return pageTemplates
}

// render writes page name with the layout around it.
func (s *Server) render(c *fiber.Ctx, code int, name, title, nav string, page any) error {
	d := pageData{Title: title, Nav: nav, Me: meOf(principal(c)), CSRF: s.csrfToken(c), Flash: c.Query("flash"), Page: page}
	var buf bytes.Buffer
	if err := templates()[name].ExecuteTemplate(&buf, "layout", flatten(d)); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "same-origin")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(code).Send(buf.Bytes())
}

// flatten merges the common fields with the page's, so templates say .Title and .Inc alike.
func flatten(d pageData) map[string]any {
	m := map[string]any{"Title": d.Title, "Nav": d.Nav, "Me": d.Me, "CSRF": d.CSRF, "Flash": d.Flash}
	if pm, ok := d.Page.(map[string]any); ok {
		for k, v := range pm {
			m[k] = v
		}
	}
	return m
}

func meOf(p tokens.Principal) me {
	m := me{Name: p.Name, CanWrite: p.Scopes.Allows(tokens.IncidentsWrite), Admin: p.Scopes.Allows(tokens.Admin)}
	switch {
	case m.Admin:
		m.Role = "admin"
	case m.CanWrite:
		m.Role = "responder"
	default:
		m.Role = "viewer"
	}
	return m
}

// page wraps a page handler so its errors become HTML pages, not JSON.
func (s *Server) page(h fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := h(c)
		if err == nil {
			return nil
		}
		return s.renderError(c, err)
	}
}

func (s *Server) renderError(c *fiber.Ctx, err error) error {
	code := statusOf(err)
	msg := err.Error()
	var fe *fiber.Error
	if errors.As(err, &fe) {
		msg = fe.Message
	}
	if code >= 500 {
		s.log.Error("page failed", "path", c.Path(), "err", err)
		msg = "Something went wrong on our side; see the server log."
		if code == http.StatusServiceUnavailable {
			msg = "The database is unavailable right now; retry in a moment."
		}
	}
	return s.render(c, code, "error", http.StatusText(code), "", map[string]any{
		"Code": code, "Heading": http.StatusText(code), "Message": msg})
}

// requirePage refuses a page action with an HTML 403 unless the person's role allows scope.
func (s *Server) requirePage(scope tokens.Scope) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !principal(c).Scopes.Allows(scope) {
			return s.renderError(c, fiber.NewError(http.StatusForbidden, "Your role may not do this."))
		}
		return c.Next()
	}
}
