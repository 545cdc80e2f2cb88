package slackfake

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// methodLocked does what a Web API call asks and returns Slack's JSON answer.
func (f *Server) methodLocked(c *Call) map[string]any {
	a := c.Args
	switch c.Method {
	case "chat.postMessage":
		ch := f.channelForPostLocked(a.Get("channel"))
		if ch == nil {
			return fail("channel_not_found")
		}
		if ch.archived {
			return fail("is_archived")
		}
		if thread := a.Get("thread_ts"); thread != "" && f.messageLocked(ch.id, thread) == nil {
			return fail("thread_not_found")
		}
		m := &Message{Channel: ch.id, TS: f.tsLocked(), ThreadTS: a.Get("thread_ts"), Text: a.Get("text"),
			Blocks: raw(a.Get("blocks")), Metadata: raw(a.Get("metadata")), Broadcast: a.Get("reply_broadcast") == "true"}
		f.messages = append(f.messages, m)
		return map[string]any{"ok": true, "channel": ch.id, "ts": m.TS, "message": messageJSON(m)}
	case "chat.update":
		m := f.messageLocked(a.Get("channel"), a.Get("ts"))
		if m == nil {
			return fail("message_not_found")
		}
		m.Text, m.Blocks = a.Get("text"), raw(a.Get("blocks"))
		m.Updates++
		return map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "text": m.Text}
	case "chat.postEphemeral":
		if f.channelForPostLocked(a.Get("channel")) == nil {
			return fail("channel_not_found")
		}
		return map[string]any{"ok": true, "message_ts": f.tsLocked()}
	case "conversations.create":
		name := a.Get("name")
		if name == "" || len(name) > 80 || name != strings.ToLower(name) || strings.ContainsAny(name, " #.") {
			return fail("invalid_name")
		}
		if _, taken := f.byName[name]; taken {
			return fail("name_taken")
		}
		ch := f.addChannelLocked(name)
		return map[string]any{"ok": true, "channel": map[string]any{"id": ch.id, "name": ch.name, "is_channel": true}}
	case "conversations.invite":
		ch := f.channels[a.Get("channel")]
		if ch == nil {
			return fail("channel_not_found")
		}
		for _, u := range strings.Split(a.Get("users"), ",") {
			if u != "" {
				ch.members[u] = true
			}
		}
		return map[string]any{"ok": true, "channel": map[string]any{"id": ch.id, "name": ch.name}}
	case "conversations.archive":
		ch := f.channels[a.Get("channel")]
		switch {
		case ch == nil:
			return fail("channel_not_found")
		case ch.archived:
			return fail("already_archived")
		}
		ch.archived = true
		return map[string]any{"ok": true}
	case "conversations.history":
		return f.historyLocked(a, false)
	case "conversations.replies":
		return f.historyLocked(a, true)
	case "conversations.list":
		var list []map[string]any
		for _, ch := range f.channels {
			list = append(list, map[string]any{"id": ch.id, "name": ch.name})
		}
		sort.Slice(list, func(i, j int) bool { return list[i]["id"].(string) < list[j]["id"].(string) })
		return map[string]any{"ok": true, "channels": list, "response_metadata": map[string]any{"next_cursor": ""}}
	case "pins.add":
		ch := f.channels[a.Get("channel")]
		if ch == nil || f.messageLocked(ch.id, a.Get("timestamp")) == nil {
			return fail("message_not_found")
		}
		if ch.pins[a.Get("timestamp")] {
			return fail("already_pinned")
		}
		ch.pins[a.Get("timestamp")] = true
		return map[string]any{"ok": true}
	case "users.info":
		u, ok := f.users[a.Get("user")]
		if !ok {
			return fail("user_not_found")
		}
		return map[string]any{"ok": true, "user": map[string]any{"id": u.ID, "name": u.Name, "real_name": u.RealName,
			"profile": map[string]any{"display_name": u.DisplayName, "real_name": u.RealName}}}
	case "usergroups.users.list":
		members, ok := f.groups[a.Get("usergroup")]
		if !ok {
			return fail("no_such_subteam")
		}
		return map[string]any{"ok": true, "users": members}
	case "views.open":
		if a.Get("trigger_id") == "" {
			return fail("invalid_trigger_id")
		}
		return map[string]any{"ok": true, "view": map[string]any{"id": "V" + strconv.Itoa(f.nextIDLocked())}}
	case "response_url":
		return map[string]any{"ok": true}
	}
	return fail("unknown_method")
}

