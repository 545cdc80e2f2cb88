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

// openOccurrence stores a new firing occurrence in the incident it belongs to: the open
// incident of its group, a recently resolved one reopened, or a new one.
func (in *Ingester) openOccurrence(ctx context.Context, q store.Querier, p Payload, a template.Alert, fp string, startsAt, now time.Time, seen payloadIncidents) (int64, error) {
	service := boundedName(firstLabel(a.Labels, in.opts.ServiceLabels))
	env := boundedName(firstLabel(a.Labels, in.opts.EnvironmentLabels))
	sev := in.severity(a)
	name := a.Labels["alertname"]
	groupKey := boundedKey(p.GroupKey)
	key := [3]string{groupKey, service, env}

	inc, err := seen.find(key)
	if errors.Is(err, incidents.ErrNotFound) {
		inc, err = in.incidents.FindOpenTx(ctx, q, groupKey, service, env)
	}
	if errors.Is(err, incidents.ErrNotFound) {
		// Only the rare path that may open an incident takes the grouping locks, in a fixed
		// order, then looks again: another replica may have opened it meanwhile.
		for _, key := range lockKeys(groupKey, service, env) {
			if err := in.incidents.LockGroupTx(ctx, q, key); err != nil {
				return 0, err
			}
		}
		inc, err = in.incidents.FindOpenTx(ctx, q, groupKey, service, env)
	}
	opened, reopened := false, false
	if errors.Is(err, incidents.ErrNotFound) {
		inc, opened, err = in.reopenOrOpen(ctx, q, groupKey, service, env, sev, a, startsAt, now)
		reopened = err == nil && !opened
	}
	if err != nil {
		return 0, err
	}
	seen[key] = inc
	stored := Alert{IncidentID: inc.ID, Fingerprint: fp, Alertname: name, Labels: a.Labels, Annotations: a.Annotations,
		GeneratorURL: a.GeneratorURL, StartsAt: startsAt}
	if err := insertOccurrence(ctx, q, &stored, groupKey, now); err != nil {
		return 0, err
	}
	if opened {
		return inc.ID, nil // the "opened" event already names this alert
	}
	if !reopened { // the "reopened" event already names this alert
		if _, err := in.incidents.RecordTx(ctx, q, inc, incidents.Event{At: now, Actor: "alertmanager",
			Kind: incidents.KindAlertFiring, Text: "Alert " + describeAlert(a) + " is firing."}); err != nil {
			return 0, err
		}
	}
	if sev.Rank() < inc.Severity.Rank() || startsAt.Before(inc.ImpactStartedAt) {
		raised, err := in.incidents.RaiseSeverityTx(ctx, q, inc.ID, sev, startsAt, "alert "+name+" is "+string(sev))
		if err != nil {
			return 0, err
		}
		seen[key] = raised
	}
	return inc.ID, nil
}

// payloadIncidents remembers, within one payload, the incident each grouping key led to.
// A webhook's alerts share its groupKey and mostly its service, so the lookup runs once per
// payload rather than once per new alert.
type payloadIncidents map[[3]string]incidents.Incident

func (p payloadIncidents) find(key [3]string) (incidents.Incident, error) {
	if inc, ok := p[key]; ok && inc.Open() {
		return inc, nil
	}
	return incidents.Incident{}, incidents.ErrNotFound
}

// reopenOrOpen reopens the group's incident resolved within the reopen window, or opens a
// new one. It reports whether it opened a new incident (false: it reopened one).
func (in *Ingester) reopenOrOpen(ctx context.Context, q store.Querier, groupKey, service, env string, sev incidents.Severity,
	a template.Alert, startsAt, now time.Time) (incidents.Incident, bool, error) {
	if in.opts.ReopenWindow > 0 {
		prev, err := in.incidents.FindReopenableTx(ctx, q, groupKey, service, env, now.Add(-in.opts.ReopenWindow))
		if err == nil {
			inc, err := in.incidents.TransitionTx(ctx, q, prev.ID, incidents.ReopenByAlerts, "alertmanager",
				"alert "+describeAlert(a)+" fired "+now.Sub(*prev.ResolvedAt).Round(time.Second).String()+" after the incident was resolved.")
			return inc, false, err
		}
		if !errors.Is(err, incidents.ErrNotFound) {
			return incidents.Incident{}, false, err
		}
	}
	inc := incidents.Incident{Title: title(a, service), Status: incidents.Observing, Severity: sev, Service: service,
		Environment: env, Summary: a.Annotations["description"], ImpactStartedAt: startsAt, OpenedAt: now, UpdatedAt: now}
	if groupKey != "" {
		inc.GroupKey = &groupKey
	}
	if inc.ImpactStartedAt.After(now) {
		inc.ImpactStartedAt = now
	}
	if len([]rune(inc.Summary)) > incidents.MaxSummary {
		inc.Summary = string([]rune(inc.Summary)[:incidents.MaxSummary])
	}
	err := in.incidents.CreateTx(ctx, q, &inc, incidents.Event{At: now, Actor: "alertmanager", Kind: incidents.KindOpened,
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

// lockKeys are the grouping keys of an alert, sorted so every transaction takes them in the
// same order.
func lockKeys(groupKey, service, env string) []string {
	var keys []string
	if groupKey != "" {
		keys = append(keys, "g:"+groupKey)
	}
	if service != "" {
		keys = append(keys, incidents.ServiceLockKey(service, env))
	}
	if len(keys) == 2 && keys[1] < keys[0] {
		keys[0], keys[1] = keys[1], keys[0]
	}
	if len(keys) == 0 {
		keys = append(keys, "none")
	}
	return keys
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
