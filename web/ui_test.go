package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"firebreak/accounts"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

type uiEnv struct {
	t   *testing.T
	srv *web.Server
	acc *accounts.Store
	inc *incidents.Manager
	db  *store.DB
}

func newUIEnv(t *testing.T, db *store.DB, o web.UIOptions) *uiEnv {
	t.Helper()
	acc := accounts.New(db, accounts.Options{BcryptCost: bcrypt.MinCost})
	m := incidents.NewManager(db, time.Now)
	srv := web.New(web.Deps{DB: db, Incidents: m, Auth: tokens.NewStore(db, time.Now), Sessions: acc, Accounts: acc, UI: o})
	for _, u := range []struct {
		name string
		role accounts.Role
	}{{"resp", accounts.Responder}, {"view", accounts.Viewer}} {
		if _, err := acc.Create(context.Background(), u.name, "password-1", u.role); err != nil {
			t.Fatal(err)
		}
	}
	return &uiEnv{t: t, srv: srv, acc: acc, inc: m, db: db}
}

// browser is a cookie jar over the fiber app.
type browser struct {
	e       *uiEnv
	cookies map[string]string
	header  http.Header
}

func (e *uiEnv) browser() *browser {
	return &browser{e: e, cookies: map[string]string{}, header: http.Header{}}
}

func (b *browser) do(method, path string, form url.Values) (int, string, *http.Response) {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.e.srv.App().Test(req, -1)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) csrf(page string) string {
	b.e.t.Helper()
	_, body, _ := b.do("GET", page, nil)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.e.t.Fatalf("no csrf field on %s: %s", page, body)
	}
	return m[1]
}

func (b *browser) login(user string) {
	b.e.t.Helper()
	code, body, resp := b.do("POST", "/login", url.Values{"csrf": {b.csrf("/login")}, "username": {user}, "password": {"password-1"}, "next": {"/incidents"}})
	if code != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents" {
		b.e.t.Fatalf("login %s: %d %s", user, code, body)
	}
}

func TestUILoginSessionCookieAndRedirects(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db, web.UIOptions{SecureCookies: true})
		b := e.browser()
		code, _, resp := b.do("GET", "/incidents", nil)
		if code != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Fatalf("without a session: %d %s", code, resp.Header.Get("Location"))
		}
		token := b.csrf("/login")
		code, wrong, _ := b.do("POST", "/login", url.Values{"csrf": {token}, "username": {"resp"}, "password": {"nope-nope"}})
		_, unknown, _ := b.do("POST", "/login", url.Values{"csrf": {token}, "username": {"ghost"}, "password": {"nope-nope"}})
		if code != http.StatusUnauthorized || !strings.Contains(wrong, "Wrong username or password") || !strings.Contains(unknown, "Wrong username or password") {
			t.Fatalf("wrong password %d", code)
		}
		_, _, resp = b.do("POST", "/login", url.Values{"csrf": {token}, "username": {"resp"}, "password": {"password-1"}, "next": {"//evil.example"}})
		if resp.Header.Get("Location") != "/incidents" {
			t.Fatalf("next=//evil.example went to %q", resp.Header.Get("Location"))
		}
		var sc *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == web.SessionCookie {
				sc = c
			}
		}
		if sc == nil || !sc.HttpOnly || !sc.Secure || sc.SameSite != http.SameSiteLaxMode {
			t.Fatalf("session cookie %+v", sc)
		}
		if code, _, resp := b.do("GET", "/", nil); code != http.StatusSeeOther || resp.Header.Get("Location") != "/incidents" {
			t.Fatalf("/ → %d %s", code, resp.Header.Get("Location"))
		}
		if code, body, _ := b.do("GET", "/incidents", nil); code != 200 || !strings.Contains(body, "<h1>Incidents</h1>") {
			t.Fatalf("/incidents: %d", code)
		}
		b.do("POST", "/logout", url.Values{"csrf": {b.csrf("/incidents")}})
		if code, _, _ := b.do("GET", "/incidents", nil); code != http.StatusSeeOther {
			t.Fatalf("after logout: %d", code)
		}
	})
}