// historyLocked answers conversations.history (top-level messages, newest first) and
// conversations.replies (the parent and its replies, oldest first).
func (f *Server) historyLocked(a map[string][]string, replies bool) map[string]any {
	get := func(k string) string {
		if v := a[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	ch := f.channels[get("channel")]
	if ch == nil {
		return fail("channel_not_found")
	}
	oldest, _ := strconv.ParseFloat(get("oldest"), 64)
	withMeta := get("include_all_metadata") == "1" || get("include_all_metadata") == "true"
	var list []map[string]any
	for _, m := range f.messages {
		if m.Channel != ch.id {
			continue
		}
		if ts, _ := strconv.ParseFloat(m.TS, 64); ts < oldest {
			continue
		}
		switch {
		case replies && m.TS != get("ts") && m.ThreadTS != get("ts"):
			continue
		case !replies && m.ThreadTS != "":
			continue
		}
		j := messageJSON(m)
		if !withMeta {
			delete(j, "metadata")
		}
		list = append(list, j)
	}
	if !replies {
		for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
			list[i], list[j] = list[j], list[i]
		}
	}
	return map[string]any{"ok": true, "messages": list, "has_more": false}
}

func messageJSON(m *Message) map[string]any {
	out := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if len(m.Blocks) > 0 {
		out["blocks"] = m.Blocks
	}
	if len(m.Metadata) > 0 {
		out["metadata"] = m.Metadata
	}
	return out
}

// channelForPostLocked finds the channel a post names (an id, "#name" or "name"), creating
// one that does not exist yet, as if it had been made for the test.
func (f *Server) channelForPostLocked(ref string) *channel {
	if ch := f.channels[ref]; ch != nil {
		return ch
	}
	name := strings.TrimPrefix(ref, "#")
	if name == "" {
		return nil
	}
	if id, ok := f.byName[name]; ok {
		return f.channels[id]
	}
	if looksLikeID(ref) {
		// A channel the test's people type in (C0GENERAL): it exists, under its id.
		ch := &channel{id: ref, name: strings.ToLower(ref), members: map[string]bool{}, pins: map[string]bool{}}
		f.channels[ref] = ch
		f.byName[ch.name] = ref
		return ch
	}
	return f.addChannelLocked(name)
}

func (f *Server) resolveLocked(ref string) string {
	if _, ok := f.channels[ref]; ok {
		return ref
	}
	return f.byName[strings.TrimPrefix(ref, "#")]
}

func (f *Server) addChannelLocked(name string) *channel {
	if id, ok := f.byName[name]; ok {
		return f.channels[id]
	}
	ch := &channel{id: fmt.Sprintf("C%08d", f.nextIDLocked()), name: name, members: map[string]bool{}, pins: map[string]bool{}}
	f.channels[ch.id] = ch
	f.byName[name] = ch.id
	return ch
}

func (f *Server) messageLocked(channelID, ts string) *Message {
	for _, m := range f.messages {
		if m.Channel == channelID && m.TS == ts {
			return m
		}
	}
	return nil
}

func (f *Server) nextIDLocked() int {
	f.nextID++
	return f.nextID
}

// tsLocked is a message timestamp: the wall clock in microseconds, strictly increasing.
func (f *Server) tsLocked() string {
	now := time.Now().UnixMicro()
	if now <= f.lastTS {
		now = f.lastTS + 1
	}
	f.lastTS = now
	return fmt.Sprintf("%d.%06d", now/1e6, now%1e6)
}

func looksLikeID(s string) bool {
	if len(s) < 7 || !strings.ContainsRune("CGD", rune(s[0])) {
		return false
	}
	return strings.ToUpper(s) == s
}

func fail(code string) map[string]any { return map[string]any{"ok": false, "error": code} }

func raw(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}
