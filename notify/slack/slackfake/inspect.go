package slackfake

import (
	"strings"
	"time"
)

// Calls returns the calls of the given methods (all calls when none), in order.
func (f *Server) Calls(methods ...string) []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Call
	for _, c := range f.calls {
		if len(methods) == 0 || contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// OKCalls returns the calls of method Slack answered ok.
func (f *Server) OKCalls(method string) []Call {
	var out []Call
	for _, c := range f.Calls(method) {
		if c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns the messages posted to a channel (an id or a name), top-level and
// replies, in the order they were posted.
func (f *Server) Messages(ch string) []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.resolveLocked(ch)
	var out []Message
	for _, m := range f.messages {
		if m.Channel == id {
			out = append(out, *m)
		}
	}
	return out
}

// AllMessages returns every message posted, in order.
func (f *Server) AllMessages() []Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Message, 0, len(f.messages))
	for _, m := range f.messages {
		out = append(out, *m)
	}
	return out
}

// Thread returns the replies to the message ts in channel, in order.
func (f *Server) Thread(ch, ts string) []Message {
	var out []Message
	for _, m := range f.Messages(ch) {
		if m.ThreadTS == ts {
			out = append(out, m)
		}
	}
	return out
}

// ChannelID is the id of a channel by name ("#x" or "x"); "" when there is none.
func (f *Server) ChannelID(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byName[strings.TrimPrefix(name, "#")]
}

// ChannelName is the name of a channel by id.
func (f *Server) ChannelName(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.channels[id]; c != nil {
		return c.name
	}
	return ""
}

// Members lists who was invited to a channel.
func (f *Server) Members(id string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	if c := f.channels[id]; c != nil {
		for u := range c.members {
			out = append(out, u)
		}
	}
	return out
}

// Archived reports whether channel id was archived.
func (f *Server) Archived(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.channels[id]
	return c != nil && c.archived
}

// Pinned reports whether the message ts is pinned in channel id.
func (f *Server) Pinned(id, ts string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.channels[id]
	return c != nil && c.pins[ts]
}

// WaitFor polls cond until it holds or timeout passes, and reports whether it held.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
