package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/store"
	"firebreak/text"
)

// ErrBadRequest marks a request that is not what Slack sends (a form without the fields of a
// slash command, a payload that is not JSON); the HTTP layer answers 400.
var ErrBadRequest = errors.New("not a Slack request")

// slashCommand is the part of Slack's slash command form Firebreak reads.
type slashCommand struct {
	User        user
	ChannelID   string
	Text        string
	ResponseURL string
	TriggerID   string
}

// Command answers the /incident slash command Slack posted (its form). Help and every
// error are the immediate answer, seen only by the person who typed the command; state
// changes are answered in the channel. Work that outlasts the command budget answers
// "working on it" and follows through the command's response_url.
func (s *Service) Command(ctx context.Context, form url.Values) (Reply, error) {
	sc := slashCommand{User: user{ID: form.Get("user_id"), Name: form.Get("user_name")}, ChannelID: form.Get("channel_id"),
		Text: form.Get("text"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id")}
	if sc.User.ID == "" {
		return Reply{}, fmt.Errorf("%w: the form has no user_id", ErrBadRequest)
	}
	return s.withinBudget(sc.ResponseURL, func(ctx context.Context) Reply { return s.runCommand(ctx, sc) }), nil
}

func (s *Service) runCommand(ctx context.Context, sc slashCommand) Reply {
	cmd, err := ParseCommand(sc.Text)
	if err != nil {
		return ephemeral(":warning: " + err.Error())
	}
	switch cmd.Verb {
	case VerbHelp:
		return ephemeral(helpText())
	case VerbDeclare:
		if cmd.Text == "" {
			return s.openDeclareForm(ctx, sc, cmd.Severity)
		}
		return s.declare(ctx, sc, cmd)
	case VerbList:
		return s.list(ctx)
	case VerbMTTR:
		return s.mttr(ctx, cmd)
	}
	here, err := incidentOfChannel(ctx, s.deps.DB.R, sc.ChannelID)
	if err != nil {
		return s.problem(ctx, err, cmd)
	}
	cmd = inIncidentChannel(cmd, here, sc.Text)
	if cmd.ID == 0 {
		return s.missingID(cmd)
	}
	switch cmd.Verb {
	case VerbShow:
		return s.show(ctx, cmd.ID)
	case VerbPostmortem:
		if _, err := s.deps.Incidents.Get(ctx, cmd.ID); err != nil {
			return s.problem(ctx, err, cmd)
		}
		return ephemeral(fmt.Sprintf(":memo: Postmortem of incident #%d: %s/postmortem", cmd.ID, incidentURL(s.cfg.PublicURL, cmd.ID)))
	}
	if needsResponder[cmd.Verb] {
		if refusal, ok := s.refuse(ctx, sc.User.ID, cmd.Verb); !ok {
			return refusal
		}
	}
	actor := s.displayName(ctx, sc.User)
	switch cmd.Verb {
	case VerbNote, VerbUpdate:
		if _, err := s.deps.Incidents.AddNote(ctx, cmd.ID, actor, cmd.Text, cmd.Verb == VerbUpdate); err != nil {
			return s.problem(ctx, err, cmd)
		}
		if cmd.Verb == VerbUpdate {
			return inChannel(fmt.Sprintf(":loudspeaker: Status page update for incident #%d by %s: %s", cmd.ID, escape(actor), cutEscaped(cmd.Text, 3000)))
		}
		return ephemeral(fmt.Sprintf(":memo: Note added to incident #%d.", cmd.ID))
	case VerbRollback:
		return s.rollback(ctx, cmd.ID, 0, actor, cmd.Text, cmd)
	}
	inc, err := s.deps.Incidents.Transition(ctx, cmd.ID, transitions[cmd.Verb], actor, cmd.Text)
	if err != nil {
		return s.problem(ctx, err, cmd)
	}
	return inChannel(fmt.Sprintf("%s Incident #%d %s by %s. %s", replyIcons[transitionKinds[cmd.Verb]], inc.ID, done[cmd.Verb],
		escape(actor), incidentLink(s.cfg.PublicURL, inc)))
}

// inIncidentChannel applies a command typed in incident here's own channel (0: not an
// incident channel). There the id may be left out, and a note or status update that starts
// with a number ("note 500 errors stopped") is text about this incident: another incident is
// named there as #N.
func inIncidentChannel(cmd Command, here int64, raw string) Command {
	if here == 0 {
		return cmd
	}
	if cmd.ID == 0 {
		cmd.ID = here
		return cmd
	}
	_, rest := nextToken(text.Clean(raw))
	idWord, _ := nextToken(rest)
	if (cmd.Verb == VerbNote || cmd.Verb == VerbUpdate) && cmd.ID != here && !strings.HasPrefix(idWord, "#") {
		cmd.Text = strings.TrimSpace(idWord + " " + cmd.Text)
		cmd.ID = here
	}
	return cmd
}

// The state changes a subcommand makes, the timeline kinds they record and how an answer
// says they were done.
var (
	transitions = map[Verb]incidents.Action{VerbAck: incidents.Acknowledge, VerbRemediate: incidents.Remediate,
		VerbMitigate: incidents.Mitigate, VerbResolve: incidents.Resolve}
	transitionKinds = map[Verb]incidents.EventKind{VerbAck: incidents.KindAcknowledged, VerbRemediate: incidents.KindRemediationStarted,
		VerbMitigate: incidents.KindMitigated, VerbResolve: incidents.KindResolved}
	done = map[Verb]string{VerbAck: "acknowledged", VerbRemediate: "is being remediated, started", VerbMitigate: "marked mitigated",
		VerbResolve: "resolved"}
	// needsResponder are the subcommands slack.responders restricts.
	needsResponder = map[Verb]bool{VerbAck: true, VerbRemediate: true, VerbResolve: true, VerbRollback: true}
)

// refuse checks slack.responders; the Reply says why a user may not do verb.
func (s *Service) refuse(ctx context.Context, userID string, v Verb) (Reply, bool) {
	ok, err := s.mayRespond(ctx, userID)
	if ok {
		return Reply{}, true
	}
	what := map[Verb]string{VerbAck: "acknowledge", VerbRemediate: "remediate", VerbResolve: "resolve", VerbRollback: "roll back"}[v]
	if err != nil {
		return ephemeral(fmt.Sprintf(":no_entry: Only the configured responders may %s incidents from Slack, and Firebreak could not "+
			"check their user groups just now (%s). Try again in a moment.", what, text.Cut(err.Error(), 200))), false
	}
	return ephemeral(fmt.Sprintf(":no_entry: Only the configured responders (slack.responders) may %s incidents from Slack. "+
		"Ask one of them, or add a note with `/incident note <id> <text>`.", what)), false
}

func (s *Service) missingID(cmd Command) Reply {
	if cmd.Text != "" {
		return ephemeral(fmt.Sprintf(":warning: %q is not an incident id. Write it as `%s`. (Only in an incident's own channel may the id be left out.)",
			firstWord(cmd.Text), usage[cmd.Verb]))
	}
	return ephemeral(fmt.Sprintf(":warning: Which incident? Write it as `%s`; `/incident list` shows the open ones. (Only in an incident's own channel may the id be left out.)",
		usage[cmd.Verb]))
}

// declare opens an incident from `/incident declare [sevN] <title>`.
func (s *Service) declare(ctx context.Context, sc slashCommand, cmd Command) Reply {
	sev := cmd.Severity
	if sev == "" {
		sev = incidents.Sev3
	}
	actor := s.displayName(ctx, sc.User)
	inc, err := s.deps.Incidents.Declare(ctx, actor, incidents.DeclareInput{Title: cmd.Text, Severity: string(sev)})
	if err != nil {
		return s.problem(ctx, err, cmd)
	}
	return inChannel(fmt.Sprintf(":rotating_light: Incident #%d declared by %s (%s): %s %s", inc.ID, escape(actor), inc.Severity,
		cutEscaped(inc.Title, incidents.MaxTitle), incidentLink(s.cfg.PublicURL, inc)))
}

// openDeclareForm opens the declare modal with the command's trigger.
func (s *Service) openDeclareForm(ctx context.Context, sc slashCommand, sev incidents.Severity) Reply {
	err := s.call("views.open", "", func() error {
		_, err := s.api.OpenViewContext(ctx, sc.TriggerID, declareModal(sc.ChannelID, sev))
		return err
	})
	if err != nil {
		s.log.Warn("slack: opening the declare form failed", "err", err)
		return ephemeral(fmt.Sprintf(":warning: Could not open the declare form (%s). Declare with `%s` instead.",
			text.Cut(err.Error(), 200), usage[VerbDeclare]))
	}
	return Reply{}
}

// rollback requests a rollback of deployID (0: the top suspect).
func (s *Service) rollback(ctx context.Context, incidentID, deployID int64, actor, note string, cmd Command) Reply {
	if s.deps.Rollbacks == nil {
		return ephemeral(":warning: No service has a rollback hook (services.<name>.rollback), so nothing can be rolled back.")
	}
	rb, err := s.deps.Rollbacks.RequestWithNote(ctx, incidentID, deployID, actor, note)
	if err != nil {
		return s.problem(ctx, err, cmd)
	}
	label := "deploy " + strconv.FormatInt(rb.DeployID, 10)
	if s.deps.Tracker != nil {
		if d, err := s.deps.Tracker.Get(ctx, rb.DeployID); err == nil {
			label = d.Label()
		}
	}
	return inChannel(fmt.Sprintf(":rewind: Rollback of %s requested by %s for incident #%d.", escape(label), escape(actor), incidentID))
}

// problem turns an error into the answer that says what was wrong and how to go on.
func (s *Service) problem(ctx context.Context, err error, cmd Command) Reply {
	msg := err.Error()
	switch {
	case errors.Is(err, incidents.ErrNotFound):
		return ephemeral(fmt.Sprintf(":warning: There is no incident #%d. `/incident list` shows the open ones.", cmd.ID))
	case errors.Is(err, deploys.ErrNotFound):
		return ephemeral(":warning: That deploy no longer exists; `/incident show <id>` lists the incident's suspects.")
	case errors.Is(err, incidents.ErrInvalidTransition):
		if inc, gerr := s.deps.Incidents.Get(ctx, cmd.ID); gerr == nil {
			if what := s.whatHappened(ctx, inc); what != "" {
				return ephemeral(":information_source: " + what)
			}
		}
		return ephemeral(":warning: " + strings.TrimPrefix(msg, incidents.ErrInvalidTransition.Error()+": "))
	case errors.Is(err, incidents.ErrInvalid):
		return ephemeral(fmt.Sprintf(":warning: %s. Write it as `%s`.", strings.TrimPrefix(msg, incidents.ErrInvalid.Error()+": "), usage[cmd.Verb]))
	case errors.Is(err, deploys.ErrNoSuspect):
		return ephemeral(fmt.Sprintf(":warning: Cannot roll back: incident #%d has no suspected deploy. CI pipelines record deploys "+
			"with `firebreak deploy record`; a deploy of the incident's service and environment shortly before it began is a suspect.", cmd.ID))
	case errors.Is(err, deploys.ErrNoHook), errors.Is(err, deploys.ErrPolicyOff),
		errors.Is(err, deploys.ErrAlreadyRequested), errors.Is(err, deploys.ErrIncidentResolved), errors.Is(err, deploys.ErrWrongDeploy):
		return ephemeral(":warning: Cannot roll back: " + msg + ".")
	case errors.Is(err, store.ErrOverloaded), errors.Is(err, incidents.ErrContended), store.IsUnavailable(err):
		return ephemeral(":hourglass: Firebreak is busy or its database is unavailable right now; try again in a moment.")
	}
	s.log.Error("slack: a command failed", "command", cmd.String(), "err", err)
	return ephemeral(":x: Something went wrong in Firebreak; its log says what. Try again, or use the web UI.")
}

// incidentLink is a link to the incident for Slack, "" without a public URL.
func incidentLink(publicURL string, inc incidents.Incident) string {
	if publicURL == "" {
		return ""
	}
	return fmt.Sprintf("<%s|Open #%d>", incidentURL(publicURL, inc.ID), inc.ID)
}

func helpText() string {
	var b strings.Builder
	b.WriteString("*/incident* drives Firebreak's incidents from Slack:\n")
	for _, v := range verbs {
		fmt.Fprintf(&b, "• `%s`\n", usage[v])
	}
	b.WriteString("Severities run from sev1 (most severe) to sev4; `declare` without a title opens a form. " +
		"In an incident's own channel the id may be left out (`/incident ack`, `/incident note <text>`); there a note " +
		"starting with a number is about that channel's incident, and another incident is named as `#12`. " +
		"`update` writes a public status page update; `note` stays inside.")
	return b.String()
}
