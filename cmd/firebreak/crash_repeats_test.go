package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"

	"firebreak/store"
	"firebreak/store/storetest"
)

// TestKilledServerLosesAtMostTheLastSecondOfRepeats holds the contract on repeat
// bookkeeping: repeats change no incident, so their counts and last-seen times may be kept
// in memory and written at least once a second. A SIGKILL may lose the repeats of that last
// second, never those answered earlier, and never an alert, an occurrence or a resolution
// answered 200. The count never exceeds the repeats sent.
func TestKilledServerLosesAtMostTheLastSecondOfRepeats(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		killAfterRepeats(t, dir, sqlitePath(dir))
	})
	t.Run("postgres", func(t *testing.T) {
		_, dsn := storetest.DSN(t, store.Postgres)
		killAfterRepeats(t, t.TempDir(), dsn)
	})
}

const (
	repeatGroups         = 3
	repeatAlertsPerGroup = 20
	// repeatRoundsKept rounds of repeats are answered more than a second before the kill:
	// every one of them must survive it.
	repeatRoundsKept = 4
	// repeatRoundsAtKill rounds follow in the last moments before the kill: they may be lost.
	repeatRoundsAtKill = 6
	// repeatPastFlush is the pause between the two phases: longer than the one second within
	// which repeat counts reach the database.
	repeatPastFlush = 1500 * time.Millisecond
)

// repeatFingerprint names alert k of group g; k == repeatAlertsPerGroup is the alert that
// first fires in the last moments before the kill.
func repeatFingerprint(g, k int) string { return fmt.Sprintf("%016x", 0xfeed0000+g*0x100+k) }

// repeatAlert is alert k of group g as Alertmanager notifies it: firing since startsAt, or
// resolved at endsAt when endsAt is set.
func repeatAlert(g, k int, startsAt, endsAt time.Time) template.Alert {
	service := fmt.Sprintf("repeat-%d", g)
	a := template.Alert{
		Status:      "firing",
		Labels:      template.KV{"alertname": "Repeated", "service": service, "env": "prod", "severity": "warning", "instance": fmt.Sprint(k)},
		Annotations: template.KV{"summary": "an alert Alertmanager keeps resending"},
		StartsAt:    startsAt,
		Fingerprint: repeatFingerprint(g, k),
	}
	if !endsAt.IsZero() {
		a.Status, a.EndsAt = "resolved", endsAt
	}
	return a
}

// repeatWebhook is a notification of group g carrying alerts.
func repeatWebhook(g int, alerts ...template.Alert) []byte {
	service := fmt.Sprintf("repeat-%d", g)
	status := "firing"
	if alerts[0].Status == "resolved" {
		status = "resolved"
	}
	msg := webhook.Message{Version: "4", GroupKey: fmt.Sprintf(`{}:{service=%q}`, service), Data: &template.Data{
		Receiver: "firebreak", Status: status, ExternalURL: "http://alertmanager.example:9093",
		GroupLabels: template.KV{"service": service}, Alerts: alerts,
	}}
	body, _ := json.Marshal(msg)
	return body
}

// repeatGroupWebhook is the notification of every alert of group g, firing since startsAt.
func repeatGroupWebhook(g int, startsAt time.Time) []byte {
	alerts := make([]template.Alert, repeatAlertsPerGroup)
	for k := range alerts {
		alerts[k] = repeatAlert(g, k, startsAt, time.Time{})
	}
	return repeatWebhook(g, alerts...)
}

// webhookAnswer is the part of the webhook's 200 answer the test checks.
type webhookAnswer struct {
	Received int `json:"received"`
	New      int `json:"new"`
	Resolved int `json:"resolved"`
}

