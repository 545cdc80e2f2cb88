package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/text"
)

// Interaction handles what Slack posts to /slack/interactions: a button pressed on an
// incident message, or the declare form submitted. payload is the JSON of the request's
// payload field. The result is the HTTP answer's body: nil for an empty 200 (a button's
// answers go through its response_url), or Slack's view submission response, which shows
// a form's problems under its fields.
func (s *Service) Interaction(ctx context.Context, payload []byte) (any, error) {
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal(payload, &cb); err != nil {
		return nil, fmt.Errorf("%w: the payload is not an interaction: %v", ErrBadRequest, err)
	}
	if cb.User.ID == "" {
		return nil, fmt.Errorf("%w: the interaction names no user", ErrBadRequest)
	}
	u := user{ID: cb.User.ID, Name: cb.User.Name}
	switch cb.Type {
	case slackapi.InteractionTypeBlockActions:
		if len(cb.ActionCallback.BlockActions) == 0 {
			return nil, nil
		}
		a := *cb.ActionCallback.BlockActions[0]
		r := s.withinBudget(cb.ResponseURL, func(ctx context.Context) Reply { return s.press(ctx, u, a) })
		s.respondLater(cb.ResponseURL, r)
		return nil, nil
	case slackapi.InteractionTypeViewSubmission:
		if cb.View.CallbackID != DeclareCallbackID {
			return nil, nil
		}
		return s.submitDeclare(ctx, u, cb.View), nil
	}
	// Other interactions (a modal closed, a shortcut) need nothing.
	return nil, nil
}

// press handles a button: Acknowledge, Roll back or Resolve. Pressing one twice does it
// once; a button on a message whose incident has moved on answers with what happened.
func (s *Service) press(ctx context.Context, u user, a slackapi.BlockAction) Reply {
	if strings.HasPrefix(a.ActionID, ActionRemedy) {
		return s.pressRemedy(ctx, u, a.Value)
	}
	verb, ok := map[string]Verb{ActionAcknowledge: VerbAck, ActionResolve: VerbResolve, ActionRollback: VerbRollback}[a.ActionID]
	if !ok {
		return Reply{}
	}
	id, deployID, err := parseActionValue(a.Value)
	if err != nil {
		return ephemeral(":warning: This button does not name an incident; use `/incident` instead.")
	}
	cmd := Command{Verb: verb, ID: id}
	if refusal, ok := s.refuse(ctx, u.ID, verb); !ok {
		return refusal
	}
	actor := s.displayName(ctx, u)
	if verb == VerbRollback {
		r := s.rollback(ctx, id, deployID, actor, "", cmd)
		if r.ResponseType == slackapi.ResponseTypeInChannel {
			// Done: the message and its thread say so.
			return Reply{}
		}
		return r
	}
	if _, err := s.deps.Incidents.Transition(ctx, id, transitions[verb], actor, ""); err != nil {
		return s.problem(ctx, err, cmd)
	}
	return Reply{}
}

// parseActionValue reads a button's value: "12", or "12:34" for incident 12 and deploy 34.
func parseActionValue(v string) (incidentID, deployID int64, err error) {
	inc, dep, hasDeploy := strings.Cut(v, ":")
	if incidentID, err = strconv.ParseInt(inc, 10, 64); err != nil || incidentID <= 0 {
		return 0, 0, fmt.Errorf("bad button value %q", text.Cut(v, 40))
	}
	if hasDeploy {
		if deployID, err = strconv.ParseInt(dep, 10, 64); err != nil || deployID <= 0 {
			return 0, 0, fmt.Errorf("bad button value %q", text.Cut(v, 40))
		}
	}
	return incidentID, deployID, nil
}

// submitDeclare declares the incident of a submitted declare form, or answers with what to
// correct, shown under the fields.
func (s *Service) submitDeclare(ctx context.Context, u user, view slackapi.View) any {
	in, problems := declareForm(view)
	if problems != nil {
		return slackapi.NewErrorsViewSubmissionResponse(problems)
	}
	actor := s.displayName(ctx, u)
	inc, err := s.deps.Incidents.Declare(ctx, actor, in)
	if err != nil {
		if p := formProblem(err); p != nil {
			return slackapi.NewErrorsViewSubmissionResponse(p)
		}
		s.log.Error("slack: declaring from the form failed", "err", err)
		return slackapi.NewErrorsViewSubmissionResponse(map[string]string{BlockTitle: "Firebreak could not declare it just now; try again in a moment."})
	}
	if channel := view.PrivateMetadata; channel != "" {
		msg := fmt.Sprintf(":rotating_light: Incident #%d declared (%s): %s %s", inc.ID, inc.Severity,
			cutEscaped(inc.Title, incidents.MaxTitle), incidentLink(s.cfg.PublicURL, inc))
		s.later.Add(1)
		go func() {
			defer s.later.Done()
			ctx, cancel := context.WithTimeout(context.Background(), laterTimeout)
			defer cancel()
			if _, err := s.api.PostEphemeralContext(ctx, channel, u.ID, slackapi.MsgOptionText(msg, false)); err != nil {
				s.log.Warn("slack: confirming a declared incident failed", "incident", inc.ID, "err", err)
			}
		}()
	}
	return nil
}

// pressRemedy asks for the remedy a button names ("12:34:disable_flag:new-cart"), as the
// API's POST …/actions/{action} does; responders only, like a rollback. Pressing it twice
// asks once: the second answers that it was already requested.
func (s *Service) pressRemedy(ctx context.Context, u user, value string) Reply {
	parts := strings.SplitN(value, ":", 4)
	if len(parts) < 3 || s.deps.Rollbacks == nil {
		return ephemeral(":warning: This button does not name a remedy; use `/incident` instead.")
	}
	id, deployID, err := parseActionValue(parts[0] + ":" + parts[1])
	if err != nil {
		return ephemeral(":warning: This button does not name an incident; use `/incident` instead.")
	}
	if refusal, ok := s.refuse(ctx, u.ID, VerbRollback); !ok {
		return refusal
	}
	req := deploys.RemedyRequest{IncidentID: id, DeployID: deployID, Action: parts[2], Actor: s.displayName(ctx, u)}
	if len(parts) == 4 {
		req.Flag = parts[3]
	}
	if _, err := s.deps.Rollbacks.RequestRemedy(ctx, req); err != nil {
		return s.problem(ctx, err, Command{Verb: VerbRollback, ID: id})
	}
	return Reply{} // the message and its thread say so
}
