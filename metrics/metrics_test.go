package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// value reads one counter's value.
func value(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestEverySeriesExistsAtZeroFromTheStart(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg, []string{"rollback", "slack"})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "firebreak_") {
			t.Errorf("series %s does not start with firebreak_", f.GetName())
		}
		names[f.GetName()] = len(f.GetMetric())
		for _, m := range f.GetMetric() {
			if c := m.GetCounter(); c != nil && c.GetValue() != 0 {
				t.Errorf("%s starts at %v", f.GetName(), c.GetValue())
			}
		}
	}
	for name, n := range map[string]int{
		"firebreak_alerts_received_total":                        5,
		"firebreak_alertmanager_notifications_unavailable_total": 1,
		"firebreak_incidents_opened_total":                       4,
		"firebreak_incidents_resolved_total":                     4,
		"firebreak_remedies_total":                               15,
		"firebreak_outbox_retries_total":                         2,
		"firebreak_outbox_given_up_total":                        2,
		"firebreak_group_commit_batch_size":                      1,
		"firebreak_group_commit_wait_seconds":                    1,
		"firebreak_alert_batch_payloads":                         1,
	} {
		if names[name] != n {
			t.Errorf("%s has %d series at start, want %d", name, names[name], n)
		}
	}
}

func TestNilSetRecordsNothing(t *testing.T) {
	var s *Set
	s.Alerts(AlertNew, 3)
	s.Unavailable()
	s.Opened("sev1")
	s.Resolved("sev1")
	s.Remedy("rollback", RemedySucceeded)
	s.OutboxFailed("rollback", true)
	s.Batch(4)
	s.Waited(0)
}

func TestCountsAddUp(t *testing.T) {
	s := New(prometheus.NewRegistry(), nil)
	s.Alerts(AlertDuplicate, 7)
	s.Alerts(AlertDuplicate, 0)
	s.Remedy("rollback", RemedyUnknown)
	if got := value(t, s.AlertsReceived.WithLabelValues(AlertDuplicate)); got != 7 {
		t.Errorf("duplicates %v, want 7", got)
	}
	if got := value(t, s.Remedies.WithLabelValues("rollback", RemedyUnknown)); got != 1 {
		t.Errorf("unknown rollbacks %v, want 1", got)
	}
}
