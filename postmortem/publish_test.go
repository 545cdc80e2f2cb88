package postmortem_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/postmortem"
	"firebreak/store"
	"firebreak/store/storetest"
)

// TestPublishingKeepsTheFirstPublicationAndEditsKeepItPublished: publish makes the draft
// published once, with one timeline line; an edit afterwards keeps it published with the
// same time; publishing again changes nothing.
func TestPublishingKeepsTheFirstPublicationAndEditsKeepItPublished(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		ctx := context.Background()
		inc := s.declare("bob", "Search is slow", "search", at(11, 50, 0))
		s.do(at(12, 30, 0), inc.ID, incidents.Resolve, "bob", "")
		s.set(at(15, 0, 0))
		r, err := s.pm.Publish(ctx, inc.ID, "carol")
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != postmortem.Published || !r.PublishedAt.Equal(at(15, 0, 0)) || *r.PublishedBy != "carol" {
			t.Fatalf("published: %s at %v by %v", r.Status, r.PublishedAt, r.PublishedBy)
		}

		s.set(at(16, 0, 0))
		r = s.edit(inc.ID, "alice", `{"went_badly":"The dashboard was stale."}`)
		if r.Status != postmortem.Published || !r.PublishedAt.Equal(at(15, 0, 0)) || r.WentBadly != "The dashboard was stale." {
			t.Fatalf("after an edit: %s at %v, went_badly %q", r.Status, r.PublishedAt, r.WentBadly)
		}
		s.set(at(17, 0, 0))
		if r, err = s.pm.Publish(ctx, inc.ID, "dave"); err != nil {
			t.Fatal(err)
		}
		if !r.PublishedAt.Equal(at(15, 0, 0)) || *r.PublishedBy != "carol" {
			t.Fatalf("publishing again moved the publication to %v by %v", r.PublishedAt, *r.PublishedBy)
		}
		var published []incidents.Event
		for _, ev := range r.Timeline {
			if ev.Kind == postmortem.KindPublished {
				published = append(published, ev)
			}
		}
		if len(published) != 1 || published[0].Actor != "carol" || !published[0].At.Equal(at(15, 0, 0)) {
			t.Fatalf("timeline lines of publication: %+v, want one by carol at 15:00", published)
		}
		md := render(t, r, postmortem.FormatMarkdown)
		if !strings.Contains(md, "- **Status:** published 2026-03-02 15:00:00 UTC") {
			t.Errorf("Markdown does not say when it was published:\n%s", md)
		}
	})
}

// TestAnOpenIncidentHasADraftThatSaysSo: the postmortem of an incident still open can be
// read and edited, is a draft that says the incident is open, and cannot be published
// until the incident is resolved. A declared incident says who declared it; a service
// without earlier incidents says so.
func TestAnOpenIncidentHasADraftThatSaysSo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		ctx := context.Background()
		inc := s.declare("bob", "Search is slow", "search", at(11, 50, 0))
		s.do(at(12, 4, 0), inc.ID, incidents.Acknowledge, "alice", "")
		r := s.edit(inc.ID, "alice", `{"root_cause":"Still looking."}`)
		if r.Status != postmortem.Draft || r.IncidentStatus != incidents.Responding || r.Impact.EndedAt != nil ||
			r.Impact.DurationSeconds != nil || r.Times.Recover.Seconds != nil {
			t.Fatalf("open incident's postmortem: %+v", r)
		}
		md := render(t, r, postmortem.FormatMarkdown)
		for _, want := range []string{
			"- **Status:** draft",
			"> **The incident is still open** (responding). This postmortem is a draft:",
			"Declared by bob at 2026-03-02 12:00:00 UTC, 10 min after impact started.",
			"- **Ended:** not yet, the impact goes on",
			"- **Acknowledged:** 2026-03-02 12:04:00 UTC by alice, 4 min after the incident opened",
			"| Time to detect | 10 min | no earlier incidents |",
			"| Time to recover | not reached yet | no earlier incidents |",
			"No deploy of the service finished shortly before impact started.",
			"No remediation was recorded as started.\n\nNo rollback was requested.",
			"- **Responders:** bob, alice",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("Markdown lacks %q:\n%s", want, md)
			}
		}
		if r.Detection.Method != postmortem.DetectedByDeclare || *r.Detection.DeclaredBy != "bob" {
			t.Errorf("detection: %+v", r.Detection)
		}

		_, err := s.pm.Publish(ctx, inc.ID, "carol")
		if !errors.Is(err, postmortem.ErrIncidentOpen) || !strings.Contains(err.Error(), "responding") {
			t.Fatalf("publishing while open: %v, want ErrIncidentOpen", err)
		}
		if r, _ = s.pm.Get(ctx, inc.ID); r.Status != postmortem.Draft {
			t.Fatalf("a refused publication left it %s", r.Status)
		}
		s.do(at(12, 30, 0), inc.ID, incidents.Resolve, "alice", "")
		if r, err = s.pm.Publish(ctx, inc.ID, "carol"); err != nil || r.Status != postmortem.Published {
			t.Fatalf("publishing once resolved: %v %s", err, r.Status)
		}

		// Reopened after publication: it stays published and says the incident is open again.
		s.do(at(13, 0, 0), inc.ID, incidents.Reopen, "alice", "")
		r, _ = s.pm.Get(ctx, inc.ID)
		md = render(t, r, postmortem.FormatMarkdown)
		if r.Status != postmortem.Published || !strings.Contains(md, "It was reopened after this postmortem was published") {
			t.Errorf("reopened after publication: %s\n%s", r.Status, md)
		}
	})
}

