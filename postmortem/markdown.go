package postmortem

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"text/template"

	"firebreak/deploys"
	"firebreak/incidents"
)

//go:embed postmortem.md.tmpl
var markdownSource string

// sections are the template's sections in the order of the document.
var sections = []string{
	"header", "summary", "impact", "detection", "response", "remediation", "suspects", "times",
	"root_cause", "contributing_factors", "went_well", "went_badly", "got_lucky", "action_items", "timeline",
}

// maxAlertNames is how many alert names the detection section lists one by one.
const maxAlertNames = 20

// markdownTemplate is parsed once; it holds no state, so every render may share it.
var markdownTemplate = template.Must(template.New("postmortem").Funcs(template.FuncMap{
	"plain":        plain,
	"plainList":    func(list []string) string { return plainList(list) },
	"md":           markdown,
	"inline":       inline,
	"indent":       indent,
	"when":         when,
	"whenPtr":      whenPtr,
	"dur":          duration,
	"durp":         durationPtr,
	"deref":        func(s *string) string { return derefString(s) },
	"automation":   incidents.IsAutomation,
	"outcome":      outcome,
	"compare":      compare,
	"part":         func(title, text string) humanPart { return humanPart{Title: title, Text: text} },
	"timelineDays": timelineDays,
	"firstAlerts":  func(gs []AlertGroup) []AlertGroup { return gs[:min(len(gs), maxAlertNames)] },
	"moreAlerts":   moreAlerts,
}).Parse(markdownSource))

// humanPart is one section people write, for the "part" template.
type humanPart struct{ Title, Text string }

// markdownSections renders each section of the report's Markdown.
func markdownSections(r Report) ([]string, error) {
	out := make([]string, 0, len(sections))
	var buf bytes.Buffer
	for _, name := range sections {
		buf.Reset()
		if err := markdownTemplate.ExecuteTemplate(&buf, name, r); err != nil {
			return nil, fmt.Errorf("render the %s section of postmortem %d: %w", name, r.IncidentID, err)
		}
		out = append(out, buf.String())
	}
	return out, nil
}

// renderMarkdown writes the whole Markdown document: the sections, a blank line apart.
func renderMarkdown(r Report) ([]byte, error) {
	parts, err := markdownSections(r)
	if err != nil {
		return nil, err
	}
	return []byte(strings.Join(parts, "\n")), nil
}

func plainList(list []string) string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = plain(s)
	}
	return strings.Join(out, ", ")
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// moreAlerts says what the detection section leaves out past maxAlertNames.
func moreAlerts(gs []AlertGroup) string {
	if len(gs) <= maxAlertNames {
		return ""
	}
	n := 0
	for _, g := range gs[maxAlertNames:] {
		n += g.Count
	}
	return fmt.Sprintf("%d more names, %d alerts", len(gs)-maxAlertNames, n)
}

// outcome says how a rollback ended, as the end of its line.
func outcome(rb Rollback) string {
	attempts := fmt.Sprintf("%d attempts", rb.Attempts)
	if rb.Attempts == 1 {
		attempts = "1 attempt"
	}
	because := ""
	if rb.LastError != "" {
		because = ": " + plain(rb.LastError)
	}
	switch rb.Status {
	case deploys.StatusSucceeded:
		return "succeeded at " + whenPtr(rb.FinishedAt) + " after " + attempts + "."
	case deploys.StatusFailed:
		return "failed after " + attempts + because + "."
	case deploys.StatusPending:
		return "pending, not called yet."
	case deploys.StatusRunning:
		return "running."
	case deploys.StatusUnknown:
		return "outcome unknown, checked by people" + because + "."
	case deploys.StatusCancelled:
		return "cancelled before it was called" + because + "."
	}
	return plain(rb.Status) + because + "."
}

// compare writes the last column of the times table for one measure.
func compare(r Report, m Measure) string {
	earlier := r.Times.Detect.Service90dCount // every incident has a time to detect
	switch {
	case r.Service == "":
		return "no service named, nothing to compare with"
	case earlier == 0:
		return "no earlier incidents"
	case m.Service90dAverageSeconds == nil:
		return fmt.Sprintf("none of %s reached it", incidentCount(earlier))
	}
	return fmt.Sprintf("%s on average over %s", duration(*m.Service90dAverageSeconds), incidentCount(m.Service90dCount))
}

func incidentCount(n int) string {
	if n == 1 {
		return "1 incident"
	}
	return fmt.Sprintf("%d incidents", n)
}

// timelineDay is one day of the timeline with its lines, each a Markdown list item.
type timelineDay struct {
	Day   string
	Lines []string
}

// timelineDays writes the timeline's lines, grouped by day. The lines are written here
// rather than in the template because a timeline may hold tens of thousands of events, and
// one template call per line is several times cheaper than a handful: the template still
// lays the section out. Notes and status updates are Markdown people wrote, indented into
// their item so that nothing in them can end the list; every other line is plain text.
func timelineDays(events []incidents.Event) []timelineDay {
	var days []timelineDay
	var b strings.Builder
	var stamp [8]byte
	lastY, lastD := -1, -1
	for _, ev := range events {
		at := ev.At.UTC()
		if y, d := at.Year(), at.YearDay(); y != lastY || d != lastD {
			lastY, lastD = y, d
			days = append(days, timelineDay{Day: day(at)})
		}
		b.Reset()
		b.WriteString("- ")
		b.Write(at.AppendFormat(stamp[:0], "15:04:05"))
		b.WriteString(" · ")
		b.WriteString(plain(ev.Actor))
		switch ev.Kind {
		case incidents.KindNote, incidents.KindStatusUpdate:
			if ev.Public {
				b.WriteString(" · status page update:\n")
			} else {
				b.WriteString(" · note:\n")
			}
			b.WriteString(indent(markdown(ev.Text)))
		default:
			b.WriteString(" · ")
			b.WriteString(plain(ev.Text))
		}
		b.WriteString("\n")
		last := &days[len(days)-1]
		last.Lines = append(last.Lines, b.String())
	}
	return days
}
