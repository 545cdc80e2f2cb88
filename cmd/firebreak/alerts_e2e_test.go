package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/config/common"
	"github.com/prometheus/alertmanager/notify"
	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/alertmanager/types"
	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
)

// TestAlertmanagerWebhookEndToEnd drives a real `firebreak serve` with Alertmanager's own
// webhook notifier, configured the way an operator would: basic auth with a token that may
// only write alerts. The story follows one alert group from its first notification to a
// flap that reopens the incident it had resolved.
func TestAlertmanagerWebhookEndToEnd(t *testing.T) {
	dir := t.TempDir()
	fb := startServe(t, dir)
	admin := fb.token
	amToken := createToken(t, dir, sqlitePath(dir), "alertmanager", "alerts:write")

	// The token Alertmanager holds writes alerts and reads nothing.
	if code, body := fb.call("GET", "/api/v1/incidents", amToken, ""); code != http.StatusForbidden {
		t.Fatalf("GET incidents with the alerts:write token: %d %v, want 403", code, body)
	}

	am := newAlertmanager(t, fb.base, &commoncfg.HTTPClientConfig{
		BasicAuth: &commoncfg.BasicAuth{Username: "alertmanager", Password: commoncfg.Secret(amToken)},
	})
	const groupKey = `{}:{alertname="HighErrorRate"}`
	group := model.LabelSet{"alertname": "HighErrorRate"}
	started := time.Now().Add(-2 * time.Minute).UTC().Truncate(time.Second)
	instanceA := firingAlert("a", started)

	// An Alertmanager with a wrong password is refused, and (4xx) does not retry.
	wrong := newAlertmanager(t, fb.base, &commoncfg.HTTPClientConfig{
		BasicAuth: &commoncfg.BasicAuth{Username: "alertmanager", Password: "fb_not-a-token"},
	})
	if retry, err := wrong.send(groupKey, group, instanceA); retry || err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong password: retry=%v err=%v, want a 401 that is not retried", retry, err)
	}
	if list := listIncidents(t, fb, admin); len(list) != 0 {
		t.Fatalf("a refused notification opened incidents: %+v", list)
	}

	// (a) HighErrorRate fires on checkout in prod: one incident, sev1, observing, one alert.
	am.notify(t, groupKey, group, instanceA)
	list := listIncidents(t, fb, admin)
	if len(list) != 1 {
		t.Fatalf("(a) after the first notification: %d incidents, want 1: %+v", len(list), list)
	}
	inc := getIncident(t, fb, admin, list[0].ID)
	if inc.Status != "observing" || inc.Severity != "sev1" || inc.Service != "checkout" || inc.Environment != "prod" ||
		inc.GroupKey == nil || *inc.GroupKey != groupKey || len(inc.Alerts) != 1 {
		t.Fatalf("(a) incident: %+v", inc)
	}
	if !inc.ImpactStartedAt.Equal(started) {
		t.Errorf("(a) impact_started_at %s, want the alert's startsAt %s", inc.ImpactStartedAt, started)
	}
	if got, want := inc.Alerts[0].Fingerprint, instanceA.Fingerprint().String(); got != want {
		t.Errorf("(a) alert fingerprint %s, want Alertmanager's %s", got, want)
	}
	if a := inc.Alerts[0]; a.Status != "firing" || a.Repeats != 0 || a.Labels["instance"] != "a" || a.Annotations["summary"] == "" {
		t.Errorf("(a) alert: %+v", a)
	}
	// No deploy of checkout in prod was ever recorded: the timeline says so, so the missing
	// suspect is not read as "not a deploy".
	if kinds := inc.timelineKinds(); strings.Join(kinds, ",") != "opened,no_deploy_recorded" {
		t.Errorf("(a) timeline %v, want [opened no_deploy_recorded]", kinds)
	}
	id, timelineA, lastSeenA := inc.ID, inc.Timeline, inc.Alerts[0].LastSeenAt

	// (b) Alertmanager repeats the notification (repeat_interval): nothing new, one repeat.
	am.notify(t, groupKey, group, instanceA)
	inc = getIncident(t, fb, admin, id)
	if n := len(listIncidents(t, fb, admin)); n != 1 {
		t.Fatalf("(b) a repeat made %d incidents, want 1", n)
	}
	if len(inc.Alerts) != 1 || inc.Alerts[0].Repeats != 1 || inc.Status != "observing" {
		t.Fatalf("(b) after the repeat: status %s, alerts %+v, want one alert with repeats=1", inc.Status, inc.Alerts)
	}
	if !inc.Alerts[0].LastSeenAt.After(lastSeenA) {
		t.Errorf("(b) last_seen_at %s did not move on from %s", inc.Alerts[0].LastSeenAt, lastSeenA)
	}
	if !slices.Equal(inc.Timeline, timelineA) {
		t.Fatalf("(b) a repeat changed the timeline: %+v, was %+v", inc.Timeline, timelineA)
	}

	// (c) A second instance joins the group. Alertmanager sends the whole group again, so
	// instance a comes along as a repeat.
	instanceB := firingAlert("b", started.Add(30*time.Second))
	am.notify(t, groupKey, group, instanceA, instanceB)
	if n := len(listIncidents(t, fb, admin)); n != 1 {
		t.Fatalf("(c) the second alert of the group made %d incidents, want 1", n)
	}
	inc = getIncident(t, fb, admin, id)
	if len(inc.Alerts) != 2 || inc.Status != "observing" {
		t.Fatalf("(c) incident: status %s, alerts %+v, want 2 alerts", inc.Status, inc.Alerts)
	}
	byInstance := inc.alertsByInstance()
	if byInstance["a"].Repeats != 2 || byInstance["b"].Repeats != 0 || byInstance["b"].Status != "firing" {
		t.Errorf("(c) alerts: %+v", inc.Alerts)
	}
	if kinds := inc.timelineKinds(); strings.Join(kinds, ",") != "opened,no_deploy_recorded,alert_firing" {
		t.Errorf("(c) timeline %v, want [opened no_deploy_recorded alert_firing]", kinds)
	}

	// (d) Both resolve. Nobody acknowledged the incident, so it resolves by itself.
	ended := time.Now().Add(-time.Second).UTC().Truncate(time.Second)
	resolvedA, resolvedB := resolvedAlert(instanceA, ended), resolvedAlert(instanceB, ended)
	am.notify(t, groupKey, group, resolvedA, resolvedB)
	inc = getIncident(t, fb, admin, id)
	if inc.Status != "resolved" || inc.ResolvedAt == nil || inc.MitigatedAt == nil {
		t.Fatalf("(d) after every alert resolved: %+v", inc)
	}
	for _, a := range inc.Alerts {
		if a.Status != "resolved" || a.EndsAt == nil || !a.EndsAt.Equal(ended) {
			t.Errorf("(d) alert %s: status %s, ends_at %v, want resolved at %s", a.Labels["instance"], a.Status, a.EndsAt, ended)
		}
	}
	if kinds := inc.timelineKinds(); strings.Join(kinds, ",") != "opened,no_deploy_recorded,alert_firing,alert_resolved,alert_resolved,resolved" {
		t.Errorf("(d) timeline %v", kinds)
	}

	// (e) Instance a fires again a moment later: a new occurrence inside the reopen window
	// reopens the same incident instead of opening a second one.
	refired := firingAlert("a", time.Now().UTC().Truncate(time.Second))
	am.notify(t, groupKey, group, refired)
	list = listIncidents(t, fb, admin)
	if len(list) != 1 || list[0].ID != id {
		t.Fatalf("(e) after the flap: %+v, want incident %d alone", list, id)
	}
	inc = getIncident(t, fb, admin, id)
	if inc.Status != "observing" || inc.ReopenedCount != 1 || inc.ResolvedAt != nil || inc.MitigatedAt != nil || len(inc.Alerts) != 3 {
		t.Fatalf("(e) reopened incident: %+v", inc)
	}
	var firing int
	for _, a := range inc.Alerts {
		if a.Status == "firing" {
			firing++
			if !a.StartsAt.Equal(refired.StartsAt) {
				t.Errorf("(e) the firing alert started at %s, want the new occurrence's %s", a.StartsAt, refired.StartsAt)
			}
		}
	}
	if firing != 1 {
		t.Errorf("(e) %d firing alerts, want 1: %+v", firing, inc.Alerts)
	}
	// The reopened line names the alert that fired again; no separate alert_firing line.
	if kinds := inc.timelineKinds(); len(kinds) != 7 || kinds[6] != "reopened" {
		t.Errorf("(e) timeline %v, want the six events of (d), then reopened", kinds)
	}
	fb.stop()
}

