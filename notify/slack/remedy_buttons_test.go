package slack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/notify/slack"
	"firebreak/store"
	"firebreak/store/storetest"
)

// A canary in progress with a feature flag: the message offers aborting the canary and
// turning the flag off besides rolling back, each behind a confirmation; pressing one asks
// for that remedy once.
func TestRemedyButtonsOfferWhatTheSuspectAllows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db, nil)
		started := time.Now().Add(-5 * time.Minute)
		weight := 10
		d, err := r.tracker.Record(context.Background(), deploys.Input{Service: "checkout", Environment: "production", Version: "2.4.1",
			PreviousVersion: "2.4.0", StartedAt: &started, Strategy: "canary", Stage: "canary 10%", Weight: &weight,
			State: "in_progress", Flags: []string{"new-cart"}})
		if err != nil {
			t.Fatal(err)
		}
		inc := r.declare("Checkout errors", incidents.Sev2, "checkout")
		m := r.message("#checkout", inc.ID)
		abort, ok := m.Button(slack.ActionRemedy + "0")
		if !ok || abort.Value != fmt.Sprintf("%d:%d:abort_canary", inc.ID, d.ID) || abort.Text != "Abort canary" || abort.Confirm == "" {
			t.Fatalf("abort canary button %+v (buttons %+v)", abort, m.Buttons())
		}
		flag, ok := m.Button(slack.ActionRemedy + "1")
		if !ok || flag.Value != fmt.Sprintf("%d:%d:disable_flag:new-cart", inc.ID, d.ID) || !strings.Contains(flag.Confirm, "Disable flag new-cart") {
			t.Fatalf("disable flag button %+v", flag)
		}
		r.press(alice, m, slack.ActionRemedy+"1")
		r.waitFor("the disable_flag remedy", func() bool {
			var n int
			_ = db.R.GetContext(context.Background(), &n, db.R.Rebind(`SELECT COUNT(*) FROM rollbacks
				WHERE incident_id = ? AND action = 'disable_flag' AND flag = 'new-cart'`), inc.ID)
			return n == 1
		})
		_, again := r.press(alice, m, slack.ActionRemedy+"1")
		r.waitFor("the answer to a second press", func() bool { return len(r.responses(again)) == 1 })
		if got := r.responses(again)[0]; !strings.Contains(got, "already requested") {
			t.Errorf("second press: %q", got)
		}
		if rbs, _ := deploysRollbacks(t, db, inc.ID); rbs != 1 {
			t.Errorf("%d remedies recorded, want 1", rbs)
		}
	})
}
