package incidents

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"firebreak/store"
)

// Timeline event kinds of the fields PATCH changes; a severity change is KindSeverityChanged.
const (
	KindTitleChanged            EventKind = "title_changed"
	KindSummaryChanged          EventKind = "summary_changed"
	KindPublicTitleChanged      EventKind = "public_title_changed"
	KindPublicComponentsChanged EventKind = "public_components_changed"
)

// Patch is a change of an incident's descriptive fields by a person; nil fields stay.
type Patch struct {
	Title       *string
	Summary     *string
	Severity    *string
	PublicTitle *string
	// PublicComponents are status page component ids, already checked by the caller (the
	// components belong to the status page); empty clears them.
	PublicComponents *IDList
	// PublicComponentNames name PublicComponents, in the same order, for the timeline.
	PublicComponentNames []string
}

// Empty reports whether the patch changes nothing.
func (p Patch) Empty() bool {
	return p.Title == nil && p.Summary == nil && p.Severity == nil && p.PublicTitle == nil && p.PublicComponents == nil
}

// check validates and trims what a person typed.
func (p *Patch) check() error {
	var errs []error
	if p.Title != nil {
		t := strings.TrimSpace(*p.Title)
		p.Title = &t
		errs = append(errs, checkText("title", t, MaxTitle, true))
	}
	if p.Summary != nil {
		errs = append(errs, checkText("summary", *p.Summary, MaxSummary, false))
	}
	if p.Severity != nil {
		if _, err := ParseSeverity(*p.Severity); err != nil {
			errs = append(errs, err)
		}
	}
	if p.PublicTitle != nil {
		t := strings.TrimSpace(*p.PublicTitle)
		p.PublicTitle = &t
		errs = append(errs, checkText("public_title", t, MaxTitle, false))
	}
	return errors.Join(errs...)
}

// Patch changes an incident's title, summary, severity, public title and public components,
// each change a line on the timeline; a field set to its current value changes nothing. It
// works in any phase: a resolved incident may still be renamed on the status page.
func (m *Manager) Patch(ctx context.Context, id int64, actor string, p Patch) (Incident, error) {
	if err := p.check(); err != nil {
		return Incident{}, err
	}
	var inc Incident
	err := m.write(ctx, func(ctx context.Context, q store.Querier) error {
		var lines []Event
		var err error
		inc, err = m.UpdateTx(ctx, q, id, func(inc *Incident) (Event, error) {
			lines = p.apply(inc, actor) // a retry starts over from the incident read again
			return Event{}, nil
		})
		if err != nil {
			return err
		}
		for _, ev := range lines {
			if _, err := m.RecordTx(ctx, q, inc, ev); err != nil {
				return err
			}
		}
		return nil
	})
	return inc, err
}

// apply changes inc and returns the timeline lines saying what changed.
func (p Patch) apply(inc *Incident, actor string) []Event {
	var lines []Event
	add := func(kind EventKind, text string) {
		lines = append(lines, Event{Actor: actor, Kind: kind, Text: text})
	}
	if p.Title != nil && *p.Title != inc.Title {
		add(KindTitleChanged, fmt.Sprintf("Title changed by %s from %s to %s.", actor, strconv.Quote(inc.Title), strconv.Quote(*p.Title)))
		inc.Title = *p.Title
	}
	if p.Summary != nil && *p.Summary != inc.Summary {
		add(KindSummaryChanged, "Summary changed by "+actor+".")
		inc.Summary = *p.Summary
	}
	if p.Severity != nil && Severity(*p.Severity) != inc.Severity {
		add(KindSeverityChanged, fmt.Sprintf("Severity changed by %s from %s to %s.", actor, inc.Severity, *p.Severity))
		inc.Severity = Severity(*p.Severity)
	}
	if p.PublicTitle != nil && *p.PublicTitle != inc.PublicTitle {
		if *p.PublicTitle == "" {
			add(KindPublicTitleChanged, "Public title cleared by "+actor+": the status page shows the title.")
		} else {
			add(KindPublicTitleChanged, fmt.Sprintf("Public title set by %s to %s.", actor, strconv.Quote(*p.PublicTitle)))
		}
		inc.PublicTitle = *p.PublicTitle
	}
	if p.PublicComponents != nil && !slices.Equal(*p.PublicComponents, inc.PublicComponents) {
		if len(*p.PublicComponents) == 0 {
			add(KindPublicComponentsChanged, "Public components cleared by "+actor+": the status page shows the components of its service.")
		} else {
			add(KindPublicComponentsChanged, fmt.Sprintf("Public components set by %s to %s.", actor, strings.Join(p.PublicComponentNames, ", ")))
		}
		inc.PublicComponents = slices.Clone(*p.PublicComponents)
	}
	return lines
}
