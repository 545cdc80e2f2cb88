package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// productExample is the firebreak.yaml shown in PRODUCT.md, verbatim.
const productExample = `listen: 127.0.0.1:8080
public_url: http://127.0.0.1:8080
database:
  driver: sqlite                  # sqlite | postgres
  url: data/firebreak.db          # a file path, or postgres://user@host:5432/db
tokens:                           # bootstrap tokens; more with ` + "`firebreak token create`" + `
  - name: alertmanager
    token_env: FIREBREAK_AM_TOKEN
    scopes: [alerts:write]
alerts:
  service_labels: [service, app, job]
  environment_labels: [env, environment]
  severity_map: {critical: sev1, error: sev2, warning: sev3, info: sev4}
  reopen_window: 30m
deploys:
  correlation_window: 30m
services:
  checkout:
    slack_channel: "#checkout-incidents"
    rollback:
      policy: auto                # auto | confirm | off
      min_severity: sev2
      webhook:
        url: http://deployer.internal/rollback
        secret_env: CHECKOUT_ROLLBACK_SECRET
      # or: command: [kubectl, rollout, undo, deployment/checkout]
slack:
  bot_token_env: SLACK_BOT_TOKEN
  signing_secret_env: SLACK_SIGNING_SECRET
  channel: "#incidents"
  incident_channels: {min_severity: sev2, prefix: inc-}   # optional: a channel per incident
  responders: [U012ABCDEF]        # Slack users or user groups invited to incident channels
  api_url: ""                     # only to point the client at a test server
statuspage:
  title: Example Status
  components:
    - {name: Checkout, group: Shop, services: [checkout]}
  publish:
    - url: https://status.example.com/api/push
      secret_env: STATUS_PUSH_SECRET
postmortem:
  due_after: 120h
retention:
  delivered_jobs: 168h            # outbox jobs kept after delivery
`

// exampleEnv provides every secret productExample asks for.
var exampleEnv = map[string]string{
	"FIREBREAK_AM_TOKEN":       "secret-am-token-0123",
	"CHECKOUT_ROLLBACK_SECRET": "secret-rollback-key",
	"SLACK_BOT_TOKEN":          "xoxb-secret-bot",
	"SLACK_SIGNING_SECRET":     "secret-signing",
	"STATUS_PUSH_SECRET":       "secret-push-key",
}

// env turns a map into the getenv Load takes, so no test reads or
// changes the process environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// with returns exampleEnv plus extra entries.
func with(extra map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range exampleEnv {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// writeFile writes a firebreak.yaml into a fresh directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "firebreak.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mins(n int) Duration { return Duration(time.Duration(n) * time.Minute) }

func TestDefaultsWithoutFile(t *testing.T) {
	cfg, err := Load("", env(nil))
	if err != nil {
		t.Fatalf("Load without file: %v", err)
	}
	want := Config{
		Listen:    "127.0.0.1:8080",
		PublicURL: "http://127.0.0.1:8080",
		Database:  Database{Driver: "sqlite", URL: "data/firebreak.db"},
		Alerts: Alerts{
			ServiceLabels:     []string{"service", "app", "job"},
			EnvironmentLabels: []string{"env", "environment"},
			SeverityMap:       map[string]string{"critical": "sev1", "error": "sev2", "warning": "sev3", "info": "sev4"},
			ReopenWindow:      mins(30),
			MaxBodyBytes:      64 << 20,
			GroupBy:           "service",
			StaleAfter:        Duration(24 * time.Hour),
		},
		Incidents:  Incidents{AckReminder: mins(15)},
		Deploys:    Deploys{CorrelationWindow: mins(30)},
		Postmortem: Postmortem{DueAfter: Duration(120 * time.Hour)},
		Outbox:     Outbox{MaxAttempts: 8, MaxBackoff: mins(5)},
		Server: Server{
			ReadTimeout:  Duration(30 * time.Second),
			WriteTimeout: Duration(30 * time.Second),
			MaxBodyBytes: 1 << 20,
		},
		Retention: Retention{DeliveredJobs: Duration(168 * time.Hour)},
	}
	cfg.env = secretEnv{}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", cfg, want)
	}
	if !reflect.DeepEqual(Default(), want) {
		t.Errorf("Default() differs from what Load without a file returns:\n got %+v\nwant %+v", Default(), want)
	}
	if cfg.Slack != nil || cfg.Statuspage != nil || cfg.Services != nil || cfg.Tokens != nil {
		t.Errorf("optional features should be off by default: %+v", cfg)
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
}

func TestEmptyFilesGiveDefaults(t *testing.T) {
	for name, content := range map[string]string{
		"empty":         "",
		"comments only": "# nothing configured yet\n",
		"document mark": "---\n",
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(writeFile(t, content), env(nil))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			cfg.env = secretEnv{}
			if !reflect.DeepEqual(cfg, Default()) {
				t.Errorf("got %+v, want defaults", cfg)
			}
		})
	}
}

