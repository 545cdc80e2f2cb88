package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"firebreak/accounts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
	"firebreak/tokens"
	"firebreak/web"
)

// newRemedyUIEnv is the UI with deploys and remedies wired as serve wires them: checkout
// has abort_canary, disable_flag and restart_pods on confirm and drain switched off.
func newRemedyUIEnv(t *testing.T, db *store.DB) (*uiEnv, *deploys.Tracker, *deploys.Rollbacks) {
	t.Helper()
	acc := accounts.New(db, accounts.Options{BcryptCost: bcrypt.MinCost})
	m := incidents.NewManager(db, time.Now)
	ob := outbox.New(db, outbox.Options{})
	hook := func(policy string) deploys.Hook {
		return deploys.Hook{Policy: policy, MinSeverity: incidents.Sev2, Command: []string{"true"}, Timeout: 5 * time.Second}
	}
	actions := map[string]map[string]deploys.Hook{"checkout": {deploys.ActionAbortCanary: hook(deploys.PolicyConfirm),
		deploys.ActionDisableFlag: hook(deploys.PolicyConfirm), "restart_pods": hook(deploys.PolicyConfirm), "drain": hook(deploys.PolicyOff)}}
	rb := deploys.NewRemedies(db, m, ob, map[string]deploys.Hook{"checkout": hook(deploys.PolicyConfirm)}, actions, "http://firebreak.test")
	tr := deploys.NewTracker(db, m, 30*time.Minute, rb)
	m.OnChange(tr.OnIncidentChange)
	srv := web.New(web.Deps{DB: db, Incidents: m, Deploys: tr, Rollbacks: rb, Auth: tokens.NewStore(db, time.Now),
		Sessions: acc, Accounts: acc, MaxBodyBytes: 64 << 10})
	for _, u := range []struct {
		name string
		role accounts.Role
	}{{"resp", accounts.Responder}, {"view", accounts.Viewer}} {
		if _, err := acc.Create(context.Background(), u.name, "password-1", u.role); err != nil {
			t.Fatal(err)
		}
	}
	return &uiEnv{t: t, srv: srv, acc: acc, inc: m, db: db}, tr, rb
}

// TestUIOffersTheRemediesASuspectAllows: under a canary still rolling out, the incident
// page offers abort_canary, disable_flag of each declared flag and the named actions that
// are not off, each behind a confirm page whose form asks for the remedy as the API does.
func TestUIOffersTheRemediesASuspectAllows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, tr, rb := newRemedyUIEnv(t, db)
		ctx := context.Background()
		d, err := tr.Record(ctx, deploys.Input{Service: "checkout", Environment: "prod", Version: "2.0.0", Strategy: "canary",
			State: "in_progress", Flags: []string{"new-cart", "fast-pay"}})
		if err != nil {
			t.Fatal(err)
		}
		inc, err := e.inc.Declare(ctx, "test", incidents.DeclareInput{Title: "cart errors", Severity: "sev2", Service: "checkout", Environment: "prod"})
		if err != nil {
			t.Fatal(err)
		}
		path := "/incidents/" + itoa(int(inc.ID))
		b := e.browser()
		b.login("resp")
		code, page, _ := b.do("GET", path, nil)
		if code != 200 {
			t.Fatalf("incident page: %d", code)
		}
		page = html.UnescapeString(page)
		for _, want := range []string{`action="` + path + `/remedies/abort_canary"`, `action="` + path + `/remedies/restart_pods"`,
			`name="flag" value="new-cart"`, `name="flag" value="fast-pay"`, "Abort canary…", "Disable flag new-cart…", "restart_pods…"} {
			if !strings.Contains(page, want) {
				t.Errorf("incident page lacks %s", want)
			}
		}
		if strings.Contains(page, "/remedies/drain") {
			t.Error("incident page offers drain, whose policy is off")
		}

		// The button leads to a confirm page; nothing is asked for until its form is posted.
		confirm := path + "/remedies/disable_flag?deploy=" + itoa(int(d.ID)) + "&flag=fast-pay"
		code, body, _ := b.do("GET", confirm, nil)
		if code != 200 || !strings.Contains(body, "Disable flag fast-pay of checkout 2.0.0?") {
			t.Fatalf("confirm page: %d %s", code, body)
		}
		if list, _ := rb.ForIncident(ctx, inc.ID); len(list) != 0 {
			t.Fatalf("the confirm page asked for %v", list)
		}
		form := url.Values{"deploy": {itoa(int(d.ID))}, "flag": {"fast-pay"}, "note": {"checkout errors"}}
		for _, forged := range []url.Values{{}, {"csrf": {"forged"}}} {
			f := url.Values{"deploy": form["deploy"], "flag": form["flag"], "csrf": forged["csrf"]}
			if code, _, _ := b.do("POST", path+"/remedies/disable_flag", f); code != http.StatusForbidden {
				t.Errorf("post without a valid csrf (%v): %d, want 403", forged, code)
			}
		}
		form.Set("csrf", csrfField.FindStringSubmatch(body)[1])
		code, _, resp := b.do("POST", path+"/remedies/disable_flag", form)
		if code != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), path+"?flash=") {
			t.Fatalf("post: %d %s", code, resp.Header.Get("Location"))
		}
		list, err := rb.ForIncident(ctx, inc.ID)
		if err != nil || len(list) != 1 || list[0].Action != "disable_flag" || list[0].Flag != "fast-pay" ||
			list[0].DeployID != d.ID || list[0].RequestedBy != "resp" {
			t.Fatalf("remedies on record: %+v %v", list, err)
		}

		// The domain refuses what the API refuses: a flag the deploy did not declare, an
		// action that is off, the same remedy twice.
		for _, c := range []struct {
			action, flag string
			want         int
		}{{"disable_flag", "old-cart", 400}, {"drain", "", 409}, {"disable_flag", "fast-pay", 409}, {"no_such", "", 404}} {
			f := url.Values{"csrf": form["csrf"], "deploy": form["deploy"], "flag": {c.flag}}
			if code, _, _ := b.do("POST", path+"/remedies/"+c.action, f); code != c.want {
				t.Errorf("%s %s: %d, want %d", c.action, c.flag, code, c.want)
			}
		}
		if list, _ := rb.ForIncident(ctx, inc.ID); len(list) != 1 {
			t.Errorf("refused remedies were recorded: %+v", list)
		}
		if code, _, _ := b.do("POST", path+"/remedies/abort_canary", url.Values{"csrf": form["csrf"], "deploy": form["deploy"]}); code != http.StatusSeeOther {
			t.Errorf("abort_canary: %d", code)
		}

		// A viewer sees no remedy buttons and is refused both the confirm page and the post.
		v := e.browser()
		v.login("view")
		_, vpage, _ := v.do("GET", path, nil)
		if strings.Contains(vpage, "/remedies/") {
			t.Error("viewer's incident page offers remedies")
		}
		token := csrfField.FindStringSubmatch(vpage)[1]
		if code, _, _ := v.do("GET", confirm, nil); code != http.StatusForbidden {
			t.Errorf("viewer confirm page: %d, want 403", code)
		}
		if code, _, _ := v.do("POST", path+"/remedies/restart_pods", url.Values{"csrf": {token}, "deploy": form["deploy"]}); code != http.StatusForbidden {
			t.Errorf("viewer post: %d, want 403", code)
		}
		if list, _ := rb.ForIncident(ctx, inc.ID); len(list) != 2 {
			t.Errorf("remedies after the viewer: %+v, want 2", list)
		}
	})
}

