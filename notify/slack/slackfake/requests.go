package slackfake

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// CommandForm is the form Slack posts for "/incident <text>" typed by user in channel.
func CommandForm(text, userID, userName, channelID, responseURL, triggerID string) url.Values {
	return url.Values{
		"token": {"legacy-verification-token"}, "team_id": {"T0FAKE"}, "team_domain": {"fake"},
		"channel_id": {channelID}, "channel_name": {"fake"}, "user_id": {userID}, "user_name": {userName},
		"command": {"/incident"}, "text": {text}, "api_app_id": {"A0FAKE"},
		"response_url": {responseURL}, "trigger_id": {triggerID},
	}
}

// Button is a button found in a message's blocks.
type Button struct {
	ActionID string
	Value    string
	Text     string
	BlockID  string
	// Confirm is the confirmation dialog's text; "" when the button has none.
	Confirm string
	Style   string
}

// Buttons lists the buttons of a message's blocks, in order.
func (m Message) Buttons() []Button {
	var blocks []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Style    string `json:"style"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
			Confirm *struct {
				Text struct {
					Text string `json:"text"`
				} `json:"text"`
			} `json:"confirm"`
		} `json:"elements"`
	}
	_ = json.Unmarshal(m.Blocks, &blocks)
	var out []Button
	for _, b := range blocks {
		if b.Type != "actions" {
			continue
		}
		for _, e := range b.Elements {
			if e.Type != "button" {
				continue
			}
			btn := Button{ActionID: e.ActionID, Value: e.Value, Text: e.Text.Text, BlockID: b.BlockID, Style: e.Style}
			if e.Confirm != nil {
				btn.Confirm = e.Confirm.Text.Text
			}
			out = append(out, btn)
		}
	}
	return out
}

// Button returns the message's button with actionID, and whether it has one.
func (m Message) Button(actionID string) (Button, bool) {
	for _, b := range m.Buttons() {
		if b.ActionID == actionID {
			return b, true
		}
	}
	return Button{}, false
}

// BlocksText is every text of a message's blocks, concatenated: what a reader sees.
func (m Message) BlocksText() string {
	var walk func(v any) string
	walk = func(v any) string {
		out := ""
		switch x := v.(type) {
		case map[string]any:
			if t, ok := x["text"].(string); ok {
				out += t + "\n"
			}
			for k, child := range x {
				if k != "text" {
					out += walk(child)
				} else if _, isString := child.(string); !isString {
					out += walk(child)
				}
			}
		case []any:
			for _, child := range x {
				out += walk(child)
			}
		}
		return out
	}
	var v any
	_ = json.Unmarshal(m.Blocks, &v)
	return walk(v)
}

// ButtonPayload is the interaction payload Slack posts when user presses b on message m.
func ButtonPayload(b Button, m Message, userID, userName, responseURL string) string {
	p := map[string]any{
		"type":         "block_actions",
		"user":         map[string]any{"id": userID, "username": userName, "name": userName, "team_id": "T0FAKE"},
		"api_app_id":   "A0FAKE",
		"token":        "legacy-verification-token",
		"container":    map[string]any{"type": "message", "message_ts": m.TS, "channel_id": m.Channel, "is_ephemeral": false},
		"trigger_id":   "1.2.trigger",
		"team":         map[string]any{"id": "T0FAKE", "domain": "fake"},
		"channel":      map[string]any{"id": m.Channel, "name": "fake"},
		"message":      map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "blocks": m.Blocks},
		"response_url": responseURL,
		"actions": []any{map[string]any{
			"action_id": b.ActionID, "block_id": b.BlockID, "value": b.Value, "type": "button",
			"text": map[string]any{"type": "plain_text", "text": b.Text}, "action_ts": "1700000000.000100",
		}},
	}
	raw, _ := json.Marshal(p)
	return string(raw)
}

// ViewSubmissionPayload is the payload Slack posts when user submits a modal: callbackID,
// privateMetadata, and the state values by block id. A value "option:X" is a selected
// option X; anything else is typed text.
func ViewSubmissionPayload(callbackID, privateMetadata, userID, userName string, values map[string]string) string {
	state := map[string]any{}
	for block, v := range values {
		field := map[string]any{"type": "plain_text_input", "value": v}
		if opt, ok := cutPrefix(v, "option:"); ok {
			field = map[string]any{"type": "static_select", "selected_option": map[string]any{"value": opt,
				"text": map[string]any{"type": "plain_text", "text": opt}}}
		}
		state[block] = map[string]any{"value": field}
	}
	p := map[string]any{
		"type":       "view_submission",
		"team":       map[string]any{"id": "T0FAKE", "domain": "fake"},
		"user":       map[string]any{"id": userID, "username": userName, "name": userName, "team_id": "T0FAKE"},
		"api_app_id": "A0FAKE",
		"token":      "legacy-verification-token",
		"trigger_id": "1.2.trigger",
		"view": map[string]any{
			"id": "V0FAKE", "type": "modal", "callback_id": callbackID, "private_metadata": privateMetadata,
			"state": map[string]any{"values": state},
		},
	}
	raw, _ := json.Marshal(p)
	return string(raw)
}

// InteractionForm is the form body Slack posts to the interactivity URL.
func InteractionForm(payload string) url.Values { return url.Values{"payload": {payload}} }

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

// String describes a call for test messages.
func (c Call) String() string {
	return fmt.Sprintf("%s %v -> %d ok=%v %s", c.Method, c.Args, c.Status, c.OK, c.Error)
}