func TestProductExampleLoads(t *testing.T) {
	cfg, err := Load(writeFile(t, productExample), env(exampleEnv))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Default()
	want.Tokens = []Token{{Name: "alertmanager", TokenEnv: "FIREBREAK_AM_TOKEN", Token: "secret-am-token-0123", Scopes: []string{"alerts:write"}}}
	want.Services = map[string]Service{
		"checkout": {
			SlackChannel: "#checkout-incidents",
			Rollback: &Rollback{
				Policy:      "auto",
				MinSeverity: "sev2",
				Webhook: &Webhook{
					URL:       "http://deployer.internal/rollback",
					SecretEnv: "CHECKOUT_ROLLBACK_SECRET",
					Secret:    "secret-rollback-key",
					Timeout:   Duration(10 * time.Second),
				},
				Timeout: Duration(60 * time.Second),
			},
		},
	}
	want.Slack = &Slack{
		BotTokenEnv:      "SLACK_BOT_TOKEN",
		SigningSecretEnv: "SLACK_SIGNING_SECRET",
		BotToken:         "xoxb-secret-bot",
		SigningSecret:    "secret-signing",
		Channel:          "#incidents",
		IncidentChannels: &IncidentChannels{MinSeverity: "sev2", Prefix: "inc-", ArchiveAfter: Duration(168 * time.Hour)},
		Responders:       []string{"U012ABCDEF"},
	}
	want.Statuspage = &Statuspage{
		Title:       "Example Status",
		MinSeverity: "sev2",
		Components:  []Component{{Name: "Checkout", Group: "Shop", Services: []string{"checkout"}, Automatic: true}},
		Publish:     []Publish{{URL: "https://status.example.com/api/push", SecretEnv: "STATUS_PUSH_SECRET", Secret: "secret-push-key"}},
	}
	cfg.env = secretEnv{}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("example:\n got %s\nwant %s", dump(t, cfg), dump(t, want))
	}
	svc, ok := cfg.Service("checkout")
	if !ok || svc.SlackChannel != "#checkout-incidents" {
		t.Errorf("Service(checkout) = %+v, %v", svc, ok)
	}
	if _, ok := cfg.Service("billing"); ok {
		t.Error("Service(billing) found a service the file does not list")
	}
}

