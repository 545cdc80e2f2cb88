package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"

	"firebreak/store"
	"firebreak/store/storetest"
)

// TestKilledServerKeepsEveryAcknowledgedAlert is the promise behind answering 200 only after
// the commit: Alertmanager floods a serve, the process is SIGKILLed with requests in flight,
// and after a restart every alert that was answered 200 is in the database.
func TestKilledServerKeepsEveryAcknowledgedAlert(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		killDuringFlood(t, dir, "sqlite", sqlitePath(dir))
	})
	t.Run("postgres", func(t *testing.T) {
		driver, dsn := storetest.DSN(t, store.Postgres)
		killDuringFlood(t, t.TempDir(), driver, dsn)
	})
}

const (
	floodSenders        = 8
	floodAlertsPerPost  = 10
	floodGroups         = 20
	floodBeforeKill     = 1500 * time.Millisecond
	floodMaxBeforeKill  = 15 * time.Second
	floodMinAcknowledge = 500
)

func killDuringFlood(t *testing.T, dir, driver, dbURL string) {
	env := "FIREBREAK_DATABASE_URL=" + dbURL
	fb := startServe(t, dir, env)
	admin := fb.token
	token := createToken(t, dir, dbURL, "alertmanager", "alerts:write")

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: floodSenders}}
	var (
		killed   atomic.Bool
		seq      atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		acked    []string // fingerprints of alerts answered 200
		posts    int      // requests answered 200
		inFlight int      // requests under way at the kill, cut off without an answer
		other    = map[int]int{}
	)
	for w := 0; w < floodSenders; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !killed.Load() {
				n := seq.Add(1)
				body, fps := floodPayload(n)
				code, err := postFlood(client, fb.base, token, body)
				mu.Lock()
				switch {
				case errors.Is(err, errMiscounted):
					t.Error(err)
				case err != nil && !killed.Load():
					t.Errorf("request failed before the kill: %v", err)
				case err != nil:
					inFlight++
				case code == http.StatusOK:
					posts++
					acked = append(acked, fps...)
				default:
					other[code]++
				}
				mu.Unlock()
			}
		}()
	}
	// Kill after about floodBeforeKill; on a machine too loaded to have acknowledged a
	// thousand alerts by then, flood a little longer so the test still proves something.
	began := time.Now()
	time.Sleep(floodBeforeKill)
	for time.Since(began) < floodMaxBeforeKill {
		mu.Lock()
		enough := len(acked) >= 2*floodMinAcknowledge
		mu.Unlock()
		if enough {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	killedAfter := time.Since(began).Round(10 * time.Millisecond)
	// No SIGTERM, no graceful stop: the process dies between two instructions. Senders start
	// no new request from here on; those under way are cut off.
	killed.Store(true)
	if err := fb.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = fb.cmd.Wait()
	wg.Wait()

	if len(acked) < floodMinAcknowledge {
		t.Fatalf("only %d alerts acknowledged before the kill, want at least %d for the test to mean something", len(acked), floodMinAcknowledge)
	}
	for code, n := range other {
		if code != http.StatusServiceUnavailable { // 503 is back-pressure, which Alertmanager retries
			t.Errorf("%d requests answered %d during the flood", n, code)
		}
	}

	restarted := startServe(t, dir, env)
	if restarted.token != "" {
		t.Errorf("the restart printed a new admin token")
	}
	stored := storedFingerprints(t, driver, dbURL)
	var lost []string
	for _, fp := range acked {
		if !stored[fp] {
			lost = append(lost, fp)
		}
	}
	t.Logf("%s: %d alerts in %d requests acknowledged before SIGKILL at %s, %d requests unanswered at the kill, %d alerts stored after restart, %d lost",
		driver, len(acked), posts, killedAfter, inFlight, len(stored), len(lost))
	if len(lost) > 0 {
		t.Fatalf("%d alerts answered 200 are missing after the crash, e.g. %v", len(lost), lost[:min(5, len(lost))])
	}

	// Grouping held under concurrency and the crash: one incident per group key, no more.
	if incs := listIncidentsQuery(t, restarted, admin, "?limit=1000"); len(incs) != floodGroups {
		t.Errorf("%d incidents after the flood, want one per group: %d", len(incs), floodGroups)
	}

	// The restarted server takes alerts again.
	body, fps := floodPayload(seq.Add(1))
	if code, err := postFlood(client, restarted.base, token, body); err != nil || code != http.StatusOK {
		t.Fatalf("webhook after the restart: %d %v", code, err)
	}
	if after := storedFingerprints(t, driver, dbURL); !after[fps[0]] {
		t.Fatalf("alert %s sent after the restart is not stored", fps[0])
	}
	client.CloseIdleConnections()
	restarted.stop()
}

// floodPayload is webhook request n: floodAlertsPerPost firing alerts with fingerprints of
// their own, in one of floodGroups groups (each its own service).
func floodPayload(n int64) ([]byte, []string) {
	g := n % floodGroups
	service := fmt.Sprintf("svc-%02d", g)
	msg := webhook.Message{Version: "4", GroupKey: fmt.Sprintf(`{}:{service=%q}`, service), Data: &template.Data{
		Receiver: "firebreak", Status: "firing", ExternalURL: "http://alertmanager.example:9093",
		GroupLabels: template.KV{"service": service},
	}}
	startsAt := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fps := make([]string, floodAlertsPerPost)
	for k := range fps {
		id := n*floodAlertsPerPost + int64(k)
		fps[k] = fmt.Sprintf("%016x", id)
		msg.Alerts = append(msg.Alerts, template.Alert{
			Status:      "firing",
			Labels:      template.KV{"alertname": "Flood", "service": service, "env": "prod", "severity": "warning", "n": fmt.Sprint(id)},
			Annotations: template.KV{"summary": "flood alert"},
			StartsAt:    startsAt,
			Fingerprint: fps[k],
		})
	}
	body, _ := json.Marshal(msg)
	return body, fps
}

// errMiscounted is a 200 whose answer does not count every alert of the payload as new.
var errMiscounted = errors.New("200 answer miscounts the payload")

// postFlood posts one payload and returns the status, after checking that a 200 answer
// counts every alert.
func postFlood(client *http.Client, base, token string, body []byte) (int, error) {
	req, _ := http.NewRequest("POST", base+"/api/v1/alerts/alertmanager", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err // the answer was cut off: not an acknowledgement
	}
	if resp.StatusCode == http.StatusOK {
		var res struct {
			Received int `json:"received"`
			New      int `json:"new"`
		}
		if err := json.Unmarshal(raw, &res); err != nil || res.Received != floodAlertsPerPost || res.New != floodAlertsPerPost {
			return 0, fmt.Errorf("%w: %s", errMiscounted, raw)
		}
	}
	return resp.StatusCode, nil
}

// storedFingerprints reads every stored alert that belongs to a stored incident, straight
// from the database.
func storedFingerprints(t *testing.T, driver, dbURL string) map[string]bool {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, driver, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var fps []string
	if err := db.R.SelectContext(ctx, &fps, `SELECT a.fingerprint FROM alerts a JOIN incidents i ON i.id = a.incident_id`); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]bool, len(fps))
	for _, fp := range fps {
		out[fp] = true
	}
	return out
}
