// Package config reads firebreak.yaml: the types of every key, their
// defaults (defaults.go), a strict loader that refuses unknown keys and
// resolves secrets from the environment (load.go), and validation whose
// messages name the offending key (validate.go).
//
// The package is a leaf: it imports no other Firebreak package, so that
// cmd/firebreak can load the file once and hand each domain package the
// section it needs. Nothing here is global.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole of firebreak.yaml after defaults, FIREBREAK_*
// overrides and *_env secrets have been applied. Optional features are
// pointers or maps: nil or empty means the feature is off.
type Config struct {
	// Listen is the host:port the HTTP server binds.
	Listen string `yaml:"listen"`
	// PublicURL is how people and Slack reach this server; links in
	// messages and webhooks are built from it. No trailing slash.
	PublicURL string `yaml:"public_url"`
	// Database selects the storage engine.
	Database Database `yaml:"database"`
	// Tokens are bootstrap API tokens, so that Alertmanager and CI can be
	// configured before anyone has run `firebreak token create`.
	Tokens []Token `yaml:"tokens,omitempty"`
	// Environments declares aliases of environment names, canonical name first:
	// {production: [prod, prd]} makes an alert, a deploy or a query naming prod or prd
	// mean production, so deploys recorded as "prod" correlate with alerts saying
	// "production".
	Environments map[string][]string `yaml:"environments,omitempty"`
	// Incidents tunes the reminders about open incidents.
	Incidents Incidents `yaml:"incidents"`
	// Alerts tunes how Alertmanager payloads become incidents.
	Alerts Alerts `yaml:"alerts"`
	// Deploys tunes deploy correlation.
	Deploys Deploys `yaml:"deploys"`
	// Services holds per-service settings, keyed by the service name found
	// in alert labels and deploy events. A service not listed still gets
	// incidents; it just has no own channel and no rollback.
	Services map[string]Service `yaml:"services,omitempty"`
	// Slack enables the Slack integration; nil means no Slack.
	Slack *Slack `yaml:"slack,omitempty"`
	// Statuspage enables the public status page; nil means none.
	Statuspage *Statuspage `yaml:"statuspage,omitempty"`
	// Postmortem tunes postmortem reminders.
	Postmortem Postmortem `yaml:"postmortem"`
	// Outbox tunes delivery retries of Slack messages, rollback hooks and
	// status pushes.
	Outbox Outbox `yaml:"outbox"`
	// Server tunes the HTTP server's limits.
	Server Server `yaml:"server"`
	// UI configures the web UI's login proxy.
	UI UI `yaml:"ui"`
	// Retention says how long finished records are kept before the scheduled clean-up
	// deletes them.
	Retention Retention `yaml:"retention"`

	// env records how Load read the *_env secrets, for Validate's messages.
	env secretEnv
}

// EnvironmentAliases maps every alias of environments to its canonical name.
func (c Config) EnvironmentAliases() map[string]string {
	out := map[string]string{}
	for canonical, aliases := range c.Environments {
		for _, a := range aliases {
			out[a] = canonical
		}
	}
	return out
}

// secretEnv is what Load learnt about the secret variables: which were set (even if
// empty), and whether secrets were skipped altogether (LoadWithoutSecrets).
type secretEnv struct {
	set  map[string]bool
	skip bool
}

// Database drivers accepted in database.driver.
const (
	// DriverSQLite is the embedded default: one instance, no setup.
	DriverSQLite = "sqlite"
	// DriverPostgres lets several serve replicas share one database.
	DriverPostgres = "postgres"
)

// Database says where Firebreak keeps its state.
type Database struct {
	// Driver is DriverSQLite or DriverPostgres. Left out, it follows URL:
	// a postgres:// or postgresql:// URL means postgres, anything else sqlite.
	Driver string `yaml:"driver"`
	// URL is a SQLite file path or a PostgreSQL URL.
	URL string `yaml:"url"`
}

