package slack

import (
	"context"
	"fmt"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"firebreak/incidents"
	"firebreak/text"
)

// Bounds on what list and show answer with.
const (
	maxListed       = 20
	timelineInShow  = 5
	defaultMTTRDays = 30
)

// list answers /incident list: the open incidents, newest first.
func (s *Service) list(ctx context.Context) Reply {
	open, next, err := s.deps.Incidents.List(ctx, incidents.Filter{OpenOnly: true, Limit: maxListed})
	if err != nil {
		return s.problem(ctx, err, Command{Verb: VerbList})
	}
	if len(open) == 0 {
		return ephemeral(":white_check_mark: No open incidents.")
	}
	var b strings.Builder
	b.WriteString("*Open incidents*")
	for _, inc := range open {
		fmt.Fprintf(&b, "\n• *#%d* [%s] %s: %s", inc.ID, inc.Severity, inc.Status, cutEscaped(text.OneLine(inc.Title, 150), 150))
		if inc.Service != "" {
			fmt.Fprintf(&b, " (%s", escape(text.OneLine(inc.Service, 60)))
			if inc.Environment != "" {
				b.WriteString("/" + escape(text.OneLine(inc.Environment, 60)))
			}
			b.WriteString(")")
		}
		b.WriteString(", opened " + slackDate(inc.OpenedAt))
	}
	if next != 0 {
		fmt.Fprintf(&b, "\n… and more; the web UI lists them all.")
	}
	return ephemeral(b.String())
}

// show answers /incident show <id>: the incident as its message shows it, with its buttons,
// and the latest lines of its timeline.
func (s *Service) show(ctx context.Context, id int64) Reply {
	cmd := Command{Verb: VerbShow, ID: id}
	inc, err := s.deps.Incidents.Get(ctx, id)
	if err != nil {
		return s.problem(ctx, err, cmd)
	}
	v, err := s.view(ctx, inc)
	if err != nil {
		return s.problem(ctx, err, cmd)
	}
	r := render(v)
	timeline, err := s.deps.Incidents.Timeline(ctx, id)
	if err != nil {
		return s.problem(ctx, err, cmd)
	}
	if n := len(timeline); n > timelineInShow {
		timeline = timeline[n-timelineInShow:]
	}
	var lines []string
	for _, ev := range timeline {
		lines = append(lines, slackDate(ev.At)+" "+cutEscaped(text.OneLine(ev.Text, 300), 300))
	}
	blocks := r.Blocks
	if len(lines) > 0 {
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(text.Cut("*Latest*\n"+strings.Join(lines, "\n"), maxContext))))
	}
	return Reply{ResponseType: slackapi.ResponseTypeEphemeral, Text: r.Text, Blocks: blocks}
}

// mttr answers /incident mttr [service] [30d]: the four measures as a small table.
func (s *Service) mttr(ctx context.Context, cmd Command) Reply {
	period := cmd.Period
	if period == 0 {
		period = defaultMTTRDays * 24 * time.Hour
	}
	until := s.now()
	groupBy := incidents.All
	if cmd.Service != "" {
		groupBy = incidents.ByService
	}
	report, err := s.deps.Incidents.MTTR(ctx, groupBy, until.Add(-period), until)
	if err != nil {
		return s.problem(ctx, err, cmd)
	}
	scope := "all services"
	if cmd.Service != "" {
		scope = cmd.Service
	}
	var group *incidents.Group
	for i := range report.Groups {
		if cmd.Service == "" || report.Groups[i].Key == cmd.Service {
			group = &report.Groups[i]
		}
	}
	head := fmt.Sprintf("*MTTR*, %s, incidents opened in the last %s", escape(text.OneLine(scope, 100)), formatPeriod(period))
	if group == nil || group.Incidents == 0 {
		return ephemeral(head + ": none.")
	}
	return ephemeral(fmt.Sprintf("%s: %d\n```\n%s```", head, group.Incidents, mttrTable(*group)))
}

// mttrTable lays the four measures out in columns.
func mttrTable(g incidents.Group) string {
	rows := []struct {
		name string
		m    incidents.Measure
	}{{"time to detect", g.TimeToDetect}, {"time to acknowledge", g.TimeToAcknowledge},
		{"time to mitigate", g.TimeToMitigate}, {"time to recover", g.TimeToRecover}}
	var b strings.Builder
	fmt.Fprintf(&b, "%-20s %5s %9s %9s %9s\n", "measure", "count", "mean", "p50", "p90")
	for _, r := range rows {
		fmt.Fprintf(&b, "%-20s %5d %9s %9s %9s\n", r.name, r.m.Count, humanSeconds(r.m.MeanSeconds), humanSeconds(r.m.P50Seconds),
			humanSeconds(r.m.P90Seconds))
	}
	return b.String()
}

// humanSeconds writes a duration the way people read it: 45s, 12m 05s, 3h 20m, 2d 4h.
func humanSeconds(secs *float64) string {
	if secs == nil {
		return "–"
	}
	d := time.Duration(*secs * float64(time.Second)).Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// whatHappened says who moved an incident into its phase and when ("already acknowledged by
// Alice at 10:02"), for an action that no longer applies; "" when the timeline does not say.
func (s *Service) whatHappened(ctx context.Context, inc incidents.Incident) string {
	want := map[incidents.Status][]incidents.EventKind{
		incidents.Responding:  {incidents.KindAcknowledged, incidents.KindReopened},
		incidents.Remediating: {incidents.KindRemediationStarted},
		incidents.Resolved:    {incidents.KindResolved},
		incidents.Observing:   {incidents.KindReopened},
	}[inc.Status]
	timeline, err := s.deps.Incidents.Timeline(ctx, inc.ID)
	if err != nil {
		return ""
	}
	for i := len(timeline) - 1; i >= 0; i-- {
		ev := timeline[i]
		for _, k := range want {
			if ev.Kind != k {
				continue
			}
			verb := map[incidents.EventKind]string{incidents.KindAcknowledged: "acknowledged", incidents.KindReopened: "reopened",
				incidents.KindRemediationStarted: "put into remediation", incidents.KindResolved: "resolved"}[k]
			return fmt.Sprintf("Incident #%d is %s: it was already %s by %s at %s.", inc.ID, inc.Status, verb,
				escape(text.OneLine(ev.Actor, maxUserName)), slackDate(ev.At))
		}
	}
	return ""
}
