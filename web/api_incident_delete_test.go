package web_test

import (
	"fmt"
	"net/http"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

func TestOnlyAnAdminDeletesATestIncident(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newAPIEnv(t, db)
		code, inc := e.do("POST", "/api/v1/incidents", e.writer, `{"title":"Trying Firebreak","severity":"sev4","service":"example"}`)
		if code != http.StatusCreated {
			t.Fatalf("declare: %d %v", code, inc)
		}
		path := fmt.Sprintf("/api/v1/incidents/%v", inc["id"])
		if code, body := e.do("DELETE", path, e.writer, ""); code != http.StatusForbidden {
			t.Fatalf("delete with incidents:write: %d %v, want 403", code, body)
		}
		if e.count("incidents") != 1 {
			t.Fatal("a refused delete removed the incident")
		}
		if code, body := e.do("DELETE", path, e.admin, ""); code != http.StatusNoContent {
			t.Fatalf("delete as admin: %d %v, want 204", code, body)
		}
		if e.count("incidents") != 0 || e.count("timeline_events") != 0 {
			t.Fatalf("after delete: %d incidents, %d timeline events", e.count("incidents"), e.count("timeline_events"))
		}
		if code, _ := e.do("GET", path, e.reader, ""); code != http.StatusNotFound {
			t.Fatalf("get after delete: %d, want 404", code)
		}
		if code, _ := e.do("DELETE", path, e.admin, ""); code != http.StatusNotFound {
			t.Fatalf("delete twice: %d, want 404", code)
		}
	})
}
