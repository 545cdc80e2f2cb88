package deploys_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"firebreak/deploys"
	"firebreak/outbox"
	"firebreak/store"
	"firebreak/store/storetest"
)

func TestRecordRefusesInvalidDeploysAndStoresNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		now := e.clock.Now()
		cases := []struct {
			name string
			in   deploys.Input
			msg  string
		}{
			{"missing service", deploys.Input{Environment: "prod", Version: "1.0"}, "service is required"},
			{"blank service", deploys.Input{Service: "   ", Environment: "prod", Version: "1.0"}, "service is required"},
			{"missing version", deploys.Input{Service: "checkout", Environment: "prod"}, "version is required"},
			{"started after finished", deploys.Input{Service: "checkout", Version: "1.0",
				StartedAt: ptr(now.Add(-time.Minute)), FinishedAt: ptr(now.Add(-2 * time.Minute))}, "started_at is after finished_at"},
			{"started in the future, finished by default now", deploys.Input{Service: "checkout", Version: "1.0",
				StartedAt: ptr(now.Add(time.Minute))}, "started_at is after finished_at"},
			{"finished in the future", deploys.Input{Service: "checkout", Version: "1.0",
				FinishedAt: ptr(now.Add(time.Hour))}, "finished_at is in the future"},
			{"10k-character description", deploys.Input{Service: "checkout", Version: "1.0",
				Description: strings.Repeat("x", 10000)}, "description is 10000 characters long"},
			{"long version", deploys.Input{Service: "checkout", Version: strings.Repeat("9", 201)}, "version"},
			{"invalid UTF-8", deploys.Input{Service: "checkout", Version: "1.0", Author: "al\xffice"}, "author is not valid UTF-8"},
		}
		for _, c := range cases {
			d, err := e.tr.Record(context.Background(), c.in)
			if !errors.Is(err, deploys.ErrInvalid) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s: got %v, want ErrInvalid saying %q", c.name, err, c.msg)
			}
			if d.ID != 0 {
				t.Errorf("%s: returned deploy %d", c.name, d.ID)
			}
		}
		if n := e.count(`SELECT COUNT(*) FROM deploys`); n != 0 {
			t.Fatalf("%d deploys stored, want none", n)
		}
		// Every problem is named at once, so a pipeline author fixes them in one go.
		_, err := e.tr.Record(context.Background(), deploys.Input{Environment: "prod"})
		if err == nil || !strings.Contains(err.Error(), "service is required") || !strings.Contains(err.Error(), "version is required") {
			t.Fatalf("two problems: %v", err)
		}
	})
}

func TestRecordStoresEveryFieldAndFinishesAtReceiveTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		ctx := context.Background()
		// A local-time zone in the input comes back as the same instant in UTC.
		est := time.FixedZone("EST", -5*3600)
		full := e.record(deploys.Input{Service: " checkout ", Environment: "prod", Version: "1.4.2", PreviousVersion: "1.4.1",
			Commit: "abc", Author: "alice", URL: "https://ci/1", Description: "cart", StartedAt: ptr(at(9, 50).In(est)),
			FinishedAt: ptr(at(9, 56).Add(500 * time.Millisecond).In(est))})
		got, err := e.tr.Get(ctx, full.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Service != "checkout" || got.Environment != "prod" || got.Version != "1.4.2" || *got.PreviousVersion != "1.4.1" ||
			*got.Commit != "abc" || *got.Author != "alice" || *got.URL != "https://ci/1" || *got.Description != "cart" ||
			!got.StartedAt.Equal(at(9, 50)) || !got.FinishedAt.Equal(at(9, 56).Add(500*time.Millisecond)) ||
			got.FinishedAt.Location() != time.UTC {
			t.Fatalf("stored deploy %+v", got)
		}
		if a, b := asJSONMap(t, got), asJSONMap(t, full); !equalJSON(a, b) {
			t.Fatalf("Record returned %v, Get reads %v", b, a)
		}

		// A pipeline that does not say when it finished finished when Firebreak heard of it.
		bare := e.record(deploys.Input{Service: "checkout", Version: "1.4.3"})
		got, err = e.tr.Get(ctx, bare.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.FinishedAt.Equal(e.clock.Now()) || got.StartedAt != nil {
			t.Fatalf("finished_at %v started_at %v, want %v and null", got.FinishedAt, got.StartedAt, e.clock.Now())
		}
		m := asJSONMap(t, got)
		for _, k := range []string{"previous_version", "commit", "author", "url", "description", "started_at"} {
			if v, ok := m[k]; !ok || v != nil {
				t.Errorf("%s = %v, want null", k, v)
			}
		}
		if m["environment"] != "" || m["finished_at"] != "2026-11-18T10:05:00Z" {
			t.Errorf("bare deploy as JSON: %v", m)
		}
		if _, err := e.tr.Get(ctx, 987654); !errors.Is(err, deploys.ErrNotFound) {
			t.Fatalf("unknown deploy: %v", err)
		}
	})
}

