package postmortem

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"firebreak/text"
)

// The helpers the Markdown template writes with: times, durations, and text made safe to
// place in Markdown.

// when writes a time for people: "2026-03-02 14:05:09 UTC".
func when(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" }

// whenPtr writes an optional time, or "—".
func whenPtr(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return when(*t)
}

// day writes the date of a timeline line: "2026-03-02".
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// duration writes seconds for people with at most two units: "45 s", "4 min 30 s",
// "1 h 5 min", "2 d 3 h".
func duration(seconds float64) string {
	s := int64(math.Round(seconds))
	units := []struct {
		name string
		size int64
	}{{"d", 86400}, {"h", 3600}, {"min", 60}, {"s", 1}}
	for i, u := range units {
		if s < u.size && u.size > 1 {
			continue
		}
		out := fmt.Sprintf("%d %s", s/u.size, u.name)
		if i+1 < len(units) {
			next := units[i+1]
			if rest := (s % u.size) / next.size; rest > 0 {
				out += fmt.Sprintf(" %d %s", rest, next.name)
			}
		}
		return out
	}
	return "0 s"
}

// durationPtr writes optional seconds, or "not reached".
func durationPtr(seconds *float64) string {
	if seconds == nil {
		return "not reached yet"
	}
	return duration(*seconds)
}

// markdownSpecial are the characters that could make plain text into Markdown markup
// inside a line: emphasis, code, links, raw HTML, table cells, strikethrough, entities.
var markdownSpecial = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, `<`, `\<`, `>`, `\>`,
	`|`, `\|`, `~`, `\~`, `&`, `\&`,
)

// plain writes text a machine or a person gave as plain text (titles, names, timeline lines
// Firebreak wrote, alert summaries) so Markdown shows it as it is, on one line. The template
// never starts a line with it, so line-start markup (headings, lists) cannot arise.
func plain(s string) string {
	if alreadyPlain(s) {
		return s // most lines: a timeline may hold tens of thousands
	}
	return markdownSpecial.Replace(text.OneLine(s, 1<<20))
}

// alreadyPlain reports whether plain would return s unchanged: ASCII without control
// characters, Markdown's special characters or runs of spaces, and not padded with spaces.
func alreadyPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c >= 0x7f:
			return false
		case c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' '):
			return false
		case strings.IndexByte(markdownSpecialChars, c) >= 0:
			return false
		}
	}
	return true
}

// markdownSpecialChars are the characters markdownSpecial escapes.
const markdownSpecialChars = "\\`*_[]<>|~&"

// fenceLine matches a line that opens or closes a fenced code block.
var fenceLine = regexp.MustCompile("^ {0,3}(`{3,}|~{3,})")

// markdown prepares Markdown people wrote for its place in the document: line ends made
// "\n", surrounding blank lines dropped, and a code fence left open closed, so that it
// cannot swallow the sections after it. Raw HTML in it is left for goldmark to drop.
func markdown(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(text.Clean(s), "\r\n", "\n"))
	if !strings.Contains(s, "```") && !strings.Contains(s, "~~~") {
		return s
	}
	var open string
	for _, line := range strings.Split(s, "\n") {
		m := fenceLine.FindStringSubmatch(line)
		switch {
		case m == nil:
		case open == "":
			open = m[1]
		case m[1][0] == open[0] && len(m[1]) >= len(open) && strings.TrimSpace(strings.TrimLeft(line, " "+m[1][:1])) == "":
			open = ""
		}
	}
	if open != "" {
		s += "\n" + open
	}
	return s
}

// indent puts every line of s but empty ones two spaces in, to keep it inside a list item.
func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "  " + l
		}
	}
	return strings.Join(lines, "\n")
}

// inline prepares one-line Markdown people wrote (an action item): its lines joined.
func inline(s string) string { return strings.Join(strings.Fields(text.Clean(s)), " ") }
