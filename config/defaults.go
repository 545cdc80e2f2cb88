package config

import (
	"net"
	"time"
)

// Every default lives in this file, so the documented defaults and the
// running ones cannot drift apart.
const (
	defaultListen      = "127.0.0.1:8080"
	defaultDatabaseURL = "data/firebreak.db"

	defaultReopenWindow      = 30 * time.Minute
	defaultCorrelationWindow = 30 * time.Minute
	defaultPostmortemDue     = 120 * time.Hour // 5 days
	defaultAckReminder       = 15 * time.Minute
	// Alertmanager re-sends a firing alert every repeat_interval (4h by default): a
	// day of silence is several missed repeats, not a slow one.
	defaultStaleAfter = 24 * time.Hour

	// Alertmanager sends a whole group in one notification and drops it when
	// refused. A realistic kube-prometheus alert (13 labels, 3 annotations,
	// generator URL) is about 1,000 bytes as JSON, so a 50,000-alert group
	// is 47.4 MiB; 64 MiB leaves a third more for longer labels.
	defaultAlertBodyBytes = 64 << 20
	defaultAPIBodyBytes   = 1 << 20 // 1 MiB

	defaultOutboxAttempts = 8
	defaultOutboxBackoff  = 5 * time.Minute

	defaultDeliveredJobsRetention = 168 * time.Hour // a week

	defaultReadTimeout  = 30 * time.Second
	defaultWriteTimeout = 30 * time.Second

	defaultRollbackPolicy      = PolicyConfirm // a person decides unless told otherwise
	defaultRollbackMinSeverity = "sev2"
	defaultRollbackTimeout     = 60 * time.Second
	defaultWebhookTimeout      = 10 * time.Second

	defaultStatuspageTitle       = "Status"
	defaultStatuspageMinSeverity = "sev2"

	defaultIncidentChannelSeverity = "sev2"
	defaultIncidentChannelPrefix   = "inc-"
	defaultIncidentChannelArchive  = 168 * time.Hour // a week after the incident resolved
)

// Default returns the configuration used when there is no file: SQLite
// at data/firebreak.db, listening on 127.0.0.1:8080, with Slack, the
// status page and rollbacks off. Load starts from it, so a key left out
// of the file keeps the value here.
func Default() Config {
	return Config{
		Listen:    defaultListen,
		PublicURL: publicURLFor(defaultListen),
		Database:  Database{Driver: DriverSQLite, URL: defaultDatabaseURL},
		Alerts: Alerts{
			ServiceLabels:     []string{"service", "app", "job"},
			EnvironmentLabels: []string{"env", "environment"},
			SeverityMap:       defaultSeverityMap(),
			ReopenWindow:      Duration(defaultReopenWindow),
			MaxBodyBytes:      defaultAlertBodyBytes,
			GroupBy:           GroupByService,
			StaleAfter:        Duration(defaultStaleAfter),
		},
		Incidents:  Incidents{AckReminder: Duration(defaultAckReminder)},
		Deploys:    Deploys{CorrelationWindow: Duration(defaultCorrelationWindow)},
		Postmortem: Postmortem{DueAfter: Duration(defaultPostmortemDue)},
		Outbox: Outbox{
			MaxAttempts: defaultOutboxAttempts,
			MaxBackoff:  Duration(defaultOutboxBackoff),
		},
		Server: Server{
			ReadTimeout:  Duration(defaultReadTimeout),
			WriteTimeout: Duration(defaultWriteTimeout),
			MaxBodyBytes: defaultAPIBodyBytes,
		},
		Retention: Retention{DeliveredJobs: Duration(defaultDeliveredJobsRetention)},
	}
}

// defaultSeverityMap follows Alertmanager's customary severity label
// values. It is a function so that no caller shares (and mutates) one map.
func defaultSeverityMap() map[string]string {
	return map[string]string{
		"critical": "sev1",
		"error":    "sev2",
		"warning":  "sev3",
		"info":     "sev4",
	}
}

// defaultRollback holds what a services.X.rollback section starts from;
// the section itself is optional, so these apply only once it is present.
func defaultRollback() Rollback {
	return Rollback{
		Policy:      defaultRollbackPolicy,
		MinSeverity: defaultRollbackMinSeverity,
		Timeout:     Duration(defaultRollbackTimeout),
	}
}

// defaultWebhook holds what a rollback webhook section starts from.
func defaultWebhook() Webhook {
	return Webhook{Timeout: Duration(defaultWebhookTimeout)}
}

// defaultStatuspage holds what a statuspage section starts from.
func defaultStatuspage() Statuspage {
	return Statuspage{Title: defaultStatuspageTitle, MinSeverity: defaultStatuspageMinSeverity}
}

// defaultComponent holds what a statuspage.components entry starts from:
// its status follows its services' incidents.
func defaultComponent() Component {
	return Component{Automatic: true}
}

// publicURLFor derives the public URL from the listen address when the
// file gives none: a wildcard host is not something a browser can open,
// so it becomes localhost. An unparsable address yields "" and is
// reported by Validate under listen.
func publicURLFor(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// defaultIncidentChannels holds what a slack.incident_channels section
// starts from.
func defaultIncidentChannels() IncidentChannels {
	return IncidentChannels{MinSeverity: defaultIncidentChannelSeverity, Prefix: defaultIncidentChannelPrefix,
		ArchiveAfter: Duration(defaultIncidentChannelArchive)}
}