// Token is one bootstrap API token. Its value only ever comes from the
// environment, so the file can be committed without leaking it.
type Token struct {
	// Name identifies the token in logs and timelines.
	Name string `yaml:"name"`
	// TokenEnv names the environment variable holding the token.
	TokenEnv string `yaml:"token_env"`
	// Token is the secret read from TokenEnv by Load; never written back
	// to YAML.
	Token string `yaml:"-"`
	// Scopes are what the token may do: alerts:write, deploys:write,
	// incidents:write, read, admin.
	Scopes []string `yaml:"scopes"`
}

// Alerts tunes alert ingestion and grouping.
type Alerts struct {
	// ServiceLabels are the alert labels that name the service, first
	// present wins.
	ServiceLabels []string `yaml:"service_labels"`
	// EnvironmentLabels are the alert labels that name the environment,
	// first present wins.
	EnvironmentLabels []string `yaml:"environment_labels"`
	// SeverityMap maps the alert's severity label value to sev1..sev4.
	// A map given in the file replaces the default one entirely, so that
	// what the file says is all there is.
	SeverityMap map[string]string `yaml:"severity_map"`
	// ReopenWindow is how long after resolving an incident a new alert of
	// the same group reopens it instead of opening a new one (flapping).
	ReopenWindow Duration `yaml:"reopen_window"`
	// MaxBodyBytes caps an Alertmanager webhook body; Alertmanager sends a
	// whole group in one notification, so this is far larger than
	// Server.MaxBodyBytes: the default fits a 50,000-alert group.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// GroupBy is how a new alert finds its incident: "service" (the open
	// incident of its service and environment; an alert without a service
	// label joins its Alertmanager group's) or "group_key" (always its
	// Alertmanager group's).
	GroupBy string `yaml:"group_by"`
	// StaleAfter is how long a firing alert may go without Alertmanager
	// sending it again before its incident's timeline says Alertmanager may
	// have lost it. Alertmanager re-sends firing alerts every repeat_interval
	// (4h by default), so keep this well above that.
	StaleAfter Duration `yaml:"stale_after"`
}

// Incidents tunes what Firebreak does about incidents nobody handles.
type Incidents struct {
	// AckReminder is how long an incident may stay unacknowledged (observing)
	// before its Slack thread is reminded, and again after each further
	// period. Only with Slack.
	AckReminder Duration `yaml:"ack_reminder"`
}

// The values of alerts.group_by.
const (
	GroupByService  = "service"
	GroupByGroupKey = "group_key"
)

// Deploys tunes how deploys are matched with incidents.
type Deploys struct {
	// CorrelationWindow is how long before an incident's impact start a
	// finished deploy of the same service and environment is a suspect.
	CorrelationWindow Duration `yaml:"correlation_window"`
}

// Service holds the settings of one service.
type Service struct {
	// SlackChannel is where this service's incidents are posted; empty
	// means Slack.Channel.
	SlackChannel string `yaml:"slack_channel,omitempty"`
	// Rollback is the service's rollback hook; nil means no rollback.
	Rollback *Rollback `yaml:"rollback,omitempty"`
	// Actions are the service's other remedies by name (abort_canary, disable_flag or a
	// name of its own), each a hook like Rollback with its own policy.
	Actions map[string]*Rollback `yaml:"actions,omitempty"`
}

// Rollback policies accepted in services.X.rollback.policy.
const (
	// PolicyAuto rolls back as soon as an incident of at least
	// MinSeverity has a suspect deploy.
	PolicyAuto = "auto"
	// PolicyConfirm rolls back only when a person asks (Slack or API).
	PolicyConfirm = "confirm"
	// PolicyOff keeps the hook configured but never calls it.
	PolicyOff = "off"
)

