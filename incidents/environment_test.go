package incidents

import (
	"context"
	"testing"

	"firebreak/store"
	"firebreak/store/storetest"
)

// TestDeclaredIncidentTakesTheCanonicalEnvironment: a person declaring an incident in
// "prod" declares it in production when prod is production's alias, so the deploys
// recorded for production are its suspects; a name that is no alias stays as given.
func TestDeclaredIncidentTakesTheCanonicalEnvironment(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		m, _ := newTestManager(db, clockAt)
		m.AliasEnvironments(EnvironmentAliases{"prod": "production", "prd": "production"})
		ctx := context.Background()
		for given, want := range map[string]string{"prod": "production", "production": "production", "staging": "staging", "": ""} {
			inc, err := m.Declare(ctx, "alice", DeclareInput{Title: "Checkout slow", Severity: "sev2", Service: "checkout", Environment: given})
			if err != nil {
				t.Fatal(err)
			}
			if inc.Environment != want {
				t.Errorf("declared in %q: environment %q, want %q", given, inc.Environment, want)
			}
			assertStored(t, m, "declare", inc)
		}
	})
}
