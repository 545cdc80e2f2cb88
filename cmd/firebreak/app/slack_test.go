package app_test

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"firebreak/config"
	slacknotify "firebreak/notify/slack"
	"firebreak/notify/slack/slackfake"
	"firebreak/store"
	"firebreak/store/storetest"
)

const slackSecret = "test-signing-secret"

// withSlack turns Slack on in cfg, pointed at fake, with checkout posting to #checkout and
// having a rollback hook (receiver).
func withSlack(t *testing.T, cfg config.Config, fake *slackfake.Server) config.Config {
	t.Helper()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(receiver.Close)
	cfg.PublicURL = "https://firebreak.example"
	cfg.Slack = &config.Slack{BotTokenEnv: "B", SigningSecretEnv: "S", BotToken: "xoxb-test", SigningSecret: slackSecret,
		Channel: "#incidents", APIURL: fake.APIURL()}
	cfg.Services = map[string]config.Service{"checkout": {SlackChannel: "#checkout", Rollback: &config.Rollback{
		Policy: config.PolicyConfirm, MinSeverity: "sev2", Timeout: config.Duration(time.Minute),
		Webhook: &config.Webhook{URL: receiver.URL, SecretEnv: "H", Secret: "hook-secret", Timeout: config.Duration(5 * time.Second)},
	}}}
	cfg.Outbox.MaxBackoff = config.Duration(500 * time.Millisecond)
	fake.AddUser(slackfake.User{ID: "U0ALICE01", Name: "alice", DisplayName: "Alice"})
	return cfg
}

// slackRequest posts a form to /slack/<path> signed at signedAt with secret ("" for none).
func slackRequest(t *testing.T, base, path string, form url.Values, secret string, signedAt time.Time) (int, string) {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		for k, v := range slacknotify.SignatureHeaders(secret, signedAt, []byte(body)) {
			req.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// slackCommand types /incident text as Alice in channel C0GENERAL and returns Slack's view
// of the answer: the HTTP answer, or, when that was "working on it" (a loaded machine took
// longer than Slack's budget), the answer that followed through the response_url.
func slackCommand(t *testing.T, base, text string, fake *slackfake.Server) (int, map[string]any) {
	t.Helper()
	n := int(responseURLs.Add(1))
	code, body := slackRequest(t, base, "/slack/commands", slackfake.CommandForm(text, "U0ALICE01", "alice", "C0GENERAL",
		fake.ResponseURL(n), "trigger"), slackSecret, time.Now())
	out := map[string]any{}
	_ = json.Unmarshal([]byte(body), &out)
	if code != http.StatusOK || !strings.Contains(fmt.Sprint(out["text"]), "Working on it") {
		return code, out
	}
	path := strings.TrimPrefix(fake.ResponseURL(n), fake.URL())
	var late slackfake.Call
	waitSlack(t, fake, "the answer through the response_url", func() bool {
		for _, c := range fake.Calls("response_url") {
			if c.Args.Get("response_url") == path {
				late = c
				return true
			}
		}
		return false
	})
	return code, map[string]any{"response_type": late.Args.Get("response_type"), "text": late.Args.Get("text")}
}

// responseURLs numbers the response URLs of the stories' commands.
var responseURLs atomic.Int64

// alertmanagerPayload is an Alertmanager webhook of n firing alerts of one group, the first
// numbered from.
func alertmanagerPayload(group, service, severity string, from, n int, startsAt time.Time) string {
	var alerts []string
	for i := from; i < from+n; i++ {
		alerts = append(alerts, fmt.Sprintf(`{"status":"firing","labels":{"alertname":%q,"service":%q,"env":"production","severity":%q,"pod":"p%d"},
			"annotations":{"summary":"errors"},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"%08x%08x"}`,
			group, service, severity, i, startsAt.Format(time.RFC3339), crc32.ChecksumIEEE([]byte(group)), i))
	}
	return fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"%s\"}","status":"firing","receiver":"firebreak",
		"groupLabels":{"alertname":%q},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager","alerts":[%s]}`,
		group, group, strings.Join(alerts, ","))
}

// topLevel is the top-level message of incident id in channel, if posted.
func topLevel(fake *slackfake.Server, channel string, id int64) (slackfake.Message, int) {
	var found slackfake.Message
	n := 0
	for _, m := range fake.Messages(channel) {
		if m.ThreadTS == "" && strings.Contains(string(m.Metadata), fmt.Sprintf(`"incident_id":"%d"`, id)) {
			found = m
			n++
		}
	}
	return found, n
}

func waitSlack(t *testing.T, fake *slackfake.Server, what string, cond func() bool) {
	t.Helper()
	if !slackfake.WaitFor(30*time.Second, cond) {
		var b strings.Builder
		for _, c := range fake.Calls() {
			b.WriteString("  " + c.String()[:min(300, len(c.String()))] + "\n")
		}
		t.Fatalf("timed out waiting for %s; Slack saw:\n%s", what, b.String())
	}
}

// Requests to /slack that Slack did not sign, signed with another secret, or signed more
// than five minutes ago get 401 and change nothing.
func TestSlackRequestsMustBeSignedBySlack(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		fake := slackfake.New()
		t.Cleanup(fake.Close)
		r := startApp(t, withSlack(t, cfg, fake))
		form := slackfake.CommandForm("declare sev2 Forged", "U0ALICE01", "alice", "C0GENERAL", fake.ResponseURL(1), "t")
		for _, c := range []struct {
			name, secret string
			at           time.Time
		}{
			{"unsigned", "", time.Now()},
			{"forged", "not-the-secret", time.Now()},
			{"stale", slackSecret, time.Now().Add(-6 * time.Minute)},
		} {
			for _, path := range []string{"/slack/commands", "/slack/interactions"} {
				code, body := slackRequest(t, r.api.base, path, form, c.secret, c.at)
				if code != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
					t.Errorf("%s %s: %d %s, want 401 {\"error\"}", c.name, path, code, body)
				}
			}
		}
		if code, body := r.api.call("GET", "/api/v1/incidents", ""); code != 200 || len(body["incidents"].([]any)) != 0 {
			t.Errorf("refused requests declared incidents: %v", body)
		}
		if code, body := slackRequest(t, r.api.base, "/slack/interactions", url.Values{}, slackSecret, time.Now()); code != http.StatusBadRequest {
			t.Errorf("interaction without payload: %d %s, want 400", code, body)
		}
		if code, body := slackRequest(t, r.api.base, "/slack/interactions", url.Values{"payload": {"{not json"}}, slackSecret, time.Now()); code != http.StatusBadRequest ||
			!strings.Contains(body, "not an interaction") {
			t.Errorf("interaction with a broken payload: %d %s, want 400", code, body)
		}
		if code, body := slackRequest(t, r.api.base, "/slack/commands", url.Values{"text": {"list"}}, slackSecret, time.Now()); code != http.StatusBadRequest ||
			!strings.Contains(body, "user_id") {
			t.Errorf("a command without user_id: %d %s, want 400", code, body)
		}
		code, out := slackCommand(t, r.api.base, "declare sev2 Signed", fake)
		if code != http.StatusOK || out["response_type"] != "in_channel" || !strings.Contains(fmt.Sprint(out["text"]), "declared by Alice") {
			t.Errorf("signed declare: %d %v", code, out)
		}
	})
}

