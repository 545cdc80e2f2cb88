// Package slack is Firebreak's Slack integration: the /incident slash command, the buttons
// on incident messages and the declare form (a modal), and the messages it keeps in Slack
// for every incident: one message per incident in its service's channel, updated in place
// with the latest state, with people's actions, notes, suspects and rollbacks replied in its
// thread, and optionally a channel per incident.
//
// Everything sent to Slack goes through the outbox: the incident change hook writes a
// delivery job in the change's own transaction, and the job (one per incident at a time,
// coalesced, so only the newest state is sent) brings Slack up to date with the database.
// Requests from Slack are checked against the signing secret before anything else.
//
// The HTTP layer (web) only decodes Slack's requests and writes the answers this package
// builds; it holds no rules. This package never imports fiber.
package slack

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/outbox"
	"firebreak/store"
)

// JobKind is the outbox kind that brings an incident's Slack messages up to date.
const JobKind = "slack.incident"

// Config is the Slack section of the configuration, translated by cmd/firebreak.
type Config struct {
	BotToken      string
	SigningSecret string
	// Channel receives incidents of services without a channel of their own: a name such as
	// "#incidents" or a channel id.
	Channel string
	// ServiceChannels maps a service to its channel.
	ServiceChannels map[string]string
	// RollbackServices are the services with a rollback hook that people may call: only
	// their messages get a Roll back button.
	RollbackServices map[string]bool
	// PublicURL is where people open an incident (PublicURL/incidents/ID).
	PublicURL string
	// APIURL points the client at another Slack Web API, ending in "/" (tests); empty means
	// Slack's.
	APIURL string
	// IncidentChannels, when not nil, gives incidents at or above a severity their own channel.
	IncidentChannels *IncidentChannels
	// Responders are user ids (U…, W…) and user group ids (S…): invited to incident channels
	// and, when not empty, the only ones allowed to acknowledge, remediate, resolve or roll
	// back from Slack.
	Responders []string
	// CommandBudget is how long a command may run before Slack gets an immediate "working on
	// it" and the answer follows through the command's response_url. Slack waits 3 s.
	CommandBudget time.Duration
	// HTTPTimeout bounds one call to Slack's Web API.
	HTTPTimeout time.Duration
	// MaxAttempts and MaxBackoff tune the delivery job's retries while Slack is down (a
	// rate limit is waited out and spends no attempt).
	MaxAttempts int
	MaxBackoff  time.Duration
}

// IncidentChannels is slack.incident_channels.
type IncidentChannels struct {
	MinSeverity incidents.Severity
	// Prefix starts every channel's name (inc-).
	Prefix string
}

// Deps are the services the integration calls.
type Deps struct {
	DB        *store.DB
	Incidents *incidents.Manager
	// Tracker finds suspected deploys; nil when deploys are not tracked.
	Tracker *deploys.Tracker
	// Rollbacks requests rollbacks; nil when no service has a hook.
	Rollbacks *deploys.Rollbacks
	Outbox    *outbox.Outbox
	// HTTPClient carries the calls to Slack; one with Config.HTTPTimeout when nil.
	HTTPClient *http.Client
	Clock      func() time.Time
	Log        *slog.Logger
}

// Service is the Slack integration.
type Service struct {
	cfg      Config
	deps     Deps
	api      *slackapi.Client
	verifier *Verifier
	log      *slog.Logger
	pace     *pacer
	groups   *groupCache
	// later tracks answers still being worked on after Slack got "working on it".
	later sync.WaitGroup
}

// Defaults of Config.
const (
	defaultCommandBudget = 2500 * time.Millisecond
	defaultHTTPTimeout   = 10 * time.Second
	defaultMaxAttempts   = 30
	defaultMaxBackoff    = 5 * time.Minute
)

// New builds the integration and registers its delivery job with the outbox. Register
// OnIncidentChanges with the incident manager (OnChanges) to have incidents posted.
func New(cfg Config, d Deps) (*Service, error) {
	switch {
	case d.DB == nil || d.Incidents == nil || d.Outbox == nil:
		return nil, errors.New("slack: the database, incidents and outbox are required")
	case cfg.BotToken == "" || cfg.SigningSecret == "":
		return nil, errors.New("slack: the bot token and the signing secret are required")
	case cfg.Channel == "":
		return nil, errors.New("slack: a default channel is required")
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if cfg.CommandBudget <= 0 {
		cfg.CommandBudget = defaultCommandBudget
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = defaultHTTPTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = defaultMaxAttempts
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = defaultMaxBackoff
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if ic := cfg.IncidentChannels; ic != nil {
		if _, err := incidents.ParseSeverity(string(ic.MinSeverity)); err != nil {
			return nil, fmt.Errorf("slack: incident channels: %w", err)
		}
		if ic.Prefix == "" {
			ic.Prefix = "inc-"
		}
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{Timeout: cfg.HTTPTimeout}
	}
	opts := []slackapi.Option{slackapi.OptionHTTPClient(d.HTTPClient)}
	if cfg.APIURL != "" {
		u := cfg.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slackapi.OptionAPIURL(u))
	}
	s := &Service{
		cfg:      cfg,
		deps:     d,
		api:      slackapi.New(cfg.BotToken, opts...),
		verifier: NewVerifier(cfg.SigningSecret, d.Clock),
		log:      d.Log,
		pace:     newPacer(d.Clock),
		groups:   newGroupCache(d.Clock),
	}
	d.Outbox.RegisterKind(JobKind, s, outbox.KindOptions{
		// One job makes a handful of calls, each bounded by the HTTP timeout.
		Lease:       max(2*time.Minute, 10*cfg.HTTPTimeout),
		MaxAttempts: cfg.MaxAttempts,
		MaxBackoff:  cfg.MaxBackoff,
		Coalesce:    true,
	})
	// Registered whatever the config says: a job queued while incident channels were on
	// still finds its handler after they are turned off.
	d.Outbox.RegisterKind(ArchiveJobKind, archiver{s}, outbox.KindOptions{
		Lease:       max(time.Minute, 3*cfg.HTTPTimeout),
		MaxAttempts: cfg.MaxAttempts,
		MaxBackoff:  cfg.MaxBackoff,
	})
	return s, nil
}

// VerifySlack checks a request's signature; see Verifier.
func (s *Service) VerifySlack(h http.Header, body []byte) error {
	return s.verifier.VerifySlack(h, body)
}

// Wait waits for the answers still being worked on after their request was answered with
// "working on it" (each is bounded by its own timeout).
func (s *Service) Wait() { s.later.Wait() }

// channelFor is the channel an incident of service is posted to.
func (s *Service) channelFor(service string) string {
	if ch := s.cfg.ServiceChannels[service]; ch != "" {
		return ch
	}
	return s.cfg.Channel
}

// now is the service's clock in UTC.
func (s *Service) now() time.Time { return s.deps.Clock().UTC() }
