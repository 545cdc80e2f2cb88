package statuspage

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fixture is testdata/snapshot.json: a page in America/Chicago with a group of two
// components and one ungrouped, an open and a resolved incident, an upcoming and a
// completed maintenance, lists out of order.
func fixture(t *testing.T) Snapshot {
	t.Helper()
	b, err := os.ReadFile("testdata/snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Decode(b)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return s
}

// goldenFiles maps each endpoint to the expected response under testdata/v2, written by
// hand from STATUSPAGE-V2.md's field tables and rules, not copied from the output.
var goldenFiles = map[string]string{
	"/api/v2/summary.json":                         "summary.json",
	"/api/v2/status.json":                          "status.json",
	"/api/v2/components.json":                      "components.json",
	"/api/v2/incidents.json":                       "incidents.json",
	"/api/v2/incidents/unresolved.json":            "incidents-unresolved.json",
	"/api/v2/scheduled-maintenances.json":          "scheduled-maintenances.json",
	"/api/v2/scheduled-maintenances/upcoming.json": "scheduled-maintenances-upcoming.json",
	"/api/v2/scheduled-maintenances/active.json":   "scheduled-maintenances-active.json",
}

func TestV2MatchesStatuspageShapes(t *testing.T) {
	site, err := Render(fixture(t), Defaults{Title: "ignored", URL: "http://ignored.example"})
	if err != nil {
		t.Fatal(err)
	}
	if len(goldenFiles) != len(V2Paths) {
		t.Fatalf("%d golden files for %d endpoints", len(goldenFiles), len(V2Paths))
	}
	for _, path := range V2Paths {
		t.Run(strings.TrimPrefix(path, "/api/v2/"), func(t *testing.T) {
			res, err := site.Get(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", "v2", goldenFiles[path]))
			if err != nil {
				t.Fatal(err)
			}
			assertSameJSON(t, res.Body, want)
		})
	}
}

// assertSameJSON compares two documents by value: same keys (a null is not a missing key),
// same values, same list order.
func assertSameJSON(t *testing.T, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden file is not JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		for _, d := range jsonDiff("", g, w) {
			t.Error(d)
		}
	}
}

// jsonDiff lists where two decoded documents differ, by path.
func jsonDiff(path string, got, want any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", path, got)}
		}
		var out []string
		for k, wv := range w {
			gv, present := g[k]
			if !present {
				out = append(out, fmt.Sprintf("%s.%s: missing (want %v)", path, k, wv))
				continue
			}
			out = append(out, jsonDiff(path+"."+k, gv, wv)...)
		}
		for k, gv := range g {
			if _, expected := w[k]; !expected {
				out = append(out, fmt.Sprintf("%s.%s: unexpected key (value %v)", path, k, gv))
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %d items", path, got, len(w))}
		}
		var out []string
		for i := range w {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i])...)
		}
		return out
	}
	if !reflect.DeepEqual(got, want) {
		return []string{fmt.Sprintf("%s: got %#v, want %#v", path, got, want)}
	}
	return nil
}