// TestWebhookBodyLimitOnRealListener checks the body limits where only a real listener
// shows them: 64 MiB for the Alertmanager webhook (a 50,000-alert group fits), 1 MiB for
// the rest of the API.
func TestWebhookBodyLimitOnRealListener(t *testing.T) {
	dir := t.TempDir()
	fb := startServe(t, dir)
	admin := fb.token
	started := time.Now().Add(-time.Minute).UTC()

	// A large batch over the old 10 MiB limit is taken whole.
	under := bigWebhook("under-limit", started, 12<<20)
	code, body := postRaw(t, fb.base+"/api/v1/alerts/alertmanager", admin, under)
	if code != http.StatusOK {
		t.Fatalf("webhook of %d bytes: %d %s, want 200", len(under), code, body)
	}

	// One over 64 MiB gets 413 with a JSON error, and nothing of it is stored. The server
	// answers from the Content-Length header and closes without reading the body, so the
	// client must read the answer while it is still writing: Go's net/http client (and so
	// Alertmanager) mostly reports "broken pipe" here instead of the 413.
	over := bigWebhook("over-limit", started, 64<<20+64<<10)
	code, body = postReadingEarly(t, fb.base, "/api/v1/alerts/alertmanager", admin, over)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("webhook of %d bytes: %d %s, want 413", len(over), code, body)
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("413 body %q is not {\"error\": ...}", body)
	}
	if got := listIncidentsQuery(t, fb, admin, "?service=over-limit"); len(got) != 0 {
		t.Fatalf("a refused webhook opened incidents: %+v", got)
	}
	if got := listIncidentsQuery(t, fb, admin, "?service=under-limit"); len(got) != 1 {
		t.Fatalf("the accepted webhook opened %d incidents, want 1", len(got))
	}

	// Firebreak's own API takes at most 1 MiB.
	declare := fmt.Sprintf(`{"title":"Too big","severity":"sev2","service":"declared-too-big","summary":%q}`, strings.Repeat("x", 1<<20))
	code, body = postRaw(t, fb.base+"/api/v1/incidents", admin, []byte(declare))
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("declare with a %d-byte body: %d %s, want 413", len(declare), code, body)
	}
	if got := listIncidentsQuery(t, fb, admin, "?service=declared-too-big"); len(got) != 0 {
		t.Fatalf("a refused declaration was stored: %+v", got)
	}
	fb.stop()
}

