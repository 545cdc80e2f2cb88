package statuspage

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"firebreak/internal/testkit"
)

// chromium runs headless Chromium with args and returns its stdout.
func chromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--no-first-run", "--user-data-dir=" + t.TempDir()}
	out, err := exec.CommandContext(ctx, bin, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return string(out)
}

// A real browser loads the page: components and the incident are there, and markup in
// the title and an incident's name stayed text (had it run, the document's title would be
// "pwned").
func TestPageInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (Debian package chromium)")
	}
	ls := startServer(t, t.TempDir(), testkit.NewClock(fixtureTime))
	s := fixture(t)
	s.Page.Name = "Example Status " + injected
	s.Incidents[1].Name = "Checkout errors " + injected
	if code, body := ls.push(mustJSON(t, s)); code != 200 {
		t.Fatalf("push: %d %s", code, body)
	}

	dom := chromium(t, bin, "--dump-dom", ls.base+"/")
	title := regexp.MustCompile(`<title>([^<]*)</title>`).FindStringSubmatch(dom)
	if title == nil || !strings.HasPrefix(title[1], `Example Status &lt;script&gt;document.title="pwned"&lt;/script&gt;`) {
		t.Errorf("document title is %q: the injected script ran or the title is missing", title)
	}
	if strings.Contains(dom, "<script") || strings.Contains(dom, "<img") {
		t.Error("the DOM holds a script or img element that came from the snapshot")
	}
	for _, want := range []string{
		"Partial System Outage", `<span class="name">API</span>`, `<h3 class="name">Shop</h3>`,
		`<span class="name">Checkout</span>`, `<span class="name">Cart</span>`,
		`Checkout errors &lt;script&gt;`, "The issue has been identified and a fix is being implemented.",
		"Database upgrade", "99.94 % uptime",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}

	// Screenshots to look at: a desktop window and a phone.
	dir, err := os.MkdirTemp("", "firebreak-statuspage-shots-")
	if err != nil {
		t.Fatal(err)
	}
	for name, size := range map[string]string{"desktop.png": "1200,900", "phone.png": "390,844"} {
		file := filepath.Join(dir, name)
		chromium(t, bin, "--screenshot="+file, "--window-size="+size, "--hide-scrollbars", ls.base+"/")
		if st, err := os.Stat(file); err != nil || st.Size() == 0 {
			t.Fatalf("no screenshot %s: %v", file, err)
		}
		t.Logf("screenshot: %s", file)
	}
}
