package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"firebreak/config"
	"firebreak/incidents"
	"firebreak/scheduler"
	"firebreak/statuspage"
	"firebreak/statuspage/publish"
	"firebreak/store"
)

// The status page's scheduled jobs: every minute, the heartbeat pushes the page (only with
// statuspage.publish), and maintenance windows start and end.
const (
	StatusHeartbeatJob   = "status-heartbeat"
	StatusMaintenanceJob = "status-maintenance"
	statusJobSpec        = "0 * * * * *"
)

// wireStatuspage makes the status page service when the config has a statuspage section
// (nil otherwise): it sets the components of the config file, registers the push job kind
// on the outbox and follows every incident change.
func wireStatuspage(ctx context.Context, a *App, log *slog.Logger) (*publish.Service, error) {
	if a.Config.Statuspage == nil {
		return nil, nil
	}
	svc := publish.New(a.DB, a.Incidents, a.Outbox, StatuspageOptions(a.Config, log))
	if err := svc.SyncConfig(ctx); err != nil {
		return nil, err
	}
	a.Incidents.OnChange(svc.OnIncidentChange)
	return svc, nil
}

// scheduleStatuspage adds the status page's jobs; nothing without a status page.
func scheduleStatuspage(s *scheduler.Scheduler, svc *publish.Service) error {
	if svc == nil {
		return nil
	}
	err := s.Add(scheduler.Job{Name: StatusMaintenanceJob, Spec: statusJobSpec, Run: func(ctx context.Context, q store.Querier, at time.Time) error {
		_, err := svc.AdvanceMaintenancesTx(ctx, q, at)
		return err
	}})
	if err != nil {
		return fmt.Errorf("schedule %s: %w", StatusMaintenanceJob, err)
	}
	if !svc.Publishing() {
		return nil
	}
	err = s.Add(scheduler.Job{Name: StatusHeartbeatJob, Spec: statusJobSpec, Run: func(ctx context.Context, q store.Querier, _ time.Time) error {
		return svc.PublishTx(ctx, q)
	}})
	if err != nil {
		return fmt.Errorf("schedule %s: %w", StatusHeartbeatJob, err)
	}
	return nil
}

// StatuspageOptions translates the statuspage section of the config.
func StatuspageOptions(cfg config.Config, log *slog.Logger) publish.Options {
	sp := cfg.Statuspage
	opts := publish.Options{
		Page:        statuspage.Page{Name: sp.Title, URL: sp.URL, TimeZone: sp.TimeZone},
		MinSeverity: incidents.Severity(sp.MinSeverity),
		Log:         log,
	}
	for _, c := range sp.Components {
		opts.Components = append(opts.Components, publish.ConfigComponent{Name: c.Name, Group: c.Group,
			Services: c.Services, Automatic: c.Automatic, Description: c.Description})
	}
	for _, p := range sp.Publish {
		opts.Targets = append(opts.Targets, publish.Target{URL: p.URL, Secret: []byte(p.Secret)})
	}
	return opts
}

// Statuspage wires the status page over an open database for `statuspage export`: the
// components of the config are set, nothing is pushed and no secret is needed. The config
// must have a statuspage section.
func Statuspage(ctx context.Context, db *store.DB, cfg config.Config, log *slog.Logger) (*publish.Service, error) {
	if cfg.Statuspage == nil {
		return nil, fmt.Errorf("the config has no statuspage section: there is no status page to export")
	}
	opts := StatuspageOptions(cfg, log)
	opts.Targets = nil
	svc := publish.New(db, incidents.NewManager(db, nil), nil, opts)
	if err := svc.SyncConfig(ctx); err != nil {
		return nil, err
	}
	return svc, nil
}
