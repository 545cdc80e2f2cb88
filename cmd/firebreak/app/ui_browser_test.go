package app_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"firebreak/accounts"
	"firebreak/config"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// axePath is axe-core, injected into every page to check accessibility.
var axePath = filepath.Join("..", "..", "..", "web", "ui", "testdata", "axe.min.js")

// The payloads: each would set window.__xss if the page ran it.
const (
	xssSummary   = `<script>window.__xss='summary'</script><img src=x onerror="window.__xss='summary-img'">`
	xssGenerator = `javascript:window.__xss='generator'`
	xssNote      = `<img src=x onerror="window.__xss='note'"> looking at the pool`
)

// tab is a headless Chromium tab on a running App.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string
	axe  string
	// shots is where the page screenshots go.
	shots string
}

// newTab starts headless Chromium for the test; the test is skipped only when Chromium is
// not installed.
func newTab(t *testing.T, base string) *tab {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no browser at %s (Debian package chromium): %v", chromiumPath, err)
	}
	axe, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.NoSandbox, chromedp.ExecPath(chromiumPath),
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser with the context that lives for the test (a timeout on the first
	// Run would stop the browser when it ends).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	shots := os.Getenv("FIREBREAK_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if shots, err = filepath.Abs(filepath.Join(shots, strings.ReplaceAll(t.Name(), "/", "_"))); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return &tab{t: t, ctx: ctx, base: base, axe: string(axe), shots: shots}
}

// do runs steps with a bound on how long they may take.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func run[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open loads path and waits for its main element.
func (b *tab) open(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.CSS("main")))
}

// submit clicks a form's button and waits for the page the form leads to.
func (b *tab) submit(button string) {
	b.t.Helper()
	run(b, "submit "+button, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(button))))
	b.do("wait for the page after "+button, chromedp.WaitVisible(chromedp.CSS("main")))
}

// text is the visible text of the first element sel matches.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return run(b, "text of "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// noXSS fails unless the page ran none of the payloads and holds none of them as elements:
// the Content-Security-Policy would block an inline script anyway, so the DOM is checked too,
// in case escaping breaks behind it.
func (b *tab) noXSS(where string) {
	b.t.Helper()
	if set := run(b, "read window.__xss", chromedp.Evaluate[bool](`window.__xss !== undefined`)); set {
		b.t.Fatalf("%s: a payload ran: window.__xss = %v", where, run(b, "", chromedp.Evaluate[string](`String(window.__xss)`)))
	}
	bad := run(b, "look for payload elements", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(
		'script:not([src]), img[src="x"], [onerror], a[href^="javascript:" i]')).map(e => e.outerHTML)`))
	if len(bad) > 0 {
		b.t.Fatalf("%s: payloads became elements: %v", where, bad)
	}
}

// axeViolation is one failed axe-core rule.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// accessible runs axe-core on the page and fails on serious or critical violations.
func (b *tab) accessible(where string) {
	b.t.Helper()
	run(b, "inject axe-core", chromedp.Evaluate[bool](b.axe+"\n;true"))
	// iframes: false: the postmortem preview is a sandboxed frame without scripts, where axe
	// cannot run; its HTML is the Markdown renderer's, checked by its own tests.
	vs := run(b, "run axe-core on "+where, chromedp.Evaluate[[]axeViolation](`axe.run(document, {iframes: false, resultTypes: ['violations']}).then(r =>
		r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
			id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})))`, chromedp.EvalAwaitPromise))
	for _, v := range vs {
		b.t.Errorf("%s: axe %s (%s): %s\n  %s", where, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
	}
}

// screenshot saves the whole page as name.png.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	png := run(b, "screenshot "+name, chromedp.FullScreenshot(100))
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot of %s: %s", name, path)
}

// check runs the checks every page gets: no payload ran, no serious accessibility
// violation, and a screenshot.
func (b *tab) check(name string) {
	b.t.Helper()
	b.noXSS(name)
	b.accessible(name)
	b.screenshot(name)
}

// alertWebhook is an Alertmanager webhook of one firing alert.
func alertWebhook(alertname, service, summary, generatorURL string) string {
	return fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"%s\"}","status":"firing","receiver":"firebreak",
		"groupLabels":{"alertname":%q},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager",
		"alerts":[{"status":"firing","labels":{"alertname":%q,"service":%q,"env":"production","severity":"critical","instance":"db-1"},
		"annotations":{"summary":%q},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":%q,"fingerprint":"%x"}]}`,
		alertname, alertname, alertname, service, summary, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), generatorURL,
		time.Now().UnixNano())
}

// newestIncidentID is the id of the newest incident, through the API.
func newestIncidentID(t *testing.T, fb *running) int64 {
	t.Helper()
	code, body := fb.api.call("GET", "/api/v1/incidents?limit=1", "")
	items, _ := body["incidents"].([]any)
	if code != http.StatusOK || len(items) == 0 {
		t.Fatalf("list incidents: %d %v", code, body)
	}
	return int64(items[0].(map[string]any)["id"].(float64))
}

