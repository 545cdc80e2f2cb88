package slack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/text"
)

// Slack's limits on what a message holds (Block Kit reference), in characters.
const (
	maxHeader      = 150
	maxSectionText = 3000
	maxField       = 2000
	maxContext     = 2000
	// maxReplyText bounds a thread reply: Slack cuts a message's text past 40,000
	// characters; a reply stays far shorter to be readable.
	maxReplyText = 3000
	// maxSuspects listed in a message; more are counted.
	maxSuspects = 5
)

// Action ids of the message's buttons; the value is the incident id (and for a rollback the
// deploy shown in the confirmation: "12:34").
const (
	ActionAcknowledge = "firebreak_ack"
	ActionRollback    = "firebreak_rollback"
	ActionResolve     = "firebreak_resolve"
	actionsBlockID    = "firebreak_incident_actions"
	// ActionRemedy prefixes the buttons of remedies besides rollback (abort_canary,
	// disable_flag, named actions): action ids must differ within a block, so each gets its
	// number; the value is "incident:deploy:action[:flag]".
	ActionRemedy = "firebreak_remedy_"
	// maxRemedyButtons keeps the message within Slack's limit of elements in a block.
	maxRemedyButtons = 5
)

// metadataType marks the messages Firebreak posts, so a post whose answer was lost can be
// found in the channel again.
const metadataType = "firebreak_incident"

// incidentView is everything an incident's message shows.
type incidentView struct {
	Inc      incidents.Incident
	Suspects []deploys.Match
	Alerts   alerts.Counts
	// ChannelID is the incident's own channel; "" when it has none.
	ChannelID string
	// CanRollback: the service has a rollback hook people may call.
	CanRollback bool
	// Remedies are the other remedies the top suspect allows (abort its canary, turn off one
	// of its flags, a named action).
	Remedies  []deploys.Remedy
	PublicURL string
}

// rendered is a message ready to send: its blocks, the notification text, and a digest of
// both, so an update that would change nothing is not sent.
type rendered struct {
	Text   string
	Blocks []slackapi.Block
	Digest string
}

// render builds the incident message: title, severity, phase, service and environment,
// summary, suspected deploys with their reasons, alert counts, a link, and the buttons that
// apply to the incident's phase.
func render(v incidentView) rendered {
	inc := v.Inc
	icon := ":rotating_light:"
	if !inc.Open() {
		icon = ":white_check_mark:"
	}
	header := slackapi.NewHeaderBlock(plain(text.Cut(fmt.Sprintf("%s #%d %s", icon, inc.ID, text.OneLine(inc.Title, maxHeader)), maxHeader)))
	fields := []*slackapi.TextBlockObject{
		mrkdwn("*Severity*\n" + string(inc.Severity)),
		mrkdwn("*Phase*\n" + phaseLine(inc)),
		mrkdwn("*Service*\n" + orDash(escape(text.Cut(inc.Service, maxField-20)))),
		mrkdwn("*Environment*\n" + orDash(escape(text.Cut(inc.Environment, maxField-20)))),
	}
	blocks := []slackapi.Block{header, slackapi.NewSectionBlock(nil, fields, nil)}
	if s := strings.TrimSpace(inc.Summary); s != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(cutEscaped(s, maxSectionText)), nil, nil))
	}
	if len(v.Suspects) > 0 {
		blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn(suspectsText(v.Suspects)), nil, nil))
	}
	blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(text.Cut(contextLine(v), maxContext))))
	if actions := buttons(v); len(actions) > 0 {
		blocks = append(blocks, slackapi.NewActionBlock(actionsBlockID, actions...))
	}
	fallback := fmt.Sprintf("[%s] #%d %s (%s)", inc.Severity, inc.ID, text.OneLine(inc.Title, 200), inc.Status)
	return rendered{Text: fallback, Blocks: blocks, Digest: digest(fallback, blocks)}
}

// phaseLine is the phase, with when it was mitigated.
func phaseLine(inc incidents.Incident) string {
	p := string(inc.Status)
	if inc.MitigatedAt != nil && inc.Open() {
		p += " (mitigated " + slackDate(*inc.MitigatedAt) + ")"
	}
	if inc.ResolvedAt != nil && !inc.Open() {
		p += " " + slackDate(*inc.ResolvedAt)
	}
	return p
}

func suspectsText(ms []deploys.Match) string {
	var b strings.Builder
	b.WriteString("*Suspected deploys*")
	for i, m := range ms {
		if i == maxSuspects {
			fmt.Fprintf(&b, "\n… and %d more", len(ms)-maxSuspects)
			break
		}
		fmt.Fprintf(&b, "\n• %s: %s", escape(text.OneLine(m.Deploy.Label(), 200)), escape(text.OneLine(m.Reason, 300)))
		if m.Deploy.Author != nil {
			b.WriteString(", by " + escape(text.OneLine(*m.Deploy.Author, 80)))
		}
		if c := m.Deploy.ShortCommit(); c != "" {
			b.WriteString(" (commit `" + escape(c) + "`)")
		}
	}
	return text.Cut(b.String(), maxSectionText)
}