// Rollback describes how to roll a service back: exactly one of Webhook
// or Command, and when to do it.
type Rollback struct {
	// Policy is PolicyAuto, PolicyConfirm or PolicyOff.
	Policy string `yaml:"policy"`
	// MinSeverity is the least severe incident (sev1..sev4) that triggers
	// an automatic rollback under PolicyAuto.
	MinSeverity string `yaml:"min_severity"`
	// Webhook is called with a signed POST; nil when Command is used.
	Webhook *Webhook `yaml:"webhook,omitempty"`
	// Command is run directly (argv, no shell); empty when Webhook is used.
	Command []string `yaml:"command,omitempty"`
	// Timeout bounds one run of Command.
	Timeout Duration `yaml:"timeout"`
}

// Webhook is a signed outbound HTTP hook.
type Webhook struct {
	// URL receives the POST.
	URL string `yaml:"url"`
	// SecretEnv names the environment variable holding the HMAC key.
	SecretEnv string `yaml:"secret_env"`
	// Secret is the HMAC key read from SecretEnv by Load.
	Secret string `yaml:"-"`
	// Timeout bounds one HTTP call.
	Timeout Duration `yaml:"timeout"`
}

// Slack configures the Slack app. Both secrets come from the
// environment.
type Slack struct {
	// BotTokenEnv names the environment variable holding the xoxb- token.
	BotTokenEnv string `yaml:"bot_token_env"`
	// SigningSecretEnv names the environment variable holding the signing
	// secret that authenticates Slack's requests.
	SigningSecretEnv string `yaml:"signing_secret_env"`
	// BotToken is read from BotTokenEnv by Load.
	BotToken string `yaml:"-"`
	// SigningSecret is read from SigningSecretEnv by Load.
	SigningSecret string `yaml:"-"`
	// Channel receives incidents of services without their own channel: a
	// name such as "#incidents" or a channel id.
	Channel string `yaml:"channel"`
	// IncidentChannels gives incidents at or above a severity a channel of
	// their own; nil means none.
	IncidentChannels *IncidentChannels `yaml:"incident_channels,omitempty"`
	// Responders are Slack user ids (U…, W…) and user group ids (S…). They
	// are invited to incident channels and, when the list is not empty,
	// only they may acknowledge, remediate, resolve or roll back an
	// incident from Slack.
	Responders []string `yaml:"responders,omitempty"`
	// APIURL points the client at another Slack API (tests); empty means
	// Slack itself.
	APIURL string `yaml:"api_url,omitempty"`
}

// IncidentChannels configures a Slack channel per incident.
type IncidentChannels struct {
	// MinSeverity is the least severe incident (sev1..sev4) that gets a
	// channel: sev2 means sev1 and sev2 incidents.
	MinSeverity string `yaml:"min_severity"`
	// Prefix starts every channel's name: <prefix><id>-<title words>.
	Prefix string `yaml:"prefix"`
	// ArchiveAfter is how long after its incident resolved a channel is
	// archived (once; it stays readable in Slack).
	ArchiveAfter Duration `yaml:"archive_after"`
}

// Statuspage configures the public status page.
type Statuspage struct {
	// Title is the page's heading.
	Title string `yaml:"title"`
	// URL is the page's public address (Statuspage's page.url); empty means
	// the status-server's public_url, and relative links in an export.
	URL string `yaml:"url,omitempty"`
	// TimeZone is the IANA zone the page shows times in and starts uptime
	// days at; empty means UTC.
	TimeZone string `yaml:"time_zone,omitempty"`
	// MinSeverity is the least severe incident (sev1..sev4) that changes a
	// component's status: sev2 means sev1 and sev2 incidents.
	MinSeverity string `yaml:"min_severity"`
	// Components are what the public sees, each following the incidents
	// of its services.
	Components []Component `yaml:"components,omitempty"`
	// Publish lists the status-servers that receive signed snapshots;
	// empty means export only.
	Publish []Publish `yaml:"publish,omitempty"`
}