// alertmanager is Alertmanager's own webhook notifier pointed at a Firebreak.
type alertmanager struct {
	n *webhook.Notifier
}

func newAlertmanager(t *testing.T, base string, httpCfg *commoncfg.HTTPClientConfig) *alertmanager {
	t.Helper()
	return newAlertmanagerTimeout(t, base, httpCfg, 10*time.Second)
}

// newAlertmanagerTimeout is newAlertmanager with the webhook_config's timeout.
func newAlertmanagerTimeout(t *testing.T, base string, httpCfg *commoncfg.HTTPClientConfig, timeout time.Duration) *alertmanager {
	t.Helper()
	tmpl, err := template.FromGlobs(nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.ExternalURL, _ = url.Parse("http://alertmanager.example:9093")
	httpCfg.FollowRedirects = true
	n, err := webhook.New(&webhook.WebhookConfig{
		NotifierConfig: common.NotifierConfig{VSendResolved: true},
		HTTPConfig:     httpCfg,
		URL:            common.SecretTemplateURL(base + "/api/v1/alerts/alertmanager"),
		Timeout:        timeout,
	}, tmpl, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &alertmanager{n: n}
}

// send notifies one group as Alertmanager's dispatcher would.
func (am *alertmanager) send(groupKey string, groupLabels model.LabelSet, alerts ...*types.Alert) (bool, error) {
	ctx := notify.WithGroupKey(context.Background(), groupKey)
	ctx = notify.WithReceiverName(ctx, "firebreak")
	ctx = notify.WithGroupLabels(ctx, groupLabels)
	return am.n.Notify(ctx, alerts...)
}

// notify sends and requires success without a retry.
func (am *alertmanager) notify(t *testing.T, groupKey string, groupLabels model.LabelSet, alerts ...*types.Alert) {
	t.Helper()
	if retry, err := am.send(groupKey, groupLabels, alerts...); retry || err != nil {
		t.Fatalf("Notify: retry=%v err=%v, want false and nil", retry, err)
	}
}

// firingAlert is HighErrorRate on checkout in prod for one instance, as Alertmanager holds
// it while firing: endsAt is the resolve timeout ahead.
func firingAlert(instance string, startsAt time.Time) *types.Alert {
	return &types.Alert{
		Alert: model.Alert{
			Labels: model.LabelSet{"alertname": "HighErrorRate", "service": "checkout", "env": "prod",
				"severity": "critical", "instance": model.LabelValue(instance)},
			Annotations:  model.LabelSet{"summary": "5xx above 5% on checkout", "description": "Checkout answers 5xx to more than 5% of requests."},
			StartsAt:     startsAt,
			EndsAt:       time.Now().Add(5 * time.Minute),
			GeneratorURL: "http://prometheus.example:9090/graph?g0.expr=rate",
		},
		UpdatedAt: time.Now(),
	}
}

// resolvedAlert is the same occurrence with endsAt in the past.
func resolvedAlert(a *types.Alert, endsAt time.Time) *types.Alert {
	r := *a
	r.EndsAt = endsAt
	r.UpdatedAt = time.Now()
	return &r
}

// createToken runs `firebreak token create` against the database of a serve.
func createToken(t *testing.T, dir, dbURL, name, scopes string) string {
	t.Helper()
	cmd := exec.Command(binary, "token", "create", "--name", name, "--scopes", scopes)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FIREBREAK_DATABASE_URL="+dbURL)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token create: %v: %s", err, stderr.String())
	}
	tok := tokenLine.FindString(string(out))
	if tok == "" {
		t.Fatalf("token create printed no token: %q", out)
	}
	return tok
}

