package slack

import (
	"context"
	"time"

	slackapi "github.com/slack-go/slack"

	"firebreak/text"
)

// Reply is an answer to Slack: the body of the HTTP answer to a slash command, or what is
// posted to a request's response_url. The zero Reply is an empty answer.
type Reply struct {
	// ResponseType is "ephemeral" (only the person who asked sees it) or "in_channel".
	ResponseType string           `json:"response_type,omitempty"`
	Text         string           `json:"text,omitempty"`
	Blocks       []slackapi.Block `json:"blocks,omitempty"`
}

// Empty reports whether there is nothing to say.
func (r Reply) Empty() bool { return r.Text == "" && len(r.Blocks) == 0 }

// maxReply keeps an answer within what Slack shows of a message's text.
const maxReply = 3900

// ephemeral is an answer only the person who asked sees: help, errors, lists.
func ephemeral(format string) Reply {
	return Reply{ResponseType: slackapi.ResponseTypeEphemeral, Text: text.Cut(format, maxReply)}
}

// inChannel is an answer the whole channel sees: a state change someone made.
func inChannel(s string) Reply {
	return Reply{ResponseType: slackapi.ResponseTypeInChannel, Text: text.Cut(s, maxReply)}
}

// laterTimeout bounds work that goes on after Slack got "working on it".
const laterTimeout = 30 * time.Second

// withinBudget runs work and returns its answer if it comes within the command budget;
// otherwise Slack gets "working on it" at once (it waits 3 s at most) and the answer follows
// through responseURL when the work is done.
func (s *Service) withinBudget(responseURL string, work func(ctx context.Context) Reply) Reply {
	ctx, cancel := context.WithTimeout(context.Background(), laterTimeout)
	result := make(chan Reply, 1)
	go func() {
		// This goroutine is not the request's: a panic here would end the process.
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("slack: answering panicked", "panic", p)
				result <- ephemeral(":x: Something went wrong in Firebreak; its log says what.")
			}
		}()
		result <- work(ctx)
	}()
	timer := time.NewTimer(s.cfg.CommandBudget)
	defer timer.Stop()
	select {
	case r := <-result:
		cancel()
		return r
	case <-timer.C:
	}
	s.later.Add(1)
	go func() {
		defer s.later.Done()
		defer cancel()
		s.respond(ctx, responseURL, <-result)
	}()
	return ephemeral(":hourglass_flowing_sand: Working on it…")
}

// respondLater posts r to responseURL in the background.
func (s *Service) respondLater(responseURL string, r Reply) {
	if r.Empty() {
		return
	}
	s.later.Add(1)
	go func() {
		defer s.later.Done()
		ctx, cancel := context.WithTimeout(context.Background(), laterTimeout)
		defer cancel()
		s.respond(ctx, responseURL, r)
	}()
}

// respond posts r to a request's response_url (valid for 30 minutes, five answers).
func (s *Service) respond(ctx context.Context, responseURL string, r Reply) {
	if r.Empty() {
		return
	}
	if responseURL == "" {
		s.log.Warn("slack: an answer has nowhere to go (no response_url)", "text", text.Cut(r.Text, 200))
		return
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionResponseURL(responseURL, r.ResponseType), slackapi.MsgOptionText(r.Text, false)}
	if len(r.Blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(r.Blocks...))
	}
	if _, _, err := s.api.PostMessageContext(ctx, "", opts...); err != nil {
		s.log.Warn("slack: answering through response_url failed", "err", err)
	}
}