// Component is one line of the status page.
type Component struct {
	// Name is shown to the public and must be unique.
	Name string `yaml:"name"`
	// Group places the component under a heading; empty means none.
	Group string `yaml:"group,omitempty"`
	// Services are the services whose incidents change its status.
	Services []string `yaml:"services,omitempty"`
	// Automatic makes its status follow the incidents of its services;
	// false keeps it operational except during maintenance.
	Automatic bool `yaml:"automatic"`
	// Description is shown under its name; empty means none.
	Description string `yaml:"description,omitempty"`
}

// Publish is one status-server that snapshots are pushed to.
type Publish struct {
	// URL is the status-server's push endpoint (…/api/push).
	URL string `yaml:"url"`
	// SecretEnv names the environment variable holding the shared key.
	SecretEnv string `yaml:"secret_env"`
	// Secret is read from SecretEnv by Load.
	Secret string `yaml:"-"`
}

// Postmortem tunes postmortem reminders.
type Postmortem struct {
	// DueAfter is how long a sev1/sev2 postmortem may stay a draft after
	// the incident resolved before Slack reminds people.
	DueAfter Duration `yaml:"due_after"`
}

// Outbox tunes retries of outbound deliveries.
type Outbox struct {
	// MaxAttempts is how often a delivery is tried before giving up.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxBackoff caps the exponential wait between attempts.
	MaxBackoff Duration `yaml:"max_backoff"`
}

// Server tunes the HTTP server, so a slow or huge request cannot hold it.
type Server struct {
	// ReadTimeout bounds reading one request.
	ReadTimeout Duration `yaml:"read_timeout"`
	// WriteTimeout bounds writing one response.
	WriteTimeout Duration `yaml:"write_timeout"`
	// MaxBodyBytes caps API request bodies (the Alertmanager endpoint has
	// Alerts.MaxBodyBytes).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Retention tunes the scheduled clean-up.
type Retention struct {
	// DeliveredJobs is how long an outbox job is kept after it was delivered (Slack
	// messages, rollback calls, status pushes), and how long a Slack thread reply is kept
	// after it was posted and a Slack user's display name after it was fetched. Failed
	// (given-up) jobs are kept: someone may need to see why.
	DeliveredJobs Duration `yaml:"delivered_jobs"`
}

// Service returns the settings of the named service and whether the file
// lists it, so callers need not nil-check the map.
func (c Config) Service(name string) (Service, bool) {
	s, ok := c.Services[name]
	return s, ok
}

// Duration is a time.Duration written in YAML as a Go duration string
// ("30m", "120h"), since a bare number would leave the unit to guesswork.
type Duration time.Duration

// String formats d as a Go duration without trailing zero units
// ("30m", not "30m0s"), as a person would write it in the file.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalYAML writes d as its String form, so a marshalled Config loads
// back unchanged.
func (d Duration) MarshalYAML() (any, error) {
	return d.String(), nil
}

// UnmarshalYAML reads a Go duration string, or days ("30d", "1d12h"), since retention
// and due dates are thought of in days. The error carries the line and column, so Load
// can name the key it belongs to.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return positionError(n, "must be a duration such as 30m, 120h or 30d")
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return positionError(n, "invalid duration %q: use a duration such as 30m, 120h or 30d", n.Value)
	}
	*d = Duration(v)
	return nil
}

// ParseDuration reads a Go duration with an optional leading whole number of days:
// "30d", "1d12h", "90m".
func ParseDuration(s string) (time.Duration, error) {
	days, rest, hasDays := strings.Cut(s, "d")
	if !hasDays {
		return time.ParseDuration(s)
	}
	n, err := strconv.ParseUint(days, 10, 32)
	if err != nil || days == "" || n > 36500 {
		return 0, fmt.Errorf("invalid day count in %q", s)
	}
	d := time.Duration(n) * 24 * time.Hour
	if rest != "" {
		r, err := time.ParseDuration(rest)
		if err != nil || r < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		d += r
	}
	return d, nil
}
