package app

import (
	"fmt"
	"time"

	"firebreak/config"
	"firebreak/incidents"
	slacknotify "firebreak/notify/slack"
	"firebreak/web"
)

// minSlackAttempts: with outbox.max_backoff at its 5 minutes, about two hours of tries.
const minSlackAttempts = 30

// wireSlack makes the Slack integration when the config has a slack section: it registers
// its delivery job with the outbox and sees every incident change (after the deploy
// tracker, so a new incident's suspects are matched first). nil when Slack is off.
func wireSlack(a *App, opts Options) (*slacknotify.Service, error) {
	cfg := a.Config
	if cfg.Slack == nil {
		return nil, nil
	}
	sc := slackConfig(cfg)
	svc, err := slacknotify.New(sc, slacknotify.Deps{
		DB:        a.DB,
		Incidents: a.Incidents,
		Tracker:   a.Tracker,
		Rollbacks: a.Rollbacks,
		Outbox:    a.Outbox,
		Clock:     opts.Now,
		Log:       opts.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	a.Incidents.OnChanges(svc.OnIncidentChanges)
	return svc, nil
}

// slackConfig translates the slack section and the services' channels and rollback hooks.
func slackConfig(cfg config.Config) slacknotify.Config {
	s := cfg.Slack
	sc := slacknotify.Config{
		BotToken:         s.BotToken,
		SigningSecret:    s.SigningSecret,
		Channel:          s.Channel,
		ServiceChannels:  map[string]string{},
		RollbackServices: map[string]bool{},
		PublicURL:        cfg.PublicURL,
		APIURL:           s.APIURL,
		Responders:       s.Responders,
		// An incident's last change may be its only chance to reach Slack: its job keeps
		// trying through a Slack outage of a couple of hours (rate limits cost no attempt).
		MaxAttempts: max(cfg.Outbox.MaxAttempts, minSlackAttempts),
		MaxBackoff:  time.Duration(cfg.Outbox.MaxBackoff),
	}
	for name, svc := range cfg.Services {
		if svc.SlackChannel != "" {
			sc.ServiceChannels[name] = svc.SlackChannel
		}
		if svc.Rollback != nil && svc.Rollback.Policy != config.PolicyOff {
			sc.RollbackServices[name] = true
		}
	}
	if ic := s.IncidentChannels; ic != nil {
		sc.IncidentChannels = &slacknotify.IncidentChannels{MinSeverity: incidents.Severity(ic.MinSeverity), Prefix: ic.Prefix}
	}
	return sc
}

// slackForWeb is what the web server's /slack endpoints call: nil (no endpoints) when Slack
// is off. A nil *Service must not become a non-nil interface.
func (a *App) slackForWeb() web.SlackVerifier {
	if a.Slack == nil {
		return nil
	}
	return a.Slack
}
