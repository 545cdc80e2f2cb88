package postmortem

import (
	"strings"
	"testing"

	"firebreak/text"
)

// TestPlainEscapesWhatMarkdownWouldRead: plain text keeps its characters in Markdown, on
// one line; its fast path for ordinary lines answers exactly what the slow path would.
func TestPlainEscapesWhatMarkdownWouldRead(t *testing.T) {
	cases := map[string]string{
		"Acknowledged by bob.":              "Acknowledged by bob.",
		"*bold* _it_ `code` [l](u) <b> a|b": `\*bold\* \_it\_ \` + "`" + `code\` + "`" + ` \[l\](u) \<b\> a\|b`,
		"~strike~ & \\":                     `\~strike\~ \& \\`,
		"two\nlines\t and  spaces ":         "two lines and spaces",
		" padded":                           "padded",
		"Ünïcödé 🦊":                         "Ünïcödé 🦊",
		"no\u00a0break":                     "no break",
		"bad \xff byte":                     "bad \uFFFD byte",
		"":                                  "",
	}
	for in, want := range cases {
		if got := plain(in); got != want {
			t.Errorf("plain(%q) = %q, want %q", in, got, want)
		}
		if slow := markdownSpecial.Replace(text.OneLine(in, 1<<20)); plain(in) != slow {
			t.Errorf("plain(%q) = %q, but the slow path gives %q", in, plain(in), slow)
		}
	}
}

// TestDurationsReadForPeople: at most two units, the smaller one left out when zero.
func TestDurationsReadForPeople(t *testing.T) {
	for secs, want := range map[float64]string{
		0: "0 s", 0.4: "0 s", 45: "45 s", 60: "1 min", 270: "4 min 30 s", 3600: "1 h", 3900: "1 h 5 min",
		3960: "1 h 6 min", 86400: "1 d", 183600: "2 d 3 h", 90061: "1 d 1 h",
	} {
		if got := duration(secs); got != want {
			t.Errorf("duration(%v) = %q, want %q", secs, got, want)
		}
	}
}

// TestMarkdownClosesAnOpenFence: a fence people left open is closed with its own marker so
// it cannot swallow what follows; closed fences and info strings are understood.
func TestMarkdownClosesAnOpenFence(t *testing.T) {
	cases := map[string]string{
		"```\ncode":                     "```\ncode\n```",
		"~~~~go\ncode\n~~~":             "~~~~go\ncode\n~~~\n~~~~",
		"```\ncode\n```":                "```\ncode\n```",
		"```go\na\n```go\nb":            "```go\na\n```go\nb\n```",
		"text ``` inline":               "text ``` inline",
		"  \r\nline one\r\nline two\n ": "line one\nline two",
	}
	for in, want := range cases {
		if got := markdown(in); got != want {
			t.Errorf("markdown(%q) = %q, want %q", in, got, want)
		}
	}
	if strings.Contains(markdown("a\x00b"), "\x00") {
		t.Error("markdown kept a NUL byte")
	}
}