// TestUIInABrowser is the web UI's story in headless Chromium against a real platform: an
// admin logs in, sees the incident an Alertmanager webhook opened, acknowledges it, adds a
// note and resolves it, and sees those on the timeline; the incident list gains a new
// incident live; no payload in an alert's summary, its generator URL or a note runs; every
// page passes axe-core without serious or critical violations; every page is screenshot.
func TestUIInABrowser(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		cfg.Statuspage = &config.Statuspage{Title: "Acme Status", MinSeverity: "sev2",
			Components: []config.Component{{Name: "Checkout", Group: "Shop", Services: []string{"checkout"}, Automatic: true}}}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		fb := startApp(t, cfg)
		ctx := context.Background()
		if _, err := fb.app.Accounts.Create(ctx, "alice", "password-1", accounts.Admin); err != nil {
			t.Fatal(err)
		}
		if code, body := fb.api.call("POST", "/api/v1/deploys", `{"service":"checkout","environment":"production","version":"v42"}`); code != http.StatusCreated {
			t.Fatalf("record deploy: %d %v", code, body)
		}
		if code, body := fb.api.call("POST", "/api/v1/alerts/alertmanager", alertWebhook("CheckoutDown", "checkout", xssSummary, xssGenerator)); code >= 300 {
			t.Fatalf("alert webhook: %d %v", code, body)
		}
		id := newestIncidentID(t, fb)
		incPath := "/incidents/" + strconv.FormatInt(id, 10)

		b := newTab(t, fb.api.base)
		b.open("/incidents")
		if !strings.HasPrefix(run(b, "location", chromedp.Location()), fb.api.base+"/login") {
			t.Fatal("/incidents without a session did not lead to the login form")
		}
		b.check("login")
		b.do("fill in the login form",
			chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "password-1"))
		b.submit(`form[action="/login"] button[type=submit]`)
		if got := b.text(`#incident-list tr[data-id="` + strconv.FormatInt(id, 10) + `"]`); !strings.Contains(got, "CheckoutDown on checkout") ||
			!strings.Contains(got, "<script>window.__xss='summary'</script>") {
			t.Fatalf("the list's row for #%d: %q", id, got)
		}
		b.check("incidents")

		b.open(incPath)
		if got := b.text("h1"); !strings.Contains(got, "<script>") {
			t.Fatalf("the incident's heading does not show the summary as text: %q", got)
		}
		if got := b.text("#alerts-h + p + table tbody"); !strings.Contains(got, xssGenerator) {
			t.Fatalf("the alert's javascript: generator URL is not shown as text: %q", got)
		}
		b.noXSS("incident before acting")
		b.submit(`button[value="acknowledge"]`)
		if got := b.text(".flash"); got != "Done: acknowledge." {
			t.Fatalf("flash after acknowledge: %q", got)
		}
		b.do("write a note", chromedp.SendKeys(chromedp.ID("note-text"), xssNote))
		b.submit(`form.note button[type=submit]`)
		b.noXSS("incident after the note")
		b.submit(`button[value="resolve"]`)
		tl := b.text("#timeline")
		for _, want := range []string{"acknowledged", "note " + xssNote + " — alice", "resolved"} {
			if !strings.Contains(tl, want) {
				t.Errorf("timeline lacks %q:\n%s", want, tl)
			}
		}
		if got := b.text(".notes"); !strings.Contains(got, xssNote) {
			t.Errorf("notes: %q", got)
		}
		b.check("incident")

		b.open(incPath + "/postmortem")
		b.check("postmortem")
		b.open("/deploys")
		if got := b.text("main"); !strings.Contains(got, "v42") {
			t.Errorf("deploys page lacks the deploy: %q", got)
		}
		b.check("deploys")
		b.open("/reports/mttr")
		b.check("mttr")
		b.open("/status")
		if got := b.text("main"); !strings.Contains(got, "Checkout") {
			t.Errorf("status page lacks the component: %q", got)
		}
		b.check("status")

		// The list gains a new incident live: the row arrives over the stream (class new),
		// the page is not reloaded.
		b.open("/incidents")
		run(b, "mark the page", chromedp.Evaluate[bool](`window.__samePage = true`))
		if code, body := fb.api.call("POST", "/api/v1/alerts/alertmanager", alertWebhook("PaymentsSlow", "payments", `<img src=x onerror="window.__xss='live'">`, "")); code >= 300 {
			t.Fatalf("second alert webhook: %d %v", code, body)
		}
		live := newestIncidentID(t, fb)
		run(b, "wait for the live row", chromedp.Poll[bool](`document.querySelector('#incident-list tbody tr.new[data-id="`+strconv.FormatInt(live, 10)+`"]') !== null`,
			chromedp.WithPollingTimeout(45*time.Second)))
		if !run(b, "same page", chromedp.Evaluate[bool](`window.__samePage === true`)) {
			t.Fatal("the page reloaded instead of gaining the row live")
		}
		if got := b.text(`#incident-list tbody tr:first-child`); !strings.Contains(got, "PaymentsSlow on payments") {
			t.Fatalf("the live row is not first: %q", got)
		}
		b.noXSS("incidents after the live row")
		b.screenshot("incidents-live")
	})
}
