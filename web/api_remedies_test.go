package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

func TestPatchDeployMovesARolloutForwardOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newDeployAPI(t, db)
		code, _, d := a.do("POST", "/api/v1/deploys", a.ci, `{"service":"checkout","environment":"prod","version":"2.4.1",
			"strategy":"canary","state":"in_progress","weight":5,"stage":"canary 5%","flags":["new-cart"]}`)
		if code != http.StatusCreated || d["finished_at"] != nil || d["state"] != "in_progress" {
			t.Fatalf("record: %d %v", code, d)
		}
		path := fmt.Sprintf("/api/v1/deploys/%v", d["id"])
		for _, c := range []struct {
			body string
			want int
		}{
			{`{"weight":101}`, 400}, {`{"weight":-1}`, 400}, {`{"state":"paused"}`, 400}, {`{}`, 400},
			{`{"weight":25,"stage":"canary 25%"}`, 200}, {`{"state":"promoted","weight":100}`, 200},
			{`{"state":"in_progress"}`, 409}, {`{"state":"rolled_back"}`, 200}, {`{"state":"promoted"}`, 409},
		} {
			code, _, got := a.do("PATCH", path, a.ci, c.body)
			if code != c.want {
				t.Errorf("PATCH %s: %d %v, want %d", c.body, code, got, c.want)
			}
		}
		if code, _, _ := a.do("PATCH", path, a.reader, `{"weight":1}`); code != http.StatusForbidden {
			t.Errorf("PATCH with a read token: %d, want 403", code)
		}
		_, _, after := a.do("GET", path, a.reader, "")
		if after["state"] != "rolled_back" || after["weight"] != float64(100) || after["finished_at"] == nil {
			t.Errorf("deploy after the rollout: %v", after)
		}
	})
}

func TestActionsEndpointRefusesWhatCannotRun(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		a := newDeployAPI(t, db)
		a.do("POST", "/api/v1/deploys", a.ci, `{"service":"checkout","environment":"prod","version":"1.4.2","flags":["new-cart"]}`)
		_, _, inc := a.do("POST", "/api/v1/incidents", a.oncall, `{"title":"Checkout is failing","severity":"sev2","service":"checkout","environment":"prod"}`)
		base := fmt.Sprintf("/api/v1/incidents/%v/actions/", inc["id"])
		code, _, got := a.do("POST", base+"restart_everything", a.oncall, "")
		if msg, _ := got["error"].(string); code != 404 || !strings.Contains(msg, "abort_canary, disable_flag, rollback") {
			t.Errorf("unknown action: %d %v", code, got)
		}
		if code, _, got := a.do("POST", base+"disable_flag", a.oncall, `{}`); code != 400 {
			t.Errorf("disable_flag without a flag: %d %v", code, got)
		}
		if code, _, got := a.do("POST", base+"disable_flag", a.oncall, `{"flag":"old-cart"}`); code != 400 {
			t.Errorf("disable_flag of an undeclared flag: %d %v", code, got)
		}
		if code, _, got := a.do("POST", base+"abort_canary", a.oncall, ""); code != 409 || !strings.Contains(fmt.Sprint(got["error"]), "abort_canary") {
			t.Errorf("abort_canary without a hook: %d %v", code, got)
		}
		if code, _, got := a.do("POST", base+"disable_flag", a.oncall, `{"flag":"new-cart","note":"cart errors"}`); code != 202 ||
			got["action"] != "disable_flag" || got["flag"] != "new-cart" {
			t.Errorf("disable_flag: %d %v", code, got)
		}
		if code, _, got := a.do("POST", base+"disable_flag", a.oncall, `{"flag":"new-cart"}`); code != 409 ||
			!strings.Contains(fmt.Sprint(got["error"]), "already requested") {
			t.Errorf("disable_flag again: %d %v", code, got)
		}
	})
}
