package slack_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	slack "firebreak/notify/slack"
	"firebreak/notify/slack/slackfake"
	"firebreak/outbox"
	"firebreak/store"
)

// Users the stories know: Alice and Bob are responders, Dave is not.
const (
	alice = "U0ALICE01"
	bob   = "U0BOB0001"
	dave  = "U0DAVE001"
)

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// rig is the Slack integration over a real database, outbox and incident manager, talking
// to a fake Slack on loopback.
type rig struct {
	t         *testing.T
	db        *store.DB
	fake      *slackfake.Server
	incidents *incidents.Manager
	tracker   *deploys.Tracker
	outbox    *outbox.Outbox
	svc       *slack.Service
	cfg       slack.Config
	stop      func()
	n         int
}

// newRig builds the integration on db; adjust changes its config first.
func newRig(t *testing.T, db *store.DB, adjust func(*slack.Config)) *rig {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.AddUser(slackfake.User{ID: alice, Name: "alice", RealName: "Alice Liddell", DisplayName: "Alice"})
	fake.AddUser(slackfake.User{ID: bob, Name: "bob", RealName: "Bob Builder", DisplayName: ""})
	fake.AddUser(slackfake.User{ID: dave, Name: "dave", DisplayName: "Dave"})
	cfg := slack.Config{BotToken: "xoxb-test", SigningSecret: "test-secret", Channel: "#incidents", APIURL: fake.APIURL(),
		ServiceChannels: map[string]string{"checkout": "#checkout"}, RollbackServices: map[string]bool{"checkout": true},
		PublicURL: "https://firebreak.example", MaxBackoff: 200 * time.Millisecond,
		// Answers come in the HTTP answer however loaded the machine running the tests is;
		// TestSlowCommandsAnswerThroughTheResponseURL sets a short budget of its own.
		CommandBudget: time.Minute}
	if adjust != nil {
		adjust(&cfg)
	}
	r := &rig{t: t, db: db, fake: fake, cfg: cfg}
	r.start()
	return r
}

// start builds the services (again, after restart) and runs the outbox.
func (r *rig) start() {
	t := r.t
	r.incidents = incidents.NewManager(r.db, nil)
	r.outbox = outbox.New(r.db, outbox.Options{Poll: 5 * time.Millisecond, BaseBackoff: 50 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, Log: quiet()})
	hooks := map[string]deploys.Hook{"checkout": {Policy: deploys.PolicyConfirm, MinSeverity: incidents.Sev2,
		WebhookURL: r.fake.URL() + "/rollback-hook", Secret: []byte("hook")}}
	remedy := deploys.Hook{Policy: deploys.PolicyConfirm, MinSeverity: incidents.Sev2, WebhookURL: r.fake.URL() + "/remedy-hook", Secret: []byte("hook")}
	actions := map[string]map[string]deploys.Hook{"checkout": {deploys.ActionAbortCanary: remedy, deploys.ActionDisableFlag: remedy}}
	rollbacks := deploys.NewRemedies(r.db, r.incidents, r.outbox, hooks, actions, r.cfg.PublicURL)
	r.tracker = deploys.NewTracker(r.db, r.incidents, 30*time.Minute, rollbacks)
	r.incidents.OnChange(r.tracker.OnIncidentChange)
	svc, err := slack.New(r.cfg, slack.Deps{DB: r.db, Incidents: r.incidents, Tracker: r.tracker, Rollbacks: rollbacks,
		Outbox: r.outbox, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	r.incidents.OnChanges(svc.OnIncidentChanges)
	r.svc = svc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.outbox.Run(ctx); close(done) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			svc.Wait()
		})
	}
	t.Cleanup(r.stop)
}

// restart stops the outbox and builds every service anew on the same database, as a
// process restart does.
func (r *rig) restart() {
	r.stop()
	r.start()
}