// The whole path through HTTP: an Alertmanager webhook opens an incident of a service with a
// suspected deploy; its message appears in the service's channel with Acknowledge, Roll back
// and Resolve; /incident ack updates it and replies in its thread; pressing Resolve (the
// button replayed from the posted blocks) resolves it.
func TestSlackFromAlertToResolveOverHTTP(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		fake := slackfake.New()
		t.Cleanup(fake.Close)
		r := startApp(t, withSlack(t, cfg, fake))
		now := time.Now().UTC().Truncate(time.Second)
		if code, body := r.api.call("POST", "/api/v1/deploys", fmt.Sprintf(`{"service":"checkout","environment":"production","version":"v2",
			"previous_version":"v1","finished_at":%q}`, now.Add(-3*time.Minute).Format(time.RFC3339))); code != http.StatusCreated {
			t.Fatalf("record deploy: %d %v", code, body)
		}
		code, body := r.api.call("POST", "/api/v1/alerts/alertmanager", alertmanagerPayload("CheckoutErrors", "checkout", "error", 0, 1, now.Add(-time.Minute)))
		if code != http.StatusOK {
			t.Fatalf("alert webhook: %d %v", code, body)
		}
		id := int64(body["incidents"].([]any)[0].(float64))
		var m slackfake.Message
		waitSlack(t, fake, "the incident's message", func() bool { m, _ = topLevel(fake, "#checkout", id); return m.TS != "" })
		var ids []string
		for _, b := range m.Buttons() {
			ids = append(ids, b.ActionID)
		}
		if strings.Join(ids, " ") != "firebreak_ack firebreak_rollback firebreak_resolve" {
			t.Errorf("buttons %v", ids)
		}
		if !strings.Contains(m.BlocksText(), "checkout v2 (production): deployed 2 min before the first alert") {
			t.Errorf("the message does not name the suspect:\n%s", m.BlocksText())
		}

		code, out := slackCommand(t, r.api.base, fmt.Sprintf("ack %d", id), fake)
		if code != http.StatusOK || !strings.Contains(fmt.Sprint(out["text"]), "acknowledged by Alice") {
			t.Fatalf("ack: %d %v", code, out)
		}
		waitSlack(t, fake, "the update and the reply", func() bool {
			cur, _ := topLevel(fake, "#checkout", id)
			return cur.Updates > 0 && len(fake.Thread(cur.Channel, cur.TS)) == 1
		})
		m, _ = topLevel(fake, "#checkout", id)
		b, ok := m.Button(slacknotify.ActionResolve)
		if !ok {
			t.Fatalf("no Resolve button on %s", m.BlocksText())
		}
		code, raw := slackRequest(t, r.api.base, "/slack/interactions",
			slackfake.InteractionForm(slackfake.ButtonPayload(b, m, "U0ALICE01", "alice", fake.ResponseURL(2))), slackSecret, time.Now())
		if code != http.StatusOK || raw != "" {
			t.Fatalf("press Resolve: %d %q, want an empty 200", code, raw)
		}
		// Resolved before the answer, unless the machine is so loaded that the work outlasted
		// Slack's budget and finishes after it.
		waitSlack(t, fake, "the incident resolved", func() bool {
			code, inc := r.api.call("GET", fmt.Sprintf("/api/v1/incidents/%d", id), "")
			return code == 200 && inc["status"] == "resolved"
		})
		waitSlack(t, fake, "the resolved reply", func() bool { return len(fake.Thread(m.Channel, m.TS)) == 2 })
		if got := fake.Thread(m.Channel, m.TS)[1].Text; got != ":white_check_mark: Resolved by Alice." {
			t.Errorf("reply %q", got)
		}
	})
}

