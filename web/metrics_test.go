package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

// TestRefusalsAreCountedUnderTheirRoute: a 401 is an answer of the route that refused it,
// so a dashboard of one endpoint's failures sees its callers with a wrong token.
func TestRefusalsAreCountedUnderTheirRoute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		e.do("POST", "/api/v1/incidents", "", `{"title":"x","severity":"sev1"}`)
		e.do("GET", "/api/v1/incidents/7", "fb_forged", "")
		e.do("POST", "/api/v1/incidents/7/acknowledge", e.reader, "")
		e.do("GET", "/api/v1/nothing-here", e.admin, "")
		resp, err := e.srv.App().Test(httptest.NewRequest("GET", "/metrics", nil))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics: %d", resp.StatusCode)
		}
		for _, want := range []string{
			`firebreak_http_requests_total{code="401",method="POST",route="/api/v1/incidents"} 1`,
			`firebreak_http_requests_total{code="401",method="GET",route="/api/v1/incidents/:id"} 1`,
			`firebreak_http_requests_total{code="403",method="POST",route="/api/v1/incidents/:id/:action"} 1`,
			`firebreak_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		if strings.Contains(string(raw), `route="/api/v1"`) || strings.Contains(string(raw), `route=""`) {
			t.Errorf("a request is counted under a group prefix or no route:\n%s", grepLines(string(raw), "firebreak_http_requests_total"))
		}
	})
}

func grepLines(s, substr string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
