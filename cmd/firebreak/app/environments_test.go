package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"firebreak/config"
)

// TestEnvironmentAliasesCorrelateDeploysWithAlerts: with environments {production: [prod]},
// a deploy CI records as prod is the suspect of the incident an alert labelled
// env=production opens, and the other way round; both are stored under production, and a
// query for either name finds them.
func TestEnvironmentAliasesCorrelateDeploysWithAlerts(t *testing.T) {
	eachDialect(t, func(t *testing.T, cfg config.Config) {
		cfg.Environments = map[string][]string{"production": {"prod"}}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		r := startApp(t, cfg)
		now := time.Now().UTC().Truncate(time.Second)
		for _, c := range []struct{ service, deployEnv, alertEnv string }{
			{"checkout", "prod", "production"},
			{"search", "production", "prod"},
		} {
			code, d := r.api.call("POST", "/api/v1/deploys", fmt.Sprintf(`{"service":%q,"environment":%q,"version":"v2","finished_at":%q}`,
				c.service, c.deployEnv, now.Add(-5*time.Minute).Format(time.RFC3339)))
			if code != http.StatusCreated || d["environment"] != "production" {
				t.Fatalf("record a %s deploy in %s: %d %v, want it stored in production", c.service, c.deployEnv, code, d)
			}
			body := fmt.Sprintf(`{"version":"4","groupKey":"{}:{alertname=\"Down\"}","status":"firing","receiver":"firebreak",
				"alerts":[{"status":"firing","labels":{"alertname":"Down","service":%q,"env":%q,"severity":"warning"},
				"annotations":{},"startsAt":%q,"endsAt":"0001-01-01T00:00:00Z"}]}`, c.service, c.alertEnv, now.Add(-time.Minute).Format(time.RFC3339))
			code, res := r.api.call("POST", "/api/v1/alerts/alertmanager", body)
			ids, _ := res["incidents"].([]any)
			if code != http.StatusOK || len(ids) != 1 {
				t.Fatalf("alert of %s in %s: %d %v", c.service, c.alertEnv, code, res)
			}
			_, inc := r.api.call("GET", fmt.Sprintf("/api/v1/incidents/%d", int64(ids[0].(float64))), "")
			suspects, _ := inc["suspects"].([]any)
			if inc["environment"] != "production" || len(suspects) != 1 ||
				suspects[0].(map[string]any)["deploy"].(map[string]any)["id"] != d["id"] || inc["deploys_known"] != true {
				t.Fatalf("%s incident opened by an alert in %s: environment %v, suspects %v, deploys_known %v; want the deploy recorded in %s as its suspect",
					c.service, c.alertEnv, inc["environment"], suspects, inc["deploys_known"], c.deployEnv)
			}
		}
		for _, asked := range []string{"prod", "production"} {
			code, page := r.api.call("GET", "/api/v1/deploys?env="+asked, "")
			if list, _ := page["deploys"].([]any); code != http.StatusOK || len(list) != 2 {
				t.Errorf("GET /api/v1/deploys?env=%s: %d, %d deploys, want both", asked, code, len(list))
			}
		}
	})
}
