package alerts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/alertmanager/template"

	"firebreak/incidents"
	"firebreak/store"
)

// group is the incident group of an alert (PRODUCT.md "Alerts", grouping): its service and
// environment when it has a service label, else its Alertmanager group key; with
// alerts.group_by: group_key, always the group key. It also returns the alert's service and
// environment, which a new incident is opened with either way.
func (in *Ingester) group(groupKey string, a template.Alert) (g incidents.AlertGroup, service, env string) {
	service = boundedName(firstLabel(a.Labels, in.opts.ServiceLabels))
	env = boundedName(in.opts.EnvironmentAliases.Canonical(firstLabel(a.Labels, in.opts.EnvironmentLabels)))
	g.GroupKey = boundedKey(groupKey)
	switch {
	case in.opts.GroupBy == GroupByGroupKey:
		g.ByGroupKey = true
	case service != "":
		g.Service, g.Environment = service, env
	}
	return g, service, env
}

// groupLocks are the grouping locks of an alert's group: its own, and when grouped by group
// key, its service's too, which recording a deploy takes (so that a deploy recorded while
// the incident opens is matched with it).
func groupLocks(g incidents.AlertGroup, service, env string) []string {
	if g.ByGroupKey && service != "" {
		return []string{g.LockKey(), incidents.ServiceLockKey(service, env)}
	}
	return []string{g.LockKey()}
}

