// Package publish is the platform's half of the status page: it keeps the page's components
// and scheduled maintenances, builds a statuspage.Snapshot from them and from the incidents,
// pushes it, signed, to every status-server (statuspage.publish in firebreak.yaml), and
// exports it as static files. Package statuspage renders and serves; this package decides
// what the public sees.
//
// # What goes public
//
// People choose: an incident is on the page once it has a public update (a public note,
// Slack's /incident update, or one this package adds), under its public title if one was
// set, else its title. Each public update carries a status; a public note that names none
// keeps the status the incident has on the page, or the one its phase gives for its first
// update. When the phase moves the public status (observing and responding: investigating;
// remediating: identified; mitigated: monitoring; resolved: resolved) this package adds an
// update with Statuspage's standard text, unless that would move it back from a status a
// person named (a reopen always goes back to investigating). Internal notes never go out.
// Impact follows severity: sev1 critical, sev2 major, sev3 minor, sev4 none.
//
// # Components
//
// A component's status is, in order: the status a person set by hand (the API), else the
// worst of its open incidents of at least MinSeverity (sev1 major_outage, sev2
// partial_outage, sev3 and sev4 degraded_performance) when it is automatic, and
// under_maintenance during a maintenance window naming it. An incident affects the
// components it names (public_components) or, naming none, those listing its service. The
// uptime bars get every such incident of the last 90 days as a status period, from its
// impact start to its resolution, plus the maintenance windows and a status set by hand.
// Components from the config file are created and updated at start; the API refuses to
// change or delete them.
//
// # Pushing
//
// Every public change enqueues an outbox job per status-server, in the transaction of the
// change, of a coalescing kind: of the jobs waiting for one server only the newest is
// delivered. The job builds the snapshot when it runs, from what is committed then, with a
// sequence taken from a one-row counter in the database at that moment: a later push of one
// server always carries a newer state and a higher sequence, whichever replica sends it,
// and the counter never goes back across restarts (it is also kept at least the Unix time
// in milliseconds, so a platform whose database was replaced still outnumbers what a
// status-server has seen). A status-server answering 409 already holds a newer snapshot:
// the job is done. A scheduled heartbeat pushes every minute.
package publish
