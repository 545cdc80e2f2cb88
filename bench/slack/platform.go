package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"firebreak/bench/internal/flow"
	"firebreak/bench/internal/pgschema"
	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	slacknotify "firebreak/notify/slack"
	"firebreak/notify/slack/slackfake"
	"firebreak/tokens"
)

// signingSecret signs the benchmark's Slack requests.
const signingSecret = "bench-signing-secret"

// benchUser is the Slack user the benchmark's commands come from.
const benchUser = "U0BENCH01"

// platform is Firebreak built in process and serving on loopback, with Slack pointed at a
// fake.
type platform struct {
	base  string
	token string
	fake  *slackfake.Server
	http  *http.Client
	stop  func() error
}

// startPlatform builds and runs Firebreak on a fresh database of o.db.
func startPlatform(ctx context.Context, o options, fake *slackfake.Server) (*platform, error) {
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.PublicURL = "https://firebreak.bench"
	var cleanup []func() error
	switch o.db {
	case "sqlite":
		dir, err := os.MkdirTemp("", "firebreak-bench-slack-")
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, func() error { return os.RemoveAll(dir) })
		cfg.Database = config.Database{Driver: config.DriverSQLite, URL: filepath.Join(dir, "firebreak.db")}
	case "postgres":
		dsn, drop, err := pgschema.Fresh(ctx, o.pgURL)
		if err != nil {
			return nil, err
		}
		cleanup = append(cleanup, drop)
		cfg.Database = config.Database{Driver: config.DriverPostgres, URL: dsn}
	}
	cfg.Slack = &config.Slack{BotTokenEnv: "SLACK_BOT_TOKEN", SigningSecretEnv: "SLACK_SIGNING_SECRET", BotToken: "xoxb-bench",
		SigningSecret: signingSecret, Channel: "#incidents", APIURL: fake.APIURL()}
	// Slack down or rate limiting must never make the benchmark give up on a message.
	cfg.Outbox.MaxAttempts = 100
	fake.AddUser(slackfake.User{ID: benchUser, Name: "bench", DisplayName: "Bench"})
	logger := slog.New(slog.NewTextHandler(o.log, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Build(ctx, cfg, app.Options{Log: logger})
	if err != nil {
		return nil, fmt.Errorf("build the platform: %w", err)
	}
	addr, err := a.Listen()
	if err != nil {
		a.Close()
		return nil, err
	}
	token, err := a.Tokens.Create(ctx, "bench", []tokens.Scope{tokens.Admin})
	if err != nil {
		a.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(runCtx) }()
	client := flow.NewHTTPClient(32)
	p := &platform{base: "http://" + addr.String(), token: token, fake: fake, http: client}
	p.stop = func() error {
		client.CloseIdleConnections()
		cancel()
		err := <-ran
		for _, c := range cleanup {
			if cerr := c(); cerr != nil && err == nil {
				err = cerr
			}
		}
		return err
	}
	return p, nil
}

// alert posts an Alertmanager webhook with one firing alert of its own group and service,
// and returns the incident it opened.
func (p *platform) alert(ctx context.Context, n int) (int64, error) {
	group := fmt.Sprintf("Bench%d", n)
	body := fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"%s\"}","status":"firing","receiver":"firebreak",
		"groupLabels":{"alertname":%q},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://alertmanager",
		"alerts":[{"status":"firing","labels":{"alertname":%q,"service":"svc-%d","env":"production","severity":"error"},
		"annotations":{"summary":"bench"},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"%08x%08x"}]}`,
		group, group, group, n, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), crc32.ChecksumIEEE([]byte(group)), n)
	var out struct {
		Incidents []int64 `json:"incidents"`
	}
	if err := p.post(ctx, "/api/v1/alerts/alertmanager", "application/json", body, map[string]string{"Authorization": "Bearer " + p.token}, &out); err != nil {
		return 0, err
	}
	if len(out.Incidents) != 1 {
		return 0, fmt.Errorf("webhook %d opened %v, want one incident", n, out.Incidents)
	}
	return out.Incidents[0], nil
}

// command sends "/incident text" as Slack would, signed.
func (p *platform) command(ctx context.Context, text string) error {
	form := slackfake.CommandForm(text, benchUser, "bench", "C0BENCH01", p.fake.ResponseURL(0), "trigger")
	body := form.Encode()
	headers := map[string]string{}
	for k, v := range slacknotify.SignatureHeaders(signingSecret, time.Now(), []byte(body)) {
		headers[k] = v[0]
	}
	var out struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := p.post(ctx, "/slack/commands", "application/x-www-form-urlencoded", body, headers, &out); err != nil {
		return err
	}
	// Notes are confirmed to their author alone; anything else only they see is a refusal.
	if out.ResponseType == "ephemeral" && !strings.HasPrefix(out.Text, ":memo:") {
		return fmt.Errorf("/incident %s was refused: %s", text, out.Text)
	}
	return nil
}

func (p *platform) post(ctx context.Context, path, contentType, body string, headers map[string]string, out any) error {
	req, err := http.NewRequestWithContext(ctx, "POST", p.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, raw)
	}
	return decode(raw, out)
}

// incidentOf reads the incident id of a chat.postMessage's metadata; 0 when it has none.
func incidentOf(c slackfake.Call) int64 {
	meta := c.Args.Get("metadata")
	const key = `"incident_id":"`
	i := strings.Index(meta, key)
	if i < 0 {
		return 0
	}
	var id int64
	for _, ch := range meta[i+len(key):] {
		if ch < '0' || ch > '9' {
			break
		}
		id = id*10 + int64(ch-'0')
	}
	return id
}

// decode reads a JSON answer into out.
func decode(raw []byte, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("answer %q is not the JSON expected: %w", raw, err)
	}
	return nil
}