// lockKeys are the grouping locks a payload needs: those of every group its alerts belong
// to, resolved alerts included (they may resolve the group's incident). Every incident an
// alert reaches belongs to one group, so a transaction holding these keys is alone on those
// incidents among alert transactions. The group commit takes the keys of a whole batch at
// once, in one order.
func (in *Ingester) lockKeys(p Payload) []string {
	seen := map[string]bool{}
	var keys []string
	for _, a := range p.Alerts {
		for _, k := range groupLocks(in.group(p.GroupKey, a)) {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// openOccurrence stores a new firing occurrence in the incident it belongs to: the open
// incident of its group, a recently resolved one reopened, or a new one.
func (in *Ingester) openOccurrence(ctx context.Context, q store.Querier, s *payloadState, a template.Alert, fp string,
	startsAt time.Time) (int64, error) {
	now := s.now
	g, service, env := in.group(s.p.GroupKey, a)
	sev := in.severity(a)
	name := a.Labels["alertname"]

	// A webhook's alerts mostly share their group, so the lookup runs once per payload and
	// group rather than once per new alert. FindOpenTx locks the incident (PostgreSQL): no
	// one resolves it while the alert joins.
	inc, ok := s.b.seen[g]
	opened, reopened := false, false
	if !ok {
		err := incidents.ErrNotFound
		if !s.b.absent[g] { // when the batch found none, straight to the lock and the look again
			inc, err = in.incidents.FindOpenTx(ctx, q, g)
		}
		if errors.Is(err, incidents.ErrNotFound) {
			// Only the rare path that may open an incident needs the group's lock. Ingest's
			// batch holds it already; IngestTx's caller may not. Then look again: another
			// replica may have opened it meanwhile.
			if err := store.LockKeys(ctx, q, groupLocks(g, service, env)); err != nil {
				return 0, err
			}
			inc, err = in.incidents.FindOpenTx(ctx, q, g)
		}
		if errors.Is(err, incidents.ErrNotFound) {
			if err := in.flushLines(ctx, q, s.b); err != nil {
				return 0, err
			}
			inc, opened, err = in.reopenOrOpen(ctx, q, g, service, env, sev, a, startsAt, now)
			reopened = err == nil && !opened
		}
		if err != nil {
			return 0, err
		}
	}
	s.b.seen[g] = inc
	stored := Alert{IncidentID: inc.ID, Fingerprint: fp, Alertname: name, Labels: a.Labels, Annotations: a.Annotations,
		GeneratorURL: a.GeneratorURL, StartsAt: startsAt}
	// Stored with the payload's other new alerts in one statement (see storeNew).
	s.b.inserts = append(s.b.inserts, newOccurrence{alert: stored, groupKey: g.GroupKey, seen: now, json: s.encoded[fp]})
	if opened {
		return inc.ID, nil // the "opened" event already names this alert
	}
	if !reopened { // the "reopened" event already names this alert
		own, err := in.takeLine(ctx, q, s.b.lines, inc.ID, incidents.KindAlertFiring)
		if err != nil {
			return 0, err
		}
		if own {
			s.b.queueLine(inc, incidents.Event{At: now, Actor: incidents.ActorAlertmanager,
				Kind: incidents.KindAlertFiring, Text: "Alert " + describeAlert(a) + " is firing."})
		}
	}
	if sev.Rank() < inc.Severity.Rank() || startsAt.Before(inc.ImpactStartedAt) {
		if err := in.flushLines(ctx, q, s.b); err != nil {
			return 0, err
		}
		raised, err := in.incidents.RaiseSeverityTx(ctx, q, inc.ID, sev, startsAt, "alert "+name+" is "+string(sev))
		if err != nil {
			return 0, err
		}
		s.b.seen[g] = raised
	}
	return inc.ID, nil
}

// reopenOrOpen reopens the group's incident resolved within the reopen window, or opens a
// new one. It reports whether it opened a new incident (false: it reopened one).
func (in *Ingester) reopenOrOpen(ctx context.Context, q store.Querier, g incidents.AlertGroup, service, env string,
	sev incidents.Severity, a template.Alert, startsAt, now time.Time) (incidents.Incident, bool, error) {
	if in.opts.ReopenWindow > 0 {
		prev, err := in.incidents.FindReopenableTx(ctx, q, g, now.Add(-in.opts.ReopenWindow))
		if err == nil {
			inc, err := in.incidents.TransitionTx(ctx, q, prev.ID, incidents.ReopenByAlerts, incidents.ActorAlertmanager,
				"alert "+describeAlert(a)+" fired "+now.Sub(*prev.ResolvedAt).Round(time.Second).String()+" after the incident was resolved.")
			return inc, false, err
		}
		if !errors.Is(err, incidents.ErrNotFound) {
			return incidents.Incident{}, false, err
		}
	}
	inc := incidents.Incident{Title: title(a, service), Status: incidents.Observing, Severity: sev, Service: service,
		Environment: env, Summary: a.Annotations["description"], ImpactStartedAt: startsAt, OpenedAt: now, UpdatedAt: now}
	if g.GroupKey != "" {
		inc.GroupKey = &g.GroupKey
	}
	if inc.ImpactStartedAt.After(now) {
		inc.ImpactStartedAt = now
	}
	if len([]rune(inc.Summary)) > incidents.MaxSummary {
		inc.Summary = string([]rune(inc.Summary)[:incidents.MaxSummary])
	}
	err := in.incidents.CreateTx(ctx, q, &inc, incidents.Event{At: now, Actor: incidents.ActorAlertmanager, Kind: incidents.KindOpened,
		Text: "Opened by Alertmanager: alert " + describeAlert(a) + " is firing."})
	return inc, true, err
}

// maxKeyBytes bounds a group key as stored and indexed: PostgreSQL refuses index entries
// past ~2.7 KB, and refusing the payload would make Alertmanager drop its alerts.
const maxKeyBytes = 512

// boundedKey is the group key, or a digest of it when it is too long to index. The digest is
// stable, so every notification of the group still finds the same incident.
func boundedKey(k string) string {
	if len(k) <= maxKeyBytes {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// boundedName cuts a service or environment label to the length incidents keep.
func boundedName(s string) string {
	if utf8.RuneCountInString(s) <= incidents.MaxName {
		return s
	}
	return string([]rune(s)[:incidents.MaxName])
}

// title names a new incident from alertname, service and the summary annotation.
func title(a template.Alert, service string) string {
	t := a.Labels["alertname"]
	if t == "" {
		t = "Alert"
	}
	if service != "" {
		t += " on " + service
	}
	if s := strings.TrimSpace(a.Annotations["summary"]); s != "" {
		t += ": " + s
	}
	if r := []rune(t); len(r) > incidents.MaxTitle {
		t = string(r[:incidents.MaxTitle-1]) + "…"
	}
	return t
}