func TestUIFormsWithoutCSRFAreRefusedAndChangeNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db, web.UIOptions{})
		inc, err := e.inc.Declare(context.Background(), "test", incidents.DeclareInput{Title: "db down", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.login("resp")
		path := "/incidents/" + itoa(int(inc.ID))
		for _, form := range []url.Values{{}, {"csrf": {"forged"}}} {
			if code, _, _ := b.do("POST", path+"/act/resolve", form); code != http.StatusForbidden {
				t.Fatalf("resolve with %v: %d, want 403", form, code)
			}
			if code, _, _ := b.do("POST", path+"/notes", url.Values{"text": {"x"}, "csrf": form["csrf"]}); code != http.StatusForbidden {
				t.Fatalf("note: %d", code)
			}
		}
		if got, _ := e.inc.Get(context.Background(), inc.ID); got.Status == incidents.Resolved {
			t.Fatal("a forged form resolved the incident")
		}
		tl, _ := e.inc.Timeline(context.Background(), inc.ID)
		if len(tl) != 1 {
			t.Fatalf("timeline grew to %d events", len(tl))
		}
		if code, _, _ := b.do("POST", "/login", url.Values{"username": {"resp"}, "password": {"password-1"}}); code != http.StatusForbidden {
			t.Fatalf("login without csrf: %d", code)
		}
		// With the token the same buttons work.
		token := b.csrf(path)
		if code, _, _ := b.do("POST", path+"/act/acknowledge", url.Values{"csrf": {token}}); code != http.StatusSeeOther {
			t.Fatalf("acknowledge: %d", code)
		}
		if code, _, _ := b.do("POST", path+"/notes", url.Values{"csrf": {token}, "text": {"looking"}, "visibility": {"internal"}}); code != http.StatusSeeOther {
			t.Fatalf("note: %d", code)
		}
		if got, _ := e.inc.Get(context.Background(), inc.ID); got.Status != incidents.Responding {
			t.Fatalf("status %s", got.Status)
		}
	})
}

func TestUIViewerGets403OnActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db, web.UIOptions{})
		inc, _ := e.inc.Declare(context.Background(), "test", incidents.DeclareInput{Title: "slow", Severity: "sev3"})
		b := e.browser()
		b.login("view")
		path := "/incidents/" + itoa(int(inc.ID))
		code, body, _ := b.do("GET", path, nil)
		if code != 200 || strings.Contains(body, "/act/acknowledge") {
			t.Fatalf("viewer page %d shows action buttons", code)
		}
		token := csrfField.FindStringSubmatch(body)[1]
		if code, _, _ := b.do("POST", path+"/act/acknowledge", url.Values{"csrf": {token}}); code != http.StatusForbidden {
			t.Fatalf("viewer acknowledge: %d", code)
		}
		if code, _, _ := b.do("GET", "/status", nil); code != http.StatusForbidden {
			t.Fatalf("viewer /status: %d", code)
		}
		if got, _ := e.inc.Get(context.Background(), inc.ID); got.Status != incidents.Observing {
			t.Fatal("viewer changed the incident")
		}
	})
}

func TestUIProxyAuthOnlyFromTrustedProxies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// app.Test connects from 0.0.0.0.
		trusted, _ := accounts.ParseTrustedProxies([]string{"0.0.0.0/32"})
		other, _ := accounts.ParseTrustedProxies([]string{"10.0.0.0/8"})
		for name, tc := range map[string]struct {
			tp   accounts.TrustedProxies
			user string
			want int
		}{
			"trusted":      {trusted, "resp", 200},
			"untrusted":    {other, "resp", http.StatusSeeOther},
			"unknown user": {trusted, "ghost", http.StatusSeeOther},
		} {
			e := newUIEnv(t, db, web.UIOptions{ProxyHeader: "X-Forwarded-User", TrustedProxies: tc.tp})
			b := e.browser()
			b.header.Set("X-Forwarded-User", tc.user)
			if code, _, _ := b.do("GET", "/incidents", nil); code != tc.want {
				t.Errorf("%s: %d, want %d", name, code, tc.want)
			}
			db.W.Exec(`DELETE FROM users`)
		}
	})
}

func TestUISessionsEndOnDisableAndSetPassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db, web.UIOptions{})
		a, v := e.browser(), e.browser()
		a.login("resp")
		v.login("view")
		if err := e.acc.Disable(context.Background(), "resp"); err != nil {
			t.Fatal(err)
		}
		if err := e.acc.SetPassword(context.Background(), "view", "password-2"); err != nil {
			t.Fatal(err)
		}
		for _, b := range []*browser{a, v} {
			if code, _, _ := b.do("GET", "/incidents", nil); code != http.StatusSeeOther {
				t.Fatalf("session survived: %d", code)
			}
		}
	})
}

func TestUIEscapesScriptsAndJavascriptURLs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newUIEnv(t, db, web.UIOptions{})
		inc, err := e.inc.Declare(context.Background(), "test", incidents.DeclareInput{Title: `<script>alert(1)</script>`, Severity: "sev1",
			Service: `"><img src=x onerror=alert(2)>`})
		if err != nil {
			t.Fatal(err)
		}
		e.inc.AddNote(context.Background(), inc.ID, "test", `<script>alert(3)</script> javascript:alert(4)`, false)
		b := e.browser()
		b.login("resp")
		for _, p := range []string{"/incidents", "/incidents/" + itoa(int(inc.ID))} {
			_, body, _ := b.do("GET", p, nil)
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, `href="javascript:`) {
				t.Fatalf("%s renders a payload unescaped:\n%s", p, body)
			}
			if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
				t.Fatalf("%s does not show the title escaped", p)
			}
		}
	})
}
