package app_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"firebreak/alerts"
	"firebreak/cmd/firebreak/app"
	"firebreak/config"
	"firebreak/incidents"
	"firebreak/notify/slack/slackfake"
	"firebreak/store"
	"firebreak/store/storetest"
)

// Jobs follow their sections: stale alerts and retention always; the Slack reminders with
// a slack section; archiving with incident channels.
func TestJobsFollowTheirSections(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	always := []string{app.RetentionJob, app.TokenUsageJob, app.StaleAlertsJob}
	reminders := []string{app.AckReminderJob, app.PostmortemReminderJob}
	for _, tc := range []struct {
		name     string
		adjust   func(config.Config) config.Config
		want     []string
		wantNone []string
	}{
		{"no slack", func(c config.Config) config.Config { return c }, always, append(reminders, app.ChannelArchiveJob)},
		{"slack", func(c config.Config) config.Config { return withSlack(t, c, fake) }, append(always, reminders...),
			[]string{app.ChannelArchiveJob}},
		{"incident channels", func(c config.Config) config.Config {
			c = withSlack(t, c, fake)
			c.Slack.IncidentChannels = &config.IncidentChannels{MinSeverity: "sev2", Prefix: "inc-", ArchiveAfter: config.Duration(time.Hour)}
			return c
		}, append(append(always, reminders...), app.ChannelArchiveJob), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := app.Build(context.Background(), tc.adjust(testConfig(t, store.SQLite)), testOptions(t))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			jobs := a.Scheduler.Jobs()
			for _, j := range tc.want {
				if !contains(jobs, j) {
					t.Errorf("jobs %v lack %s", jobs, j)
				}
			}
			for _, j := range tc.wantNone {
				if contains(jobs, j) {
					t.Errorf("jobs %v include %s", jobs, j)
				}
			}
		})
	}
}

// The stale-alert job, run by the App's scheduler, marks an alert Alertmanager has not
// sent for alerts.stale_after on its incident's timeline.
func TestStaleAlertsJobWritesTheTimeline(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		cfg.Alerts.StaleAfter = config.Duration(time.Hour)
		r := startApp(t, cfg)
		ctx := context.Background()
		code, body := r.api.call("POST", "/api/v1/alerts/alertmanager", alertmanagerPayload("DiskFull", "search", "warning", 0, 1, time.Now().Add(-time.Minute)))
		if code != http.StatusOK {
			t.Fatalf("webhook: %d %v", code, body)
		}
		id := int64(body["incidents"].([]any)[0].(float64))
		// Alertmanager last sent it two hours ago.
		if _, err := r.app.DB.W.ExecContext(ctx, r.app.DB.W.Rebind(`UPDATE alerts SET last_seen_at = ?`), time.Now().UTC().Add(-2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if ran, err := r.app.Scheduler.RunNow(ctx, app.StaleAlertsJob); err != nil || !ran {
			t.Fatalf("RunNow: ran %v, %v", ran, err)
		}
		timeline, err := r.app.Incidents.Timeline(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		last := timeline[len(timeline)-1]
		if last.Kind != alerts.KindStale || !strings.Contains(last.Text, "1 alert still firing (DiskFull) has not been sent by Alertmanager for 1h") {
			t.Errorf("timeline ends with %+v, want the stale line", last)
		}
	})
}

// The retention job also deletes posted Slack replies and cached Slack names older than
// retention.delivered_jobs, with or without a slack section.
func TestRetentionDeletesOldSlackRows(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		cfg.Retention.DeliveredJobs = config.Duration(24 * time.Hour)
		ctx := context.Background()
		a, err := app.Build(ctx, cfg, testOptions(t))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		inc, err := a.Incidents.Declare(ctx, "carol", incidents.DeclareInput{Title: "Checkout is down", Severity: "sev2"})
		if err != nil {
			t.Fatal(err)
		}
		old, recent := time.Now().UTC().Add(-25*time.Hour), time.Now().UTC().Add(-23*time.Hour)
		for _, at := range []time.Time{old, recent} {
			if _, err := a.DB.W.ExecContext(ctx, a.DB.W.Rebind(`INSERT INTO slack_replies (incident_id, kind, text, created_at, ts)
				VALUES (?, 'note', ?, ?, '1.000001')`), inc.ID, at.Format(time.RFC3339), at); err != nil {
				t.Fatal(err)
			}
			if _, err := a.DB.W.ExecContext(ctx, a.DB.W.Rebind(`INSERT INTO slack_users (user_id, display_name, fetched_at) VALUES (?, ?, ?)`),
				at.Format(time.RFC3339), "someone", at); err != nil {
				t.Fatal(err)
			}
		}
		if ran, err := a.Scheduler.RunNow(ctx, app.RetentionJob); err != nil || !ran {
			t.Fatalf("RunNow: ran %v, %v", ran, err)
		}
		var replies, users []string
		if err := a.DB.R.SelectContext(ctx, &replies, `SELECT text FROM slack_replies`); err != nil {
			t.Fatal(err)
		}
		if err := a.DB.R.SelectContext(ctx, &users, `SELECT user_id FROM slack_users`); err != nil {
			t.Fatal(err)
		}
		want := recent.Format(time.RFC3339)
		if len(replies) != 1 || replies[0] != want || len(users) != 1 || users[0] != want {
			t.Errorf("kept replies %v and users %v; want only the 23h old ones", replies, users)
		}
	})
}

// Two replicas on one PostgreSQL run the ack reminder at the same moment: the incident's
// thread gets one reminder.
func TestTwoReplicasRemindOnce(t *testing.T) {
	driver, dsn := storetest.DSN(t, store.Postgres)
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Database = config.Database{Driver: driver, URL: dsn}
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	cfg = withSlack(t, cfg, fake)
	a, b := startApp(t, cfg), startApp(t, cfg)
	ctx := context.Background()
	inc, err := a.app.Incidents.Declare(ctx, "carol", incidents.DeclareInput{Title: "Checkout is down", Severity: "sev1", Service: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	var m slackfake.Message
	waitSlack(t, fake, "the incident's message", func() bool {
		var n int
		m, n = topLevel(fake, "#checkout", inc.ID)
		return n == 1
	})
	// Nobody has acknowledged it for an hour.
	if _, err := a.app.DB.W.ExecContext(ctx, `UPDATE incidents SET opened_at = opened_at - INTERVAL '1 hour'`); err != nil {
		t.Fatal(err)
	}
	// Both at once. A scheduled run of the job (on a minute boundary) may hold its lock at
	// that moment: then neither runs it by hand, and both try again once it let go.
	ran := make([]bool, 2)
	for deadline := time.Now().Add(15 * time.Second); !ran[0] && !ran[1]; {
		if time.Now().After(deadline) {
			t.Fatal("neither replica ran the job")
		}
		var wg sync.WaitGroup
		for i, r := range []*running{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if ran[i], err = r.app.Scheduler.RunNow(ctx, app.AckReminderJob); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if !ran[0] && !ran[1] {
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitSlack(t, fake, "the reminder", func() bool { return len(fake.Thread(m.Channel, m.TS)) >= 1 })
	waitSlack(t, fake, "every delivery done", func() bool {
		var n int
		_ = a.app.DB.R.GetContext(ctx, &n, `SELECT COUNT(*) FROM outbox_jobs WHERE status = 'pending'`)
		return n == 0
	})
	replies := fake.Thread(m.Channel, m.TS)
	if len(replies) != 1 || !strings.Contains(replies[0].Text, "Nobody has acknowledged this sev1 incident for 1 hour") {
		t.Errorf("replies %+v, want one reminder (replicas ran: %v)", replies, ran)
	}
}