// TestUIOffersNoCanaryAbortOnceARolloutIsPromoted: abort_canary is for a rollout under
// way; a promoted deploy's page offers only its flags and named actions.
func TestUIOffersNoCanaryAbortOnceARolloutIsPromoted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, tr, _ := newRemedyUIEnv(t, db)
		ctx := context.Background()
		if _, err := tr.Record(ctx, deploys.Input{Service: "checkout", Environment: "prod", Version: "2.0.0"}); err != nil {
			t.Fatal(err)
		}
		inc, err := e.inc.Declare(ctx, "test", incidents.DeclareInput{Title: "cart errors", Severity: "sev2", Service: "checkout", Environment: "prod"})
		if err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		b.login("resp")
		_, page, _ := b.do("GET", "/incidents/"+itoa(int(inc.ID)), nil)
		if !strings.Contains(page, "/remedies/restart_pods") || !strings.Contains(page, "/rollback?deploy=") {
			t.Errorf("page lacks restart_pods or rollback")
		}
		if strings.Contains(page, "abort_canary") || strings.Contains(page, "disable_flag") {
			t.Errorf("promoted deploy without flags offers abort_canary or disable_flag")
		}
	})
}

// The deploys page is the release view: what runs in each service and environment (after a
// rollback, the version rolled back to) with the deploys that led there.
func TestUIDeploysPageShowsTheReleaseView(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e, tr, _ := newRemedyUIEnv(t, db)
		ctx := context.Background()
		for _, v := range []string{"1.0.0", "1.1.0"} {
			if _, err := tr.Record(ctx, deploys.Input{Service: "checkout", Environment: "prod", Version: v, PreviousVersion: "0.9.0"}); err != nil {
				t.Fatal(err)
			}
		}
		b := e.browser()
		b.login("resp")
		code, page, _ := b.do("GET", "/deploys", nil)
		if code != 200 || !strings.Contains(page, "Running now") {
			t.Fatalf("/deploys: %d", code)
		}
		now := page[strings.Index(page, "Running now"):]
		now = now[:strings.Index(now, "</table>")]
		if !strings.Contains(now, "<td>checkout</td><td>prod</td><td>1.1.0</td><td>promoted</td>") || !strings.Contains(now, "1.0.0: promoted") {
			t.Errorf("release view on the page:\n%s", now)
		}
	})
}
