package postmortem

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Format is one of the ways a postmortem is written out.
type Format string

// The three formats.
const (
	FormatJSON     Format = "json"
	FormatMarkdown Format = "md"
	FormatHTML     Format = "html"
)

// ParseFormat accepts md, html and json; "" is json.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case "":
		return FormatJSON, nil
	case FormatJSON, FormatMarkdown, FormatHTML:
		return f, nil
	}
	return "", invalid("unknown format %q (want md, html or json)", s)
}

// ContentType is the media type of the format, for HTTP.
func (f Format) ContentType() string {
	switch f {
	case FormatMarkdown:
		return "text/markdown; charset=utf-8"
	case FormatHTML:
		return "text/html; charset=utf-8"
	}
	return "application/json"
}

// Render writes the report in format f.
func Render(r Report, f Format) ([]byte, error) {
	switch f {
	case FormatMarkdown:
		return renderMarkdown(r)
	case FormatHTML:
		return renderHTML(r)
	case FormatJSON:
		return renderJSON(r)
	}
	return nil, invalid("unknown format %q (want md, html or json)", f)
}

// renderJSON writes the report as compact JSON, as the API writes every answer, without
// HTML escaping: it is for programs, and "<" reads better than "\u003c". Indent it for
// people (the CLI does): indenting costs as much as encoding for a long timeline.
func renderJSON(r Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, fmt.Errorf("render postmortem %d as JSON: %w", r.IncidentID, err)
	}
	return buf.Bytes(), nil
}