// TestIncidentsWithoutPeopleSaySo: an incident that automation handled alone says that no
// person acknowledged it and that nobody took part.
func TestIncidentsWithoutPeopleSaySo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStory(t, db)
		a := firing("DiskFull", "db-1", "warning", at(11, 58, 0))
		s.set(at(12, 0, 0))
		id := s.ingest("{}:{service=\"checkout\"}", a).Incidents[0]
		s.set(at(12, 10, 0))
		s.ingest("{}:{service=\"checkout\"}", resolved(a, at(12, 9, 0)))
		r, err := s.pm.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		md := render(t, r, postmortem.FormatMarkdown)
		for _, want := range []string{
			"- **Acknowledged:** no person acknowledged the incident",
			"- **Responders:** none, automation handled the incident",
			"- **Resolved:** 2026-03-02 12:10:00 UTC",
			"- **Duration:** 11 min",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("Markdown lacks %q:\n%s", want, md)
			}
		}
		if r.Response.AcknowledgedBy != nil || r.Times.Acknowledge.Seconds != nil || len(r.Response.Responders) != 0 {
			t.Errorf("response: %+v, times %+v", r.Response, r.Times.Acknowledge)
		}
	})
}

func render(t *testing.T, r postmortem.Report, f postmortem.Format) string {
	t.Helper()
	out, err := postmortem.Render(r, f)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestAnAutomaticRollbackThatFailedIsToldAsSuch: checkout's policy rolls the suspect back
// by itself and its hook keeps failing; the remediation says the rollback was automatic,
// started by automation, and failed after its attempts with the hook's answer, and time to
// acknowledge stays unmeasured because no person acknowledged.
func TestAnAutomaticRollbackThatFailedIsToldAsSuch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := newStoryWithHook(t, db, deploys.PolicyAuto, http.StatusInternalServerError)
		ctx := context.Background()
		s.set(at(13, 56, 0))
		if _, err := s.tr.Record(ctx, deploys.Input{Service: "checkout", Environment: "prod", Version: "1.4.2",
			PreviousVersion: "1.4.1", FinishedAt: ptr(at(13, 55, 0))}); err != nil {
			t.Fatal(err)
		}
		s.set(at(14, 2, 0))
		id := s.ingest("{}:{service=\"checkout\"}", firing("HighErrorRate", "checkout-a", "critical", at(14, 0, 0))).Incidents[0]
		s.waitRollbacks(id)
		r, err := s.pm.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Remediation.Rollbacks) != 1 {
			t.Fatalf("rollbacks: %+v", r.Remediation.Rollbacks)
		}
		rb := r.Remediation.Rollbacks[0]
		if !rb.Automatic || rb.Status != deploys.StatusFailed || rb.Attempts != 3 || rb.RequestedBy != incidents.ActorAutoRollback ||
			rb.Deploy != "checkout 1.4.2 (prod)" || *rb.ToVersion != "1.4.1" {
			t.Fatalf("rollback: %+v", rb)
		}
		md := render(t, r, postmortem.FormatMarkdown)
		for _, want := range []string{
			"Remediation started at 2026-03-02 14:02:00 UTC, automatically: firebreak (auto rollback).",
			"- Rollback of the deploy of checkout 1.4.2 (prod) to 1.4.1, requested automatically by the service's rollback policy at 2026-03-02 14:02:00 UTC: failed after 3 attempts: ",
			"- **Acknowledged:** no person acknowledged the incident",
			"| Time to acknowledge | not reached yet |",
		} {
			if !strings.Contains(md, want) {
				t.Errorf("Markdown lacks %q:\n%s", want, md)
			}
		}
	})
}