// Statuspage's clients decode times as strict RFC 3339: every datetime carries an offset,
// here with milliseconds, and start_date is a plain date.
func TestV2TimesHaveOffsetAndMilliseconds(t *testing.T) {
	site, err := Render(fixture(t), Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	datetime := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}(Z|[+-]\d{2}:\d{2})$`)
	for _, path := range V2Paths {
		res, _ := site.Get(path)
		var doc any
		if err := json.Unmarshal(res.Body, &doc); err != nil {
			t.Fatal(err)
		}
		if _, ok := doc.(map[string]any); !ok {
			t.Errorf("%s: body is not an object", path)
		}
		walkJSON("", doc, func(key string, v any) {
			s, ok := v.(string)
			if !ok {
				return
			}
			switch {
			case key == "start_date":
				if _, err := time.Parse(time.DateOnly, s); err != nil {
					t.Errorf("%s: start_date %q is not YYYY-MM-DD", path, s)
				}
			case strings.HasSuffix(key, "_at") || strings.HasPrefix(key, "scheduled_"):
				if !datetime.MatchString(s) {
					t.Errorf("%s: %s %q is not RFC 3339 with milliseconds and offset", path, key, s)
				}
				if _, err := time.Parse(time.RFC3339, s); err != nil {
					t.Errorf("%s: %s %q: %v", path, key, s, err)
				}
			}
		})
	}
}

func walkJSON(key string, v any, f func(key string, v any)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			walkJSON(k, c, f)
		}
	case []any:
		for _, c := range x {
			walkJSON(key, c, f)
		}
	default:
		f(key, v)
	}
}

func TestV2ListsHoldTheFiftyNewest(t *testing.T) {
	s := fixture(t)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 60 {
		at := base.Add(time.Duration(i) * time.Hour)
		s.Incidents = append(s.Incidents, Incident{
			ID: fmt.Sprintf("old%02d", i), Name: "old", Status: Resolved, Impact: ImpactMinor,
			CreatedAt: at, UpdatedAt: at, ResolvedAt: &at,
			Updates: []Update{{ID: fmt.Sprintf("oldu%02d", i), Status: "resolved", Body: "x", DisplayAt: at}},
		})
		s.Maintenances = append(s.Maintenances, Maintenance{
			ID: fmt.Sprintf("oldm%02d", i), Name: "old", Status: Completed, Impact: ImpactMaintenance,
			CreatedAt: at, UpdatedAt: at, ResolvedAt: &at, ScheduledFor: at, ScheduledUntil: at,
			Updates: []Update{{ID: fmt.Sprintf("oldmu%02d", i), Status: "completed", Body: "x", DisplayAt: at}},
		})
	}
	site, err := Render(s, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	var incs struct{ Incidents []struct{ ID string } }
	getJSON(t, site, "/api/v2/incidents.json", &incs)
	if len(incs.Incidents) != 50 || incs.Incidents[0].ID != "inc2" || incs.Incidents[1].ID != "inc1" || incs.Incidents[2].ID != "old59" || incs.Incidents[49].ID != "old12" {
		t.Errorf("incidents.json: %d incidents, want the 50 newest from inc2 down to old12: %v", len(incs.Incidents), incs.Incidents)
	}
	var ms struct {
		ScheduledMaintenances []struct{ ID string } `json:"scheduled_maintenances"`
	}
	getJSON(t, site, "/api/v2/scheduled-maintenances.json", &ms)
	if len(ms.ScheduledMaintenances) != 50 || ms.ScheduledMaintenances[0].ID != "mnt2" || ms.ScheduledMaintenances[49].ID != "oldm12" {
		t.Errorf("scheduled-maintenances.json: %d, want the 50 latest from mnt2 down to oldm12", len(ms.ScheduledMaintenances))
	}
	getJSON(t, site, "/api/v2/incidents/unresolved.json", &incs)
	if len(incs.Incidents) != 1 {
		t.Errorf("unresolved.json lists %d incidents, want only the open one", len(incs.Incidents))
	}
}

func getJSON(t *testing.T, site *Site, path string, v any) {
	t.Helper()
	res, err := site.Get(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(res.Body, v); err != nil {
		t.Fatal(err)
	}
}

// The empty page before the first push: the configured title and URL, no components,
// "All Systems Operational", page id derived from the URL.
func TestEmptySiteIsOperational(t *testing.T) {
	now := time.Date(2024, 5, 10, 18, 0, 0, 0, time.UTC)
	site, err := EmptySite(Defaults{Title: "Acme Status", URL: "https://status.acme.test/"}, now)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := site.Get("/api/v2/summary.json")
	want := `{"page":{"id":"` + PageID("https://status.acme.test") + `","name":"Acme Status","url":"https://status.acme.test",
		"time_zone":"Etc/UTC","updated_at":"2024-05-10T18:00:00.000Z"},
		"components":[],"incidents":[],"scheduled_maintenances":[],
		"status":{"indicator":"none","description":"All Systems Operational"}}`
	assertSameJSON(t, res.Body, []byte(want))
	if id := PageID("https://status.acme.test"); len(id) != 12 || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyz") != "" {
		t.Errorf("page id %q is not 12 lowercase base36 characters", id)
	}
}

// A push that changes nothing public (the platform pushes every minute) leaves the v2
// JSON byte for byte the same, so clients revalidating with the ETag get 304.
func TestV2UnchangedAcrossPushesWithoutChanges(t *testing.T) {
	s := fixture(t)
	first, err := Render(s, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	s.Sequence++
	s.GeneratedAt = s.GeneratedAt.Add(time.Minute)
	second, err := Render(s, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range V2Paths {
		a, _ := first.Get(p)
		b, _ := second.Get(p)
		if a.ETag != b.ETag {
			t.Errorf("%s changed between two pushes of the same page", p)
		}
	}
	// The front page says when it was last updated, so it does change.
	a, _ := first.Get("/")
	b, _ := second.Get("/")
	if a.ETag == b.ETag {
		t.Error("the front page did not change although its last-updated time did")
	}
}