// postWebhook posts one notification and returns its 200 answer; any other status, or an
// answer cut off, is an error.
func postWebhook(client *http.Client, base, token string, body []byte) (webhookAnswer, error) {
	var ans webhookAnswer
	req, _ := http.NewRequest("POST", base+"/api/v1/alerts/alertmanager", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return ans, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return ans, err
	}
	if resp.StatusCode != http.StatusOK {
		return ans, fmt.Errorf("answered %d: %s", resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return ans, fmt.Errorf("answer %s: %w", raw, err)
	}
	return ans, nil
}

func killAfterRepeats(t *testing.T, dir, dbURL string) {
	env := "FIREBREAK_DATABASE_URL=" + dbURL
	fb := startServe(t, dir, env)
	admin := fb.token
	token := createToken(t, dir, dbURL, "alertmanager", "alerts:write")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: repeatGroups}}
	defer client.CloseIdleConnections()
	startsAt := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)

	// post sends one notification that must be answered 200 with the counts given.
	post := func(body []byte, received, isNew, resolved int) error {
		ans, err := postWebhook(client, fb.base, token, body)
		if err != nil {
			return err
		}
		if want := (webhookAnswer{Received: received, New: isNew, Resolved: resolved}); ans != want {
			return fmt.Errorf("answered %+v, want %+v", ans, want)
		}
		return nil
	}

	// The first notification of each group opens its alerts: zero repeats each.
	for g := 0; g < repeatGroups; g++ {
		if err := post(repeatGroupWebhook(g, startsAt), repeatAlertsPerGroup, repeatAlertsPerGroup, 0); err != nil {
			t.Fatalf("first notification of group %d: %v", g, err)
		}
	}
	// Every later notification of a firing alert, same start, is one repeat. keptFrom is
	// when the last of these rounds began: the server saw each alert last no earlier.
	var keptFrom time.Time
	for r := 0; r < repeatRoundsKept; r++ {
		keptFrom = time.Now()
		for g := 0; g < repeatGroups; g++ {
			if err := post(repeatGroupWebhook(g, startsAt), repeatAlertsPerGroup, 0, 0); err != nil {
				t.Fatalf("repeat round %d of group %d: %v", r, g, err)
			}
		}
	}
	time.Sleep(repeatPastFlush)

	// The last moments: more repeats as fast as the server answers, then, answered before
	// the kill, a resolve and a new alert, each alone in its notification so the repeat
	// counts stay exact.
	resolvedAt := time.Now().UTC().Truncate(time.Second)
	resolvedFP, newFP := repeatFingerprint(0, 0), repeatFingerprint(repeatGroups-1, repeatAlertsPerGroup)
	lastBegan := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, repeatGroups)
	for g := 0; g < repeatGroups; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < repeatRoundsAtKill; r++ {
				if err := post(repeatGroupWebhook(g, startsAt), repeatAlertsPerGroup, 0, 0); err != nil {
					errs <- fmt.Errorf("last repeat round %d of group %d: %w", r, g, err)
					return
				}
			}
			var err error
			switch g {
			case 0:
				err = post(repeatWebhook(g, repeatAlert(g, 0, startsAt, resolvedAt)), 1, 0, 1)
			case repeatGroups - 1:
				err = post(repeatWebhook(g, repeatAlert(g, repeatAlertsPerGroup, resolvedAt, time.Time{})), 1, 1, 0)
			}
			if err != nil {
				errs <- fmt.Errorf("group %d after its last repeats: %w", g, err)
			}
		}()
	}
	wg.Wait()
	// No SIGTERM, no graceful stop: no chance to write what is kept in memory.
	if err := fb.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	killedAt := time.Now()
	_ = fb.cmd.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lastPhase := killedAt.Sub(lastBegan).Round(time.Millisecond)

	restarted := startServe(t, dir, env)
	defer restarted.stop()
	stored := map[string]alertView{}
	incs := listIncidentsQuery(t, restarted, admin, "?limit=1000")
	for _, inc := range incs {
		for _, a := range getIncident(t, restarted, admin, inc.ID).Alerts {
			if _, dup := stored[a.Fingerprint]; dup {
				t.Errorf("alert %s is stored twice", a.Fingerprint)
			}
			stored[a.Fingerprint] = a
		}
	}
	if len(incs) != repeatGroups {
		t.Errorf("%d incidents after the restart, want one per group: %d", len(incs), repeatGroups)
	}

	// Stored times are at most microsecond precise (PostgreSQL rounds, which never goes
	// below the truncated value).
	keptFloor := keptFrom.UTC().Truncate(time.Microsecond)
	killCeiling := killedAt.UTC().Add(time.Microsecond)
	minRepeats, maxRepeats := repeatRoundsKept+repeatRoundsAtKill, 0
	for g := 0; g < repeatGroups; g++ {
		for k := 0; k < repeatAlertsPerGroup; k++ {
			fp := repeatFingerprint(g, k)
			a, ok := stored[fp]
			if !ok {
				t.Errorf("alert %s answered 200 is missing after the kill", fp)
				continue
			}
			minRepeats, maxRepeats = min(minRepeats, a.Repeats), max(maxRepeats, a.Repeats)
			if a.Repeats < repeatRoundsKept {
				t.Errorf("alert %s: %d repeats after the kill, want at least the %d answered more than a second before it", fp, a.Repeats, repeatRoundsKept)
			}
			if a.Repeats > repeatRoundsKept+repeatRoundsAtKill {
				t.Errorf("alert %s: %d repeats, more than the %d sent", fp, a.Repeats, repeatRoundsKept+repeatRoundsAtKill)
			}
			if a.LastSeenAt.Before(keptFloor) {
				t.Errorf("alert %s: last seen at %s, before the last repeat answered more than a second before the kill (sent at %s)",
					fp, a.LastSeenAt.Format(time.RFC3339Nano), keptFloor.Format(time.RFC3339Nano))
			}
			if a.LastSeenAt.After(killCeiling) {
				t.Errorf("alert %s: last seen at %s, after the kill at %s", fp, a.LastSeenAt.Format(time.RFC3339Nano), killCeiling.Format(time.RFC3339Nano))
			}
			wantStatus := "firing"
			if fp == resolvedFP {
				wantStatus = "resolved"
				if a.EndsAt == nil || !a.EndsAt.Equal(resolvedAt) {
					t.Errorf("resolved alert %s: ends_at %v, want %s", fp, a.EndsAt, resolvedAt.Format(time.RFC3339))
				}
			}
			if a.Status != wantStatus {
				t.Errorf("alert %s is %s after the kill, want %s", fp, a.Status, wantStatus)
			}
		}
	}
	if a, ok := stored[newFP]; !ok {
		t.Errorf("new alert %s answered 200 just before the kill is missing after it", newFP)
	} else if a.Status != "firing" || a.Repeats != 0 || !a.StartsAt.Equal(resolvedAt) {
		t.Errorf("new alert %s: %s, %d repeats, started %s; want firing, 0 repeats, started %s",
			newFP, a.Status, a.Repeats, a.StartsAt.Format(time.RFC3339), resolvedAt.Format(time.RFC3339))
	}
	if want := repeatGroups*repeatAlertsPerGroup + 1; len(stored) != want {
		t.Errorf("%d alerts stored after the kill, want %d", len(stored), want)
	}
	t.Logf("%d rounds of repeats %s before the kill, %d rounds, a resolve and a new alert in the last %s: repeats after restart %d..%d (sent %d)",
		repeatRoundsKept, repeatPastFlush, repeatRoundsAtKill, lastPhase, minRepeats, maxRepeats, repeatRoundsKept+repeatRoundsAtKill)
}