func sqlitePath(dir string) string { return filepath.Join(dir, "data", "firebreak.db") }

// incidentView is GET /api/v1/incidents/{id} as a client reads it.
type incidentView struct {
	ID              int64       `json:"id"`
	Title           string      `json:"title"`
	Status          string      `json:"status"`
	Severity        string      `json:"severity"`
	Service         string      `json:"service"`
	Environment     string      `json:"environment"`
	GroupKey        *string     `json:"group_key"`
	ImpactStartedAt time.Time   `json:"impact_started_at"`
	MitigatedAt     *time.Time  `json:"mitigated_at"`
	ResolvedAt      *time.Time  `json:"resolved_at"`
	ReopenedCount   int         `json:"reopened_count"`
	Alerts          []alertView `json:"alerts"`
	Timeline        []eventView `json:"timeline"`
}

type alertView struct {
	Fingerprint string            `json:"fingerprint"`
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"starts_at"`
	EndsAt      *time.Time        `json:"ends_at"`
	LastSeenAt  time.Time         `json:"last_seen_at"`
	Repeats     int               `json:"repeats"`
}

type eventView struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	Text string `json:"text"`
}

func (v incidentView) timelineKinds() []string {
	var kinds []string
	for _, ev := range v.Timeline {
		kinds = append(kinds, ev.Kind)
	}
	return kinds
}

func (v incidentView) alertsByInstance() map[string]alertView {
	out := map[string]alertView{}
	for _, a := range v.Alerts {
		out[a.Labels["instance"]] = a
	}
	return out
}

func getIncident(t *testing.T, p *serveProc, token string, id int64) incidentView {
	t.Helper()
	var v incidentView
	getJSON(t, p, fmt.Sprintf("/api/v1/incidents/%d", id), token, &v)
	return v
}

func listIncidents(t *testing.T, p *serveProc, token string) []incidentView {
	t.Helper()
	return listIncidentsQuery(t, p, token, "")
}

func listIncidentsQuery(t *testing.T, p *serveProc, token, query string) []incidentView {
	t.Helper()
	var v struct {
		Incidents []incidentView `json:"incidents"`
	}
	getJSON(t, p, "/api/v1/incidents"+query, token, &v)
	return v.Incidents
}

func getJSON(t *testing.T, p *serveProc, path, token string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", p.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, raw)
	}
}

// postRaw posts body with a bearer token and returns the status and the response body.
func postRaw(t *testing.T, url, token string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s (%d bytes): %v", url, len(body), err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// postReadingEarly posts body over a raw connection and reads the response while the body
// is still being written, as a client must to see an answer given before the body is read.
func postReadingEarly(t *testing.T, base, path, token string, body []byte) (int, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		path, strings.TrimPrefix(base, "http://"), token, len(body))
	written := make(chan struct{})
	go func() {
		defer close(written)
		if _, err := conn.Write([]byte(head)); err != nil {
			return
		}
		_, _ = conn.Write(body) // fails once the server has answered and closed
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("POST %s (%d bytes): reading the response: %v", path, len(body), err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	conn.Close()
	<-written
	return resp.StatusCode, raw
}

// bigWebhook is a valid version 4 payload for service of at least size bytes: alerts with a
// 100 KiB description each.
func bigWebhook(service string, startsAt time.Time, size int) []byte {
	desc := strings.Repeat("d", 100<<10)
	msg := webhook.Message{Version: "4", GroupKey: `{}:{service="` + service + `"}`, Data: &template.Data{
		Receiver: "firebreak", Status: "firing", ExternalURL: "http://alertmanager.example:9093",
		GroupLabels: template.KV{"service": service},
	}}
	for i := 0; i*len(desc) < size; i++ {
		msg.Alerts = append(msg.Alerts, template.Alert{
			Status:      "firing",
			Labels:      template.KV{"alertname": "Big", "service": service, "env": "prod", "n": fmt.Sprint(i)},
			Annotations: template.KV{"description": desc},
			StartsAt:    startsAt,
		})
	}
	out, _ := json.Marshal(msg)
	return out
}