// A storm of 500 alerts into one incident, in 20 webhooks sent four at a time: one message,
// counted in it, at most one chat.update per committed webhook (coalesced, in practice a
// handful), and no thread reply for any alert.
func TestAlertStormIsCountedNotRepliedOneByOne(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		fake := slackfake.New()
		t.Cleanup(fake.Close)
		r := startApp(t, withSlack(t, cfg, fake))
		start := time.Now().Add(-time.Minute)
		const webhooks, perWebhook = 20, 25
		work := make(chan int, webhooks)
		for i := 0; i < webhooks; i++ {
			work <- i
		}
		close(work)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var id int64
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					code, body := r.api.call("POST", "/api/v1/alerts/alertmanager", alertmanagerPayload("Storm", "search", "warning", i*perWebhook, perWebhook, start))
					if code != http.StatusOK {
						t.Errorf("webhook %d: %d %v", i, code, body)
						continue
					}
					mu.Lock()
					id = int64(body["incidents"].([]any)[0].(float64))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		var m slackfake.Message
		waitSlack(t, fake, "the message to count 500 alerts", func() bool {
			m, _ = topLevel(fake, "#incidents", id)
			return strings.Contains(m.BlocksText(), "Alerts: 500 firing")
		})
		if _, n := topLevel(fake, "#incidents", id); n != 1 {
			t.Errorf("%d messages for the incident, want 1", n)
		}
		updates := len(fake.OKCalls("chat.update"))
		if updates > webhooks {
			t.Errorf("%d chat.update calls for %d webhooks", updates, webhooks)
		}
		if replies := fake.Thread(m.Channel, m.TS); len(replies) != 0 {
			t.Errorf("alerts were replied in the thread: %d replies, first %q", len(replies), replies[0].Text)
		}
		t.Logf("500 alerts in %d webhooks: 1 chat.postMessage, %d chat.update", webhooks, updates)
	})
}

// Two replicas on one PostgreSQL: alerts reach one, people's commands the other; every
// incident still has one message, and every reply is posted once.
func TestTwoReplicasPostOnce(t *testing.T) {
	driver, dsn := storetest.DSN(t, store.Postgres)
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = config.Database{Driver: driver, URL: dsn}
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	cfg = withSlack(t, cfg, fake)
	a, b := startApp(t, cfg), startApp(t, cfg)
	const incidents = 20
	start := time.Now().Add(-time.Minute)
	var ids []int64
	for i := 0; i < incidents; i++ {
		via := []*running{a, b}[i%2]
		code, body := via.api.call("POST", "/api/v1/alerts/alertmanager", alertmanagerPayload(fmt.Sprintf("Replica%d", i), fmt.Sprintf("svc%d", i), "warning", 0, 1, start))
		if code != http.StatusOK {
			t.Fatalf("webhook %d: %d %v", i, code, body)
		}
		ids = append(ids, int64(body["incidents"].([]any)[0].(float64)))
	}
	for i, id := range ids {
		via := []*running{b, a}[i%2]
		if code, out := slackCommand(t, via.api.base, fmt.Sprintf("ack %d", id), fake); code != 200 || out["response_type"] != "in_channel" {
			t.Fatalf("ack %d: %d %v", id, code, out)
		}
	}
	waitSlack(t, fake, "every message and reply", func() bool { return len(fake.OKCalls("chat.postMessage")) >= 2*incidents })
	for _, id := range ids {
		m, n := topLevel(fake, "#incidents", id)
		if n != 1 {
			t.Errorf("incident %d has %d messages", id, n)
			continue
		}
		if replies := fake.Thread(m.Channel, m.TS); len(replies) != 1 {
			t.Errorf("incident %d has %d replies", id, len(replies))
		}
	}
	if n := len(fake.OKCalls("chat.postMessage")); n != 2*incidents {
		t.Errorf("%d posts, want %d", n, 2*incidents)
	}
}
