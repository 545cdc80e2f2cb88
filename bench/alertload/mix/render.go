package mix

import (
	"encoding/json"
	"fmt"

	"github.com/prometheus/alertmanager/template"
)

// Format is the JSON a batch is rendered as: what Alertmanager sends to a webhook receiver,
// or what a Prometheus server posts to Alertmanager itself.
type Format uint8

// The two formats.
const (
	// Webhook is Alertmanager's webhook notification (version 4): one group's alerts with
	// status, fingerprint and the group's labels and key. Firebreak takes it.
	Webhook Format = iota
	// PostableAlerts is the body of Alertmanager's POST /api/v2/alerts: an array of
	// {labels, annotations, startsAt, endsAt, generatorURL}, as Prometheus sends alerts. A
	// firing alert has no endsAt (Alertmanager then gives it its resolve_timeout); a resolve
	// has endsAt set to the time it ended.
	PostableAlerts
)

// String names the format.
func (f Format) String() string {
	switch f {
	case Webhook:
		return "webhook"
	case PostableAlerts:
		return "postable-alerts"
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// AppendTo appends batch b rendered in format f to buf.
func (b Batch) AppendTo(buf []byte, f Format) []byte {
	if f == PostableAlerts {
		return b.appendPostable(buf)
	}
	return b.appendWebhook(buf)
}

// render writes the batch in the generator's format into the generator's buffer.
func (g *Generator) render(b Batch) []byte {
	g.buf = b.AppendTo(g.buf[:0], g.cfg.Format)
	return g.buf
}

// appendWebhook appends the batch as Alertmanager's webhook JSON.
func (b Batch) appendWebhook(buf []byte) []byte {
	status := "resolved"
	for _, p := range b.picks {
		if p.kind != Resolve {
			status = "firing"
			break
		}
	}
	buf = append(buf, `{"receiver":"firebreak","status":"`...)
	buf = append(buf, status...)
	buf = append(buf, `","alerts":[`...)
	for i, p := range b.picks {
		if i > 0 {
			buf = append(buf, ',')
		}
		if p.kind == Resolve {
			buf = append(buf, `{"status":"resolved","endsAt":"`...)
			buf = b.ends.AppendFormat(buf, timeLayout)
			buf = append(buf, `",`...)
		} else {
			buf = append(buf, `{"status":"firing","endsAt":`+zeroTime+`,`...)
		}
		buf = append(buf, p.a.frag...)
		buf = append(buf, '}')
	}
	buf = append(buf, "],"...)
	return append(buf, b.g.tail...)
}

// appendPostable appends the batch as Alertmanager's API v2 postable alerts: the same
// labels, annotations, startsAt and generatorURL as the webhook, without status and
// fingerprint (Alertmanager computes those), endsAt on resolves only.
func (b Batch) appendPostable(buf []byte) []byte {
	buf = append(buf, '[')
	for i, p := range b.picks {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '{')
		buf = append(buf, p.a.frag[:p.a.postable]...)
		if p.kind == Resolve {
			buf = append(buf, `,"endsAt":"`...)
			buf = b.ends.AppendFormat(buf, timeLayout)
			buf = append(buf, '"')
		}
		buf = append(buf, '}')
	}
	return append(buf, ']')
}

// appendKV appends a label map as JSON, keys sorted as Alertmanager sends them.
func appendKV(b []byte, kv template.KV) []byte {
	b = append(b, '{')
	for i, p := range kv.SortedPairs() {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, p.Name)
		b = append(b, ':')
		b = appendString(b, p.Value)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Go string always marshals
	}
	return append(b, q...)
}