// TestEveryKeyRead uses a value other than the default for every key, so
// a key that is silently ignored shows up.
func TestEveryKeyRead(t *testing.T) {
	const file = `
listen: 0.0.0.0:9090
public_url: https://firebreak.example.com/
database: {driver: postgres, url: "postgres://fb@db:5432/fb"}
tokens:
  - {name: ci, token_env: CI_TOKEN, scopes: [deploys:write, read]}
alerts:
  service_labels: [component]
  environment_labels: [cluster]
  severity_map: {page: sev1}
  reopen_window: 45m
  max_body_bytes: 2048
  group_by: group_key
  stale_after: 36h
incidents: {ack_reminder: 5m}
deploys: {correlation_window: 1h}
services:
  search:
    rollback:
      policy: confirm
      min_severity: sev1
      command: [kubectl, rollout, undo, deployment/search]
      timeout: 2m
  payments:
    rollback:
      policy: "off"
      webhook: {url: "https://deployer/rb", secret_env: PAY_SECRET, timeout: 3s}
  web: {}
slack:
  bot_token_env: BOT
  signing_secret_env: SIGN
  channel: "#ops"
  api_url: http://127.0.0.1:9999/api/
  incident_channels: {min_severity: sev1, prefix: war-, archive_after: 3d}
statuspage:
  url: https://status.example.com
  time_zone: Europe/Berlin
  min_severity: sev3
  components: [{name: API, automatic: false, description: The public API}]
postmortem: {due_after: 72h}
outbox: {max_attempts: 3, max_backoff: 90s}
server: {read_timeout: 5s, write_timeout: 6s, max_body_bytes: 4096}
retention: {delivered_jobs: 36h}
`
	cfg, err := Load(writeFile(t, file), env(map[string]string{
		"CI_TOKEN": "ci-token-0123456789", "PAY_SECRET": "pay", "BOT": "b", "SIGN": "s",
	}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := Config{
		Listen:    "0.0.0.0:9090",
		PublicURL: "https://firebreak.example.com",
		Database:  Database{Driver: "postgres", URL: "postgres://fb@db:5432/fb"},
		Tokens:    []Token{{Name: "ci", TokenEnv: "CI_TOKEN", Token: "ci-token-0123456789", Scopes: []string{"deploys:write", "read"}}},
		Alerts: Alerts{
			ServiceLabels:     []string{"component"},
			EnvironmentLabels: []string{"cluster"},
			SeverityMap:       map[string]string{"page": "sev1"}, // replaces, not merges
			ReopenWindow:      mins(45),
			MaxBodyBytes:      2048,
			GroupBy:           "group_key",
			StaleAfter:        Duration(36 * time.Hour),
		},
		Incidents: Incidents{AckReminder: mins(5)},
		Deploys:   Deploys{CorrelationWindow: mins(60)},
		Services: map[string]Service{
			"search": {Rollback: &Rollback{
				Policy: "confirm", MinSeverity: "sev1",
				Command: []string{"kubectl", "rollout", "undo", "deployment/search"},
				Timeout: mins(2),
			}},
			"payments": {Rollback: &Rollback{
				Policy: "off", MinSeverity: "sev2", Timeout: Duration(60 * time.Second),
				Webhook: &Webhook{URL: "https://deployer/rb", SecretEnv: "PAY_SECRET", Secret: "pay", Timeout: Duration(3 * time.Second)},
			}},
			"web": {},
		},
		Slack: &Slack{BotTokenEnv: "BOT", SigningSecretEnv: "SIGN", BotToken: "b", SigningSecret: "s", Channel: "#ops", APIURL: "http://127.0.0.1:9999/api/",
			IncidentChannels: &IncidentChannels{MinSeverity: "sev1", Prefix: "war-", ArchiveAfter: Duration(72 * time.Hour)}},
		Statuspage: &Statuspage{Title: "Status", URL: "https://status.example.com", TimeZone: "Europe/Berlin", MinSeverity: "sev3",
			Components: []Component{{Name: "API", Description: "The public API"}}},
		Postmortem: Postmortem{DueAfter: Duration(72 * time.Hour)},
		Outbox:     Outbox{MaxAttempts: 3, MaxBackoff: Duration(90 * time.Second)},
		Server:     Server{ReadTimeout: Duration(5 * time.Second), WriteTimeout: Duration(6 * time.Second), MaxBodyBytes: 4096},
		Retention:  Retention{DeliveredJobs: Duration(36 * time.Hour)},
	}
	cfg.env = secretEnv{}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("every key:\n got %s\nwant %s", dump(t, cfg), dump(t, want))
	}
}

func TestMarshalLoadsBack(t *testing.T) {
	cfg, err := Load(writeFile(t, productExample), env(exampleEnv))
	if err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range exampleEnv {
		if strings.Contains(string(out), secret) {
			t.Errorf("marshalled config leaks secret %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(string(out), "reopen_window: 30m\n") || !strings.Contains(string(out), "due_after: 120h\n") {
		t.Errorf("durations should marshal as written, got:\n%s", out)
	}
	again, err := Load(writeFile(t, string(out)), env(exampleEnv))
	if err != nil {
		t.Fatalf("marshalled config does not load: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(again, cfg) {
		t.Errorf("round trip changed the config:\n got %s\nwant %s", dump(t, again), dump(t, cfg))
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Minute:           "30m",
		120 * time.Hour:            "120h",
		90 * time.Minute:           "1h30m",
		90 * time.Second:           "1m30s",
		10 * time.Second:           "10s",
		0:                          "0s",
		1500 * time.Millisecond:    "1.5s",
		time.Hour + time.Second:    "1h0m1s",
		-30 * time.Minute:          "-30m",
		2*time.Hour + time.Minute:  "2h1m",
		500 * time.Microsecond:     "500µs",
		time.Minute + time.Hour*24: "24h1m",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", time.Duration(d), got, want)
		}
	}
}

func TestEnvOverrides(t *testing.T) {
	tests := []struct {
		name       string
		file       string // "" means no file
		env        map[string]string
		wantDriver string
		wantURL    string
		wantListen string
		wantPublic string
	}{
		{
			name:       "postgres URL selects postgres",
			env:        map[string]string{"FIREBREAK_DATABASE_URL": "postgres://fb:pw@db:5432/fb?sslmode=disable"},
			wantDriver: "postgres", wantURL: "postgres://fb:pw@db:5432/fb?sslmode=disable",
			wantListen: "127.0.0.1:8080", wantPublic: "http://127.0.0.1:8080",
		},
		{
			name:       "postgresql scheme too",
			file:       "database: {url: data/x.db}\n",
			env:        map[string]string{"FIREBREAK_DATABASE_URL": "postgresql://db/fb"},
			wantDriver: "postgres", wantURL: "postgresql://db/fb",
			wantListen: "127.0.0.1:8080", wantPublic: "http://127.0.0.1:8080",
		},
		{
			name:       "a path selects sqlite even if the file says postgres",
			file:       "database: {driver: postgres, url: \"postgres://db/fb\"}\n",
			env:        map[string]string{"FIREBREAK_DATABASE_URL": "/var/lib/firebreak/fb.db"},
			wantDriver: "sqlite", wantURL: "/var/lib/firebreak/fb.db",
			wantListen: "127.0.0.1:8080", wantPublic: "http://127.0.0.1:8080",
		},
		{
			name:       "driver follows a postgres url in the file",
			file:       "database: {url: \"postgres://db/fb\"}\n",
			wantDriver: "postgres", wantURL: "postgres://db/fb",
			wantListen: "127.0.0.1:8080", wantPublic: "http://127.0.0.1:8080",
		},
		{
			name:       "listen override derives public_url",
			env:        map[string]string{"FIREBREAK_LISTEN": "0.0.0.0:9000"},
			wantDriver: "sqlite", wantURL: "data/firebreak.db",
			wantListen: "0.0.0.0:9000", wantPublic: "http://localhost:9000",
		},
		{
			name:       "listen in file derives public_url",
			file:       "listen: 10.0.0.5:8081\n",
			wantDriver: "sqlite", wantURL: "data/firebreak.db",
			wantListen: "10.0.0.5:8081", wantPublic: "http://10.0.0.5:8081",
		},
		{
			name:       "listen override keeps the file's public_url",
			file:       "listen: 127.0.0.1:8080\npublic_url: https://fb.example.com\n",
			env:        map[string]string{"FIREBREAK_LISTEN": ":8443"},
			wantDriver: "sqlite", wantURL: "data/firebreak.db",
			wantListen: ":8443", wantPublic: "https://fb.example.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			cfg, err := Load(path, env(tt.env))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Database.Driver != tt.wantDriver || cfg.Database.URL != tt.wantURL {
				t.Errorf("database = %+v, want driver %q url %q", cfg.Database, tt.wantDriver, tt.wantURL)
			}
			if cfg.Listen != tt.wantListen || cfg.PublicURL != tt.wantPublic {
				t.Errorf("listen %q public_url %q, want %q %q", cfg.Listen, cfg.PublicURL, tt.wantListen, tt.wantPublic)
			}
		})
	}
}

// TestRejected checks that each broken file stops Load with messages that
// name the key (and line, where the file has it).
func TestRejected(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  map[string]string
		want []string // substrings the error must contain
		deny []string // substrings it must not contain
	}{
		{
			name: "unknown top-level key",
			file: "listen: 127.0.0.1:8080\n\n\n\n\n\nlisen: :9090\n",
			want: []string{`firebreak.yaml: line 7: unknown key "lisen" (did you mean "listen"?)`},
		},
		{
			name: "unknown nested key",
			file: "services:\n  checkout:\n    rollback:\n      polcy: auto\n      command: [x]\n",
			want: []string{`line 4: services.checkout.rollback: unknown key "polcy" (did you mean "policy"?)`},
		},
		{
			name: "unknown key in a list item",
			file: "tokens:\n  - name: a\n    token_env: A\n    scope: [read]\n",
			env:  map[string]string{"A": "x"},
			want: []string{`line 4: tokens[0]: unknown key "scope" (did you mean "scopes"?)`},
		},
		{
			name: "secret written into the file",
			file: "slack:\n  bot_token: xoxb-oops\n",
			want: []string{`line 2: slack: unknown key "bot_token" (secrets are read from the environment: use "bot_token_env")`},
		},
		{
			name: "bad duration",
			file: "alerts:\n  reopen_window: 30 minutes\n",
			want: []string{`line 2: alerts.reopen_window: invalid duration "30 minutes"`},
		},
		{
			name: "duration without unit",
			file: "deploys: {correlation_window: 30}\n",
			want: []string{`line 1: deploys.correlation_window: invalid duration "30"`},
		},
		{
			name: "bad duration inside an optional section",
			file: "services:\n  a:\n    rollback:\n      command: [x]\n      timeout: soon\n",
			want: []string{`line 5: services.a.rollback.timeout: invalid duration "soon"`},
		},
		{
			name: "unknown grouping",
			file: "alerts:\n  group_by: alertname\n",
			want: []string{`line 2: alerts.group_by: unknown value "alertname" (one of service, group_key)`},
		},
		{
			name: "zero window",
			file: "alerts:\n  reopen_window: 0s\n",
			want: []string{`line 2: alerts.reopen_window: must be a duration greater than zero`},
		},
		{
			name: "zero reminder interval would remind at every tick",
			file: "incidents:\n  ack_reminder: 0s\n",
			want: []string{`line 2: incidents.ack_reminder: must be a duration greater than zero`},
		},
		{
			name: "negative staleness",
			file: "alerts: {stale_after: -1h}\n",
			want: []string{`line 1: alerts.stale_after: must be a duration greater than zero`},
		},
		{
			name: "channels archived at once",
			file: "slack:\n  bot_token_env: B\n  signing_secret_env: S\n  channel: x\n  incident_channels:\n    archive_after: 0s\n",
			env:  map[string]string{"B": "b", "S": "s"},
			want: []string{`line 6: slack.incident_channels.archive_after: must be a duration greater than zero`},
		},
		{
			name: "unknown key under incidents",
			file: "incidents: {ack_remind: 5m}\n",
			want: []string{`line 1: incidents: unknown key "ack_remind" (did you mean "ack_reminder"?)`},
		},
		{
			name: "zero retention would delete jobs as soon as they are delivered",
			file: "retention:\n  delivered_jobs: 0s\n",
			want: []string{`line 2: retention.delivered_jobs: must be a duration greater than zero`},
		},
		{
			name: "a day count must be whole",
			file: "retention: {delivered_jobs: 1.5d}\n",
			want: []string{`line 1: retention.delivered_jobs: invalid duration "1.5d"`},
		},
		{
			name: "explicit zero timeout is not silently the default",
			file: "services:\n  a:\n    rollback:\n      command: [x]\n      timeout: 0s\n",
			want: []string{`line 5: services.a.rollback.timeout: must be a duration greater than zero`},
		},
		{
			name: "wrong type",
			file: "outbox:\n  max_attempts: many\n",
			want: []string{`line 2: outbox.max_attempts: cannot use "many" here: want a whole number`},
		},
		{
			name: "section given as a scalar",
			file: "alerts: yes please\n",
			want: []string{`line 1: alerts: cannot use "yes please" here: want a mapping`},
		},
		{
			name: "key given twice",
			file: "listen: :1\nlisten: :2\n",
			want: []string{`line 2: listen: given more than once`},
		},
		{
			name: "syntax error",
			file: "listen: [unclosed\n",
			want: []string{`config `, `firebreak.yaml: line`},
		},
		{
			name: "two documents",
			file: "listen: :1\n---\nlisten: :2\n",
			want: []string{`second YAML document`},
		},
		{
			name: "missing env var",
			file: productExample,
			env:  map[string]string{"SLACK_BOT_TOKEN": "b", "SLACK_SIGNING_SECRET": "s", "CHECKOUT_ROLLBACK_SECRET": "c", "STATUS_PUSH_SECRET": "p"},
			want: []string{`line 8: tokens[0].token_env: environment variable FIREBREAK_AM_TOKEN is not set`},
		},
		{
			name: "a blank variable is empty, not unset; every missing one listed",
			file: productExample,
			env:  map[string]string{"FIREBREAK_AM_TOKEN": "  ", "CHECKOUT_ROLLBACK_SECRET": "c", "STATUS_PUSH_SECRET": "p"},
			want: []string{
				"3 problems",
				`tokens[0].token_env: environment variable FIREBREAK_AM_TOKEN is set but empty`,
				`line 28: slack.bot_token_env: environment variable SLACK_BOT_TOKEN is not set`,
				`line 29: slack.signing_secret_env: environment variable SLACK_SIGNING_SECRET is not set`,
			},
		},
		{
			name: "token without token_env",
			file: "tokens:\n  - name: a\n    scopes: [read]\n",
			want: []string{`line 2: tokens[0].token_env: is required`},
		},
		{
			name: "unknown policy",
			file: "services:\n  checkout:\n    rollback:\n      policy: always\n      command: [x]\n",
			want: []string{`line 4: services.checkout.rollback.policy: unknown policy "always" (one of auto, confirm, off)`},
		},
		{
			name: "unknown min_severity",
			file: "services:\n  checkout:\n    rollback:\n      min_severity: critical\n      command: [x]\n",
			want: []string{`line 4: services.checkout.rollback.min_severity: unknown severity "critical" (one of sev1, sev2, sev3, sev4)`},
		},
		{
			name: "unknown severity in severity_map",
			file: "alerts:\n  severity_map:\n    critical: sev0\n",
			want: []string{`line 3: alerts.severity_map.critical: unknown severity "sev0"`},
		},
		{
			name: "unknown scope",
			file: "tokens:\n  - name: a\n    token_env: A\n    scopes: [read, alerts:read]\n",
			env:  map[string]string{"A": "x"},
			want: []string{`line 4: tokens[0].scopes[1]: unknown scope "alerts:read" (one of alerts:write, deploys:write, incidents:write, read, admin)`},
		},
		{
			name: "token without scopes",
			file: "tokens:\n  - name: a\n    token_env: A\n",
			env:  map[string]string{"A": "x"},
			want: []string{`line 2: tokens[0].scopes: is required`},
		},
		{
			name: "duplicate and empty token names",
			file: "tokens:\n  - {name: a, token_env: A, scopes: [read]}\n  - {name: a, token_env: A, scopes: [read]}\n  - {token_env: A, scopes: [read]}\n",
			env:  map[string]string{"A": "x"},
			want: []string{`line 3: tokens[1].name: "a" is already used by tokens[0]`, `line 4: tokens[2].name: is required`},
		},
		{
			name: "both webhook and command",
			file: "services:\n  checkout:\n    rollback:\n      webhook: {url: \"http://d/rb\", secret_env: S}\n      command: [x]\n",
			env:  map[string]string{"S": "s"},
			want: []string{`line 3: services.checkout.rollback: has both webhook and command`},
		},
		{
			name: "neither webhook nor command",
			file: "services:\n  checkout:\n    rollback:\n      policy: auto\n",
			want: []string{`line 3: services.checkout.rollback: needs a webhook or a command`},
		},
		{
			name: "empty command",
			file: "services:\n  checkout:\n    rollback:\n      command: []\n",
			want: []string{`line 4: services.checkout.rollback.command: must list the program`},
		},
		{
			name: "relative webhook url and missing secret_env",
			file: "services:\n  checkout:\n    rollback:\n      webhook: {url: /rollback}\n",
			want: []string{
				`line 4: services.checkout.rollback.webhook.url: "/rollback" is not an absolute http:// or https:// URL`,
				`line 4: services.checkout.rollback.webhook.secret_env: is required`,
			},
		},
		{
			name: "unknown driver",
			file: "database:\n  driver: mysql\n",
			want: []string{`line 2: database.driver: unknown driver "mysql" (one of sqlite, postgres)`},
		},
		{
			name: "postgres driver with a file path",
			file: "database:\n  driver: postgres\n  url: data/fb.db\n",
			want: []string{`line 3: database.url: driver postgres needs a postgres:// or postgresql:// URL`},
		},
		{
			name: "sqlite driver with a postgres url",
			file: "database:\n  driver: sqlite\n  url: postgres://db/fb\n",
			want: []string{`line 2: database.driver: is sqlite but url is a PostgreSQL URL`},
		},
		{
			name: "bad listen",
			file: "listen: localhost\n",
			want: []string{`firebreak.yaml: line 1: listen: "localhost" is not host:port`},
			deny: []string{"public_url", "problems"},
		},
		{
			name: "mistyped database url",
			env:  map[string]string{"FIREBREAK_DATABASE_URL": "postgres:/db/fb"},
			want: []string{`database.url (from FIREBREAK_DATABASE_URL): "postgres:/db/fb" is neither a SQLite file path nor a postgres://`},
		},
		{
			name: "other database scheme",
			file: "database: {url: \"mysql://db/fb\"}\n",
			want: []string{`line 1: database.url: "mysql://db/fb" is neither`},
		},
		{
			name: "wrong type inside a flow mapping in a list",
			file: "statuspage:\n  components:\n    - {name: [x], group: Shop}\n",
			want: []string{`line 3: statuspage.components[0].name: cannot use a list here: want a string`},
		},
		{
			name: "list where a mapping belongs",
			file: "tokens: {a: b}\n",
			want: []string{`line 1: tokens: cannot use a mapping here: want a list`},
		},
		{
			name: "bad listen from the environment names the variable",
			env:  map[string]string{"FIREBREAK_LISTEN": "8080"},
			want: []string{`config: `, `listen (from FIREBREAK_LISTEN): "8080" is not host:port`},
		},
		{
			name: "slack without secrets or channel",
			file: "slack: {api_url: not-a-url}\n",
			want: []string{
				`slack.bot_token_env: is required`,
				`slack.signing_secret_env: is required`,
				`slack.channel: is required`,
				`slack.api_url: "not-a-url" is not an absolute`,
			},
		},
		{
			name: "slack incident channels and responders",
			env:  map[string]string{"B": "b", "S": "s"},
			file: "slack:\n  bot_token_env: B\n  signing_secret_env: S\n  channel: C123\n  incident_channels: {min_severity: sev5, prefix: Inc#}\n  responders: [U012ABCDEF, S0GROUP1, alice]\n",
			want: []string{
				`slack.incident_channels.min_severity: unknown severity "sev5"`,
				`slack.incident_channels.prefix: "Inc#" is not a channel name start`,
				`slack.responders[2]: "alice" is not a Slack user id`,
			},
			deny: []string{"responders[0]", "responders[1]"},
		},
		{
			name: "statuspage components must be named and unique",
			file: "statuspage:\n  url: status.example.com\n  time_zone: Mars/Olympus\n  min_severity: sev0\n  components:\n    - {name: API}\n    - {name: API}\n    - {group: Shop}\n  publish:\n    - {url: \"ftp://x\", secret_env: P}\n",
			want: []string{
				`statuspage.url: "status.example.com" is not an absolute`,
				`statuspage.time_zone: "Mars/Olympus" is not an IANA time zone name`,
				`statuspage.min_severity: unknown severity "sev0"`,
				`line 7: statuspage.components[1].name: "API" is already used by statuspage.components[0]`,
				`line 8: statuspage.components[2].name: is required`,
				`line 10: statuspage.publish[0].url: "ftp://x" is not an absolute`,
				`statuspage.publish[0].secret_env: environment variable P is not set`,
			},
		},
		{
			name: "outbox and server limits",
			file: "outbox: {max_attempts: 0}\nserver: {max_body_bytes: -1}\n",
			want: []string{`line 1: outbox.max_attempts: must be at least 1`, `line 2: server.max_body_bytes: must be a number of bytes greater than zero`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			_, err := Load(path, env(tt.env))
			if err == nil {
				t.Fatal("Load accepted it")
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Errorf("error is %T, want *config.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			for _, d := range tt.deny {
				if strings.Contains(err.Error(), d) {
					t.Errorf("error should not contain %q:\n%v", d, err)
				}
			}
		})
	}
}

func TestMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), env(nil))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want an os.ErrNotExist error", err)
	}
}

