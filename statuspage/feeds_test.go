package statuspage

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"testing"
	"time"
)

type atomDoc struct {
	Title   string `xml:"title"`
	Entries []struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Link    struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Summary string `xml:"summary"`
	} `xml:"entry"`
}

type rssDoc struct {
	Channel struct {
		Items []struct {
			GUID  string `xml:"guid"`
			Title string `xml:"title"`
			Link  string `xml:"link"`
		} `xml:"item"`
	} `xml:"channel"`
}

func TestFeedsListIncidentsWithStableIDs(t *testing.T) {
	s := fixture(t)
	site, err := Render(s, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	atom, _ := site.Get("/history.atom")
	var a atomDoc
	if err := xml.Unmarshal(atom.Body, &a); err != nil {
		t.Fatalf("atom: %v", err)
	}
	wantIDs := []string{"mnt2", "inc2", "inc1", "mnt1"}
	if len(a.Entries) != len(wantIDs) {
		t.Fatalf("%d atom entries, want %d", len(a.Entries), len(wantIDs))
	}
	for i, id := range wantIDs {
		e := a.Entries[i]
		url := "https://status.example.com/incidents/" + id
		if e.ID != url || e.Link.Href != url {
			t.Errorf("entry %d: id %q link %q, want %q", i, e.ID, e.Link.Href, url)
		}
	}
	if a.Entries[1].Title != "Checkout errors for some customers" || a.Entries[0].Title != "Scheduled maintenance: Database upgrade" {
		t.Errorf("titles %q, %q", a.Entries[0].Title, a.Entries[1].Title)
	}
	if !bytes.Contains([]byte(a.Entries[1].Summary), []byte("<strong>Identified</strong> - The issue has been identified")) {
		t.Errorf("entry content lacks its updates: %s", a.Entries[1].Summary)
	}

	rss, _ := site.Get("/history.rss")
	var r rssDoc
	if err := xml.Unmarshal(rss.Body, &r); err != nil {
		t.Fatalf("rss: %v", err)
	}
	for i, id := range wantIDs {
		if got := r.Channel.Items[i].GUID; got != "https://status.example.com/incidents/"+id {
			t.Errorf("rss item %d guid %q", i, got)
		}
	}

	// The next push, a minute later with nothing changed, gives the same feeds: readers
	// see no new items and the ETag holds.
	s.Sequence++
	s.GeneratedAt = s.GeneratedAt.Add(time.Minute)
	again, err := Render(s, Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/history.atom", "/history.rss"} {
		before, _ := site.Get(p)
		after, _ := again.Get(p)
		if !bytes.Equal(before.Body, after.Body) || before.ETag != after.ETag {
			t.Errorf("%s changed although nothing on the page did", p)
		}
	}
}

func TestFeedsHoldTheFiftyNewest(t *testing.T) {
	s := fixture(t)
	at := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 80 {
		s.Incidents = append(s.Incidents, Incident{ID: fmt.Sprintf("f%02d", i), Name: "f", Status: Resolved, Impact: ImpactNone,
			CreatedAt: at, UpdatedAt: at, ResolvedAt: &at, Updates: []Update{{ID: fmt.Sprintf("fu%02d", i), Status: "resolved", DisplayAt: at}}})
	}
	site, _ := Render(s, Defaults{})
	atom, _ := site.Get("/history.atom")
	var a atomDoc
	xml.Unmarshal(atom.Body, &a)
	if len(a.Entries) != feedSize {
		t.Errorf("%d entries, want %d", len(a.Entries), feedSize)
	}
}
