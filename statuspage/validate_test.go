package statuspage

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestMalformedSnapshotsAreRefused(t *testing.T) {
	later := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		change func(s *Snapshot)
		want   string
	}{
		{"no sequence", func(s *Snapshot) { s.Sequence = 0 }, "sequence: must be at least 1"},
		{"no generated_at", func(s *Snapshot) { s.GeneratedAt = time.Time{} }, "generated_at: is required"},
		{"bad time zone", func(s *Snapshot) { s.Page.TimeZone = "Mars/Olympus" }, "page.time_zone"},
		{"page url not http", func(s *Snapshot) { s.Page.URL = "javascript:alert(1)" }, "page.url"},
		{"unknown component status", func(s *Snapshot) { s.Components[0].Status = "on_fire" }, "components[0].status"},
		{"component id with a slash", func(s *Snapshot) { s.Components[0].ID = "../etc" }, "components[0].id"},
		{"duplicate component id", func(s *Snapshot) { s.Components[1].ID = s.Components[0].ID }, "is already used by components[0]"},
		{"component id equal to a group's", func(s *Snapshot) { s.Components[0].ID = "grpshop" }, "is already used by groups[0]"},
		{"unknown group", func(s *Snapshot) { s.Components[0].GroupID = "nope" }, "components[0].group_id"},
		{"bad start date", func(s *Snapshot) { s.Components[2].StartDate = "01/01/2024" }, "components[2].start_date"},
		{"nameless component", func(s *Snapshot) { s.Components[0].Name = "  " }, "components[0].name: is required"},
		{"period ends before it starts", func(s *Snapshot) {
			until := s.Components[1].StatusPeriods[0].From.Add(-time.Hour)
			s.Components[1].StatusPeriods[0].Until = &until
		}, "components[1].status_periods[0].until"},
		{"unknown incident status", func(s *Snapshot) { s.Incidents[1].Status = "panicking" }, "incidents[1].status"},
		{"maintenance impact on an incident", func(s *Snapshot) { s.Incidents[0].Impact = ImpactMaintenance }, "incidents[0].impact"},
		{"resolved without resolved_at", func(s *Snapshot) { s.Incidents[0].ResolvedAt = nil }, "incidents[0].resolved_at: is required"},
		{"open with resolved_at", func(s *Snapshot) { s.Incidents[1].ResolvedAt = &later }, "incidents[1].resolved_at: must be null"},
		{"no updates", func(s *Snapshot) { s.Incidents[1].Updates = nil }, "incidents[1].updates: at least one"},
		{"newest update disagrees", func(s *Snapshot) { s.Incidents[1].Status = Monitoring }, `the newest update's status "identified" must be the status "monitoring"`},
		{"update status of a maintenance", func(s *Snapshot) { s.Incidents[0].Updates[0].Status = "scheduled" }, "incidents[0].updates[0].status"},
		{"duplicate incident id", func(s *Snapshot) { s.Maintenances[0].ID = "inc1" }, `scheduled_maintenances[0].id: "inc1" is already used by incidents[0].id`},
		{"duplicate update id", func(s *Snapshot) { s.Incidents[1].Updates[0].ID = "u1a" }, "incidents[1].updates[0].id"},
		{"unknown affected component", func(s *Snapshot) { s.Incidents[1].ComponentIDs = []string{"ghost"} }, "incidents[1].component_ids[0]"},
		{"update without display_at", func(s *Snapshot) { s.Incidents[0].Updates[0].DisplayAt = time.Time{} }, "incidents[0].updates[0].display_at: is required"},
		{"shortlink not a URL", func(s *Snapshot) { s.Incidents[0].Shortlink = "javascript:x" }, "incidents[0].shortlink"},
		{"maintenance ends before it starts", func(s *Snapshot) {
			s.Maintenances[1].ScheduledUntil = s.Maintenances[1].ScheduledFor.Add(-time.Minute)
		}, "scheduled_maintenances[1].scheduled_until: is before scheduled_for"},
		{"unknown maintenance status", func(s *Snapshot) { s.Maintenances[1].Status = "postponed" }, "scheduled_maintenances[1].status"},
		{"completed without resolved_at", func(s *Snapshot) { s.Maintenances[0].ResolvedAt = nil }, "scheduled_maintenances[0].resolved_at"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := fixture(t)
			tc.change(&s)
			err := Validate(s)
			if err == nil || !IsInvalid(err) {
				t.Fatalf("Validate = %v, want an InvalidError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if _, rerr := Render(s, Defaults{}); rerr == nil {
				t.Error("Render accepted it")
			}
		})
	}
}

func TestDecodeRefusesWhatIsNotOneSnapshot(t *testing.T) {
	for name, body := range map[string]string{
		"empty":              ``,
		"array":              `[]`,
		"wrong type":         `{"sequence": "7"}`,
		"two objects":        `{"sequence": 1} {"sequence": 2}`,
		"truncated":          `{"sequence": 1, "page": {`,
		"bad time":           `{"sequence": 1, "generated_at": "yesterday"}`,
		"valid but no times": `{"sequence": 1}`,
	} {
		if _, err := Decode([]byte(body)); !IsInvalid(err) {
			t.Errorf("%s: Decode = %v, want an InvalidError", name, err)
		}
	}
	// Unknown fields are ignored, so a newer platform can push to an older server.
	var m map[string]any
	b := mustJSON(t, fixture(t))
	json.Unmarshal(b, &m)
	m["added_in_a_later_version"] = true
	if _, err := Decode(mustJSON(t, m)); err != nil {
		t.Errorf("an unknown field was refused: %v", err)
	}
}

func TestInvalidErrorListsAtMostTwentyProblems(t *testing.T) {
	s := fixture(t)
	for range 30 {
		s.Components = append(s.Components, Component{ID: "x"})
	}
	err := Validate(s).(*InvalidError)
	if len(err.Problems) != maxProblems || !strings.HasSuffix(err.Problems[maxProblems-1], "(and more)") {
		t.Errorf("%d problems, last %q", len(err.Problems), err.Problems[len(err.Problems)-1])
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