func TestListFiltersByServiceEnvironmentAndSinceAndPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := newEnv(t, db, nil, outbox.Options{})
		ctx := context.Background()
		type spec struct {
			svc, env string
			finished time.Time
		}
		specs := []spec{
			{"checkout", "prod", at(8, 0)}, {"checkout", "staging", at(8, 30)}, {"search", "prod", at(9, 0)},
			{"checkout", "prod", at(9, 10)}, {"checkout", "prod", at(9, 40)}, {"checkout", "staging", at(9, 50)},
			{"checkout", "prod", at(10, 0)},
		}
		ids := map[int64]spec{}
		for i, s := range specs {
			d := e.record(deploys.Input{Service: s.svc, Environment: s.env, Version: "1." + string(rune('0'+i)), FinishedAt: ptr(s.finished)})
			ids[d.ID] = s
		}
		list := func(f deploys.Filter) ([]deploys.Deploy, int64) {
			t.Helper()
			out, next, err := e.tr.List(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(out); i++ {
				if out[i].ID >= out[i-1].ID {
					t.Fatalf("not newest first: %d after %d", out[i].ID, out[i-1].ID)
				}
			}
			return out, next
		}
		all, next := list(deploys.Filter{})
		if len(all) != 7 || next != 0 {
			t.Fatalf("all: %d deploys, cursor %d", len(all), next)
		}
		prod, _ := list(deploys.Filter{Service: "checkout", Environment: "prod"})
		if len(prod) != 4 {
			t.Fatalf("checkout/prod: %d, want 4", len(prod))
		}
		for _, d := range prod {
			if d.Service != "checkout" || d.Environment != "prod" {
				t.Fatalf("filtered list holds %s/%s", d.Service, d.Environment)
			}
		}
		recent, _ := list(deploys.Filter{Service: "checkout", Since: at(9, 10)})
		if len(recent) != 4 {
			t.Fatalf("checkout since 09:10 (inclusive): %d, want 4", len(recent))
		}
		for _, d := range recent {
			if d.FinishedAt.Before(at(9, 10)) {
				t.Fatalf("since filter let through %v", d.FinishedAt)
			}
		}
		if search, _ := list(deploys.Filter{Environment: "staging"}); len(search) != 2 {
			t.Fatalf("staging: %d, want 2", len(search))
		}
		if none, next := list(deploys.Filter{Service: "payments"}); len(none) != 0 || next != 0 {
			t.Fatalf("payments: %v %d", none, next)
		}

		// Walk checkout/prod two at a time.
		seen := map[int64]bool{}
		f := deploys.Filter{Service: "checkout", Environment: "prod", Limit: 2}
		pages := 0
		for {
			page, next := list(f)
			pages++
			if len(page) > 2 {
				t.Fatalf("page of %d with limit 2", len(page))
			}
			for _, d := range page {
				if seen[d.ID] {
					t.Fatalf("deploy %d on two pages", d.ID)
				}
				seen[d.ID] = true
			}
			if next == 0 {
				break
			}
			if next != page[len(page)-1].ID {
				t.Fatalf("cursor %d is not the last id of the page %d", next, page[len(page)-1].ID)
			}
			f.Before = next
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if len(seen) != 4 || pages != 2 {
			t.Fatalf("walked %d deploys over %d pages, want 4 over 2", len(seen), pages)
		}
	})
}

// equalJSON compares two decoded JSON values.
func equalJSON(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !jsonEqualValue(v, w) {
			return false
		}
	}
	return true
}

func jsonEqualValue(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok || bok {
		return aok && bok && equalJSON(am, bm)
	}
	return reflect.DeepEqual(a, b)
}