func TestValidateProblemsAreFieldErrors(t *testing.T) {
	c := Default()
	c.Alerts.ReopenWindow = 0
	c.Tokens = []Token{{Name: "x", Token: "set directly, long enough", Scopes: []string{"read"}}}
	err := c.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "alerts.reopen_window" {
		t.Fatalf("Validate() = %v, want one *FieldError for alerts.reopen_window", err)
	}
	if got := err.Error(); strings.Contains(got, "tokens") {
		t.Errorf("a token whose secret is set directly should pass, got %v", got)
	}
}

// dump shows a Config readably in failure messages, secrets included.
func dump(t *testing.T, c Config) string {
	t.Helper()
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, tok := range c.Tokens {
		secrets = append(secrets, tok.Name+"="+tok.Token)
	}
	return "\n" + string(out) + "secrets: " + strings.Join(secrets, ",")
}

func TestDurationsTakeDays(t *testing.T) {
	cfg, err := Load(writeFile(t, "alerts:\n  reopen_window: 1d12h\npostmortem:\n  due_after: 5d\n"), env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := time.Duration(cfg.Alerts.ReopenWindow); got != 36*time.Hour {
		t.Errorf("reopen_window 1d12h = %s", got)
	}
	if got := time.Duration(cfg.Postmortem.DueAfter); got != 120*time.Hour {
		t.Errorf("due_after 5d = %s", got)
	}
	for _, bad := range []string{"d", "-1d", "1.5d", "1dx", "99999999d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}

func TestBootstrapTokensMustBeLongAndDistinct(t *testing.T) {
	file := "tokens:\n  - {name: am, token_env: AM, scopes: [alerts:write]}\n  - {name: ci, token_env: CI, scopes: [deploys:write]}\n  - {name: short, token_env: SHORT, scopes: [read]}\n"
	_, err := Load(writeFile(t, file), env(map[string]string{"AM": "same-token-0123456789", "CI": "same-token-0123456789", "SHORT": "abc"}))
	if err == nil {
		t.Fatal("a short token and a token given twice were accepted")
	}
	for _, want := range []string{
		"tokens[1].token_env: CI holds the same token as tokens[0]",
		"tokens[2].token_env: the token in SHORT is 3 characters long; use at least 16",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

func TestSetButEmptyIsToldApartFromUnset(t *testing.T) {
	file := "tokens:\n  - {name: am, token_env: AM, scopes: [alerts:write]}\n  - {name: ci, token_env: CI, scopes: [deploys:write]}\n"
	lookup := func(name string) (string, bool) {
		if name == "AM" {
			return "", true
		}
		return "", false
	}
	_, err := LoadEnv(writeFile(t, file), lookup)
	if err == nil || !strings.Contains(err.Error(), "AM is set but empty") || !strings.Contains(err.Error(), "CI is not set") {
		t.Fatalf("error = %v, want AM set but empty and CI not set", err)
	}
}

func TestToolsNeedNoSecrets(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	cfg, err := LoadWithoutSecrets(writeFile(t, productExample), none)
	if err != nil {
		t.Fatalf("LoadWithoutSecrets with no secret variables: %v", err)
	}
	if cfg.Database.URL != "data/firebreak.db" {
		t.Errorf("database url %q", cfg.Database.URL)
	}
	if _, err := LoadEnv(writeFile(t, productExample), none); err == nil {
		t.Error("serve's Load accepted a config whose secrets are missing")
	}
}

func TestEnvironmentAliases(t *testing.T) {
	cfg, err := Load(writeFile(t, "environments:\n  production: [prod, prd]\n  staging: [stg]\n"), env(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := cfg.EnvironmentAliases()
	want := map[string]string{"prod": "production", "prd": "production", "stg": "staging"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("aliases %v, want %v", got, want)
	}
	_, err = Load(writeFile(t, "environments:\n  production: [prod]\n  live: [prod, production]\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), `environments.production[0]: "prod" is already an alias of live`) ||
		!strings.Contains(err.Error(), `"production" is an environment of its own`) {
		t.Errorf("conflicting aliases: %v", err)
	}
}

// An incident_channels section that is present but empty turns the feature on with its
// defaults: sev2 and above, names starting with inc-, archived a week after resolution.
func TestIncidentChannelsStartFromDefaults(t *testing.T) {
	file := "slack:\n  bot_token_env: B\n  signing_secret_env: S\n  channel: \"#incidents\"\n  incident_channels: {}\n"
	cfg, err := Load(writeFile(t, file), env(map[string]string{"B": "b", "S": "s"}))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := cfg.Slack.IncidentChannels; got == nil || *got != (IncidentChannels{MinSeverity: "sev2", Prefix: "inc-", ArchiveAfter: Duration(168 * time.Hour)}) {
		t.Errorf("incident_channels = %+v, want sev2, inc- and archived a week after the incident resolved", got)
	}
}