func contextLine(v incidentView) string {
	parts := []string{fmt.Sprintf("Alerts: %d firing, %d resolved", v.Alerts.Firing, v.Alerts.Resolved),
		"opened " + slackDate(v.Inc.OpenedAt)}
	if v.ChannelID != "" {
		parts = append(parts, "incident channel <#"+v.ChannelID+">")
	}
	if v.PublicURL != "" {
		parts = append(parts, fmt.Sprintf("<%s|Open incident #%d in Firebreak>", incidentURL(v.PublicURL, v.Inc.ID), v.Inc.ID))
	}
	return strings.Join(parts, " · ")
}

// buttons are Acknowledge (while observing), Roll back (when the service has a hook and the
// incident a suspect, with a confirmation naming the deploy) and Resolve, while it is open.
func buttons(v incidentView) []slackapi.BlockElement {
	inc := v.Inc
	if !inc.Open() {
		return nil
	}
	id := strconv.FormatInt(inc.ID, 10)
	var out []slackapi.BlockElement
	if inc.Status == incidents.Observing {
		ack := slackapi.NewButtonBlockElement(ActionAcknowledge, id, plain("Acknowledge"))
		ack.Style = slackapi.StylePrimary
		out = append(out, ack)
	}
	if v.CanRollback && len(v.Suspects) > 0 {
		d := v.Suspects[0].Deploy
		rb := slackapi.NewButtonBlockElement(ActionRollback, id+":"+strconv.FormatInt(d.ID, 10), plain("Roll back"))
		rb.Style = slackapi.StyleDanger
		target := "the previous version"
		if d.PreviousVersion != nil {
			target = *d.PreviousVersion
		}
		rb.Confirm = slackapi.NewConfirmationBlockObject(plain("Roll back?"),
			plain(text.Cut(fmt.Sprintf("Roll %s back to %s? Its rollback hook is called once.", d.Label(), target), 300)),
			plain("Roll back"), plain("Cancel"))
		rb.Confirm.Style = slackapi.StyleDanger
		out = append(out, rb)
	}
	if len(v.Suspects) > 0 {
		d := v.Suspects[0].Deploy
		for i, r := range v.Remedies {
			if i == maxRemedyButtons {
				break
			}
			value := id + ":" + strconv.FormatInt(d.ID, 10) + ":" + r.Action
			if r.Flag != "" {
				value += ":" + r.Flag
			}
			b := slackapi.NewButtonBlockElement(ActionRemedy+strconv.Itoa(i), text.CutBytes(value, 2000), plain(text.Cut(r.Label(), 75)))
			b.Confirm = slackapi.NewConfirmationBlockObject(plain(text.Cut(r.Label()+"?", 100)),
				plain(text.Cut(fmt.Sprintf("%s for %s? Its hook is called once.", r.Label(), d.Label()), 300)),
				plain(text.Cut(r.Label(), 30)), plain("Cancel"))
			out = append(out, b)
		}
	}
	resolve := slackapi.NewButtonBlockElement(ActionResolve, id, plain("Resolve"))
	resolve.Confirm = slackapi.NewConfirmationBlockObject(plain("Resolve?"),
		plain(text.Cut(fmt.Sprintf("Resolve incident #%d? Its alerts stop counting towards it.", inc.ID), 300)),
		plain("Resolve"), plain("Cancel"))
	out = append(out, resolve)
	return out
}

// digest identifies what a message shows.
func digest(fallback string, blocks []slackapi.Block) string {
	raw, err := json.Marshal(slackapi.Blocks{BlockSet: blocks})
	if err != nil {
		raw = []byte(err.Error())
	}
	sum := sha256.Sum256(append([]byte(fallback+"\x00"), raw...))
	return hex.EncodeToString(sum[:16])
}

func incidentURL(publicURL string, id int64) string {
	return publicURL + "/incidents/" + strconv.FormatInt(id, 10)
}

// slackDate shows a time in each reader's own time zone, with UTC as the fallback text.
func slackDate(t time.Time) string {
	return fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", t.Unix(), t.UTC().Format("2006-01-02 15:04 UTC"))
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, s, false, false)
}

// escape makes text safe inside mrkdwn: Slack reads &, < and > as markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// cutEscaped escapes s and cuts it to max characters without cutting an entity in two.
func cutEscaped(s string, max int) string {
	e := escape(text.Clean(s))
	if len([]rune(e)) <= max {
		return e
	}
	cut := []rune(text.Cut(e, max))
	// Drop a partial entity ("&am…") left at the end.
	if i := strings.LastIndex(string(cut), "&"); i >= 0 && !strings.Contains(string(cut)[i:], ";") {
		return string(cut)[:i] + text.Ellipsis
	}
	return string(cut)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