// command runs "/incident text" typed by user in channel and returns the answer.
func (r *rig) command(userID, channelID, text string) slack.Reply {
	r.t.Helper()
	r.n++
	form := slackfake.CommandForm(text, userID, strings.ToLower(userID), channelID, r.fake.ResponseURL(r.n), "trigger-"+text)
	reply, err := r.svc.Command(context.Background(), form)
	if err != nil {
		r.t.Fatalf("/incident %s: %v", text, err)
	}
	return reply
}

// press replays a button of a posted message as user, and returns the interaction's answer.
func (r *rig) press(userID string, m slackfake.Message, actionID string) (answer any, responseURL string) {
	r.t.Helper()
	b, ok := m.Button(actionID)
	if !ok {
		r.t.Fatalf("message %s has no %s button; it has %+v", m.TS, actionID, m.Buttons())
	}
	r.n++
	responseURL = r.fake.ResponseURL(r.n)
	answer, err := r.svc.Interaction(context.Background(), []byte(slackfake.ButtonPayload(b, m, userID, "someone", responseURL)))
	if err != nil {
		r.t.Fatalf("press %s: %v", actionID, err)
	}
	return answer, responseURL
}

// declare declares an incident directly (as the API would).
func (r *rig) declare(title string, sev incidents.Severity, service string) incidents.Incident {
	r.t.Helper()
	inc, err := r.incidents.Declare(context.Background(), "Carol", incidents.DeclareInput{Title: title, Severity: string(sev),
		Service: service, Environment: "production"})
	if err != nil {
		r.t.Fatal(err)
	}
	return inc
}

// waitFor fails the test when cond does not hold within 20 s.
func (r *rig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	if !slackfake.WaitFor(20*time.Second, cond) {
		r.t.Fatalf("timed out waiting for %s; Slack saw:\n%s", what, r.callLog())
	}
}

func (r *rig) callLog() string {
	var b strings.Builder
	for _, c := range r.fake.Calls() {
		b.WriteString("  " + c.String() + "\n")
	}
	return b.String()
}

// topMessages are the top-level messages of a channel.
func (r *rig) topMessages(channel string) []slackfake.Message {
	var out []slackfake.Message
	for _, m := range r.fake.Messages(channel) {
		if m.ThreadTS == "" {
			out = append(out, m)
		}
	}
	return out
}

// message waits for the one top-level message of an incident in channel and returns it.
func (r *rig) message(channel string, id int64) slackfake.Message {
	r.t.Helper()
	var found slackfake.Message
	r.waitFor("the message of the incident in "+channel, func() bool {
		for _, m := range r.topMessages(channel) {
			if incidentOf(m) == id {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// current re-reads a message as it is now.
func (r *rig) current(m slackfake.Message) slackfake.Message {
	for _, x := range r.fake.Messages(m.Channel) {
		if x.TS == m.TS {
			return x
		}
	}
	r.t.Fatalf("message %s is gone", m.TS)
	return m
}

// incidentOf reads the incident id from a message's metadata; 0 when it has none.
func incidentOf(m slackfake.Message) int64 {
	var meta struct {
		Payload map[string]any `json:"event_payload"`
	}
	_ = json.Unmarshal(m.Metadata, &meta)
	id, _ := meta.Payload["incident_id"].(string)
	var n int64
	for _, c := range id {
		n = n*10 + int64(c-'0')
	}
	return n
}

// responses are the bodies posted to a response_url.
func (r *rig) responses(responseURL string) []string {
	u, _ := url.Parse(responseURL)
	var out []string
	for _, c := range r.fake.Calls("response_url") {
		if c.Args.Get("response_url") == u.Path {
			out = append(out, c.Args.Get("text"))
		}
	}
	return out
}

// threadTexts are the texts of the replies to m, in order.
func (r *rig) threadTexts(m slackfake.Message) []string {
	var out []string
	for _, x := range r.fake.Thread(m.Channel, m.TS) {
		out = append(out, x.Text)
	}
	return out
}
