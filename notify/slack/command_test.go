package slack_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slack "firebreak/notify/slack"
)

func TestParseCommand(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		in   string
		want slack.Command
	}{
		{"", slack.Command{Verb: slack.VerbHelp}},
		{"  help me please ", slack.Command{Verb: slack.VerbHelp}},
		{"declare sev1 Checkout is down", slack.Command{Verb: slack.VerbDeclare, Severity: "sev1", Text: "Checkout is down"}},
		{"DECLARE SEV2   Search  slow", slack.Command{Verb: slack.VerbDeclare, Severity: "sev2", Text: "Search  slow"}},
		{"declare Checkout is down", slack.Command{Verb: slack.VerbDeclare, Text: "Checkout is down"}},
		{"declare", slack.Command{Verb: slack.VerbDeclare}},
		{"declare sev4", slack.Command{Verb: slack.VerbDeclare, Severity: "sev4"}},
		{"list", slack.Command{Verb: slack.VerbList}},
		{"show 12", slack.Command{Verb: slack.VerbShow, ID: 12}},
		{"show #12", slack.Command{Verb: slack.VerbShow, ID: 12}},
		{"show", slack.Command{Verb: slack.VerbShow}},
		{"ack 7", slack.Command{Verb: slack.VerbAck, ID: 7}},
		{"acknowledge 7 on it", slack.Command{Verb: slack.VerbAck, ID: 7, Text: "on it"}},
		{"ack", slack.Command{Verb: slack.VerbAck}},
		{"remediate 3 rolling back", slack.Command{Verb: slack.VerbRemediate, ID: 3, Text: "rolling back"}},
		{"mitigate 3", slack.Command{Verb: slack.VerbMitigate, ID: 3}},
		{"resolve 3 fixed by 1.4.3", slack.Command{Verb: slack.VerbResolve, ID: 3, Text: "fixed by 1.4.3"}},
		{"note 3 error rate\nback to normal", slack.Command{Verb: slack.VerbNote, ID: 3, Text: "error rate\nback to normal"}},
		{"note error rate is down", slack.Command{Verb: slack.VerbNote, Text: "error rate is down"}},
		{"update 3 We are rolling back.", slack.Command{Verb: slack.VerbUpdate, ID: 3, Text: "We are rolling back."}},
		{"rollback 3", slack.Command{Verb: slack.VerbRollback, ID: 3}},
		{"postmortem 3", slack.Command{Verb: slack.VerbPostmortem, ID: 3}},
		{"mttr", slack.Command{Verb: slack.VerbMTTR}},
		{"mttr checkout", slack.Command{Verb: slack.VerbMTTR, Service: "checkout"}},
		{"mttr 90d", slack.Command{Verb: slack.VerbMTTR, Period: 90 * day}},
		{"mttr 2w checkout", slack.Command{Verb: slack.VerbMTTR, Service: "checkout", Period: 14 * day}},
		{"mttr checkout 12h", slack.Command{Verb: slack.VerbMTTR, Service: "checkout", Period: 12 * time.Hour}},
	} {
		got, err := slack.ParseCommand(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q: %+v, want %+v", c.in, got, c.want)
		}
	}
}

// A command written wrongly is refused with what is wrong and how to write it.
func TestParseCommandSaysWhatIsWrong(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"frobnicate 3", []string{`no subcommand "frobnicate"`, "/incident help"}},
		{"ack 1O", []string{`"1O" is not an incident id`, "/incident ack <id>"}},
		{"show twelve", []string{`"twelve" is not an incident id`, "/incident show <id>"}},
		{"show 12 please", []string{"takes only an incident id", "/incident show <id>"}},
		{"ack 0", []string{"Incident ids start at 1"}},
		{"resolve 99999999999999999999", []string{"too large for an incident id"}},
		{"note 12", []string{"needs the text", "/incident note <id> <text>"}},
		{"update 12   ", []string{"needs the text", "/incident update <id> <public text>"}},
		{"list everything", []string{"takes nothing"}},
		{"mttr 30x", []string{`"30x" is not a period`}},
		{"mttr 0d", []string{"more than nothing"}},
		{"mttr 30d 60d", []string{"one period"}},
		{"mttr checkout search", []string{"one service"}},
		{"mttr 99999999999d", []string{"at most 5 years"}},
	} {
		_, err := slack.ParseCommand(c.in)
		if err == nil {
			t.Errorf("%q: accepted, want an error", c.in)
			continue
		}
		var ue *slack.UsageError
		var uv *slack.UnknownVerbError
		if !errors.As(err, &ue) && !errors.As(err, &uv) {
			t.Errorf("%q: %T %v, want a usage error", c.in, err, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: %q does not say %q", c.in, err, w)
			}
		}
	}
}

// FuzzParseCommand: whatever Slack sends, the parser does not panic; what it accepts is
// valid UTF-8, names a known subcommand with a positive id or none, and reads back the same
// from its own String; what it refuses, it refuses with a usage message.
func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{"", "help", "declare sev1 Checkout down", "declare", "list", "show 12", "show #12",
		"ack 7 on it", "remediate 3 rolling back", "mitigate 3", "resolve 3 done", "note 3 text\nmore", "note hello",
		"update 3 We are on it", "rollback 3", "postmortem 3", "mttr", "mttr checkout 30d", "mttr 2w", "mttr 1h30m",
		"ack 1O", "ack 0", "show 99999999999999999999", "frobnicate", "mttr 30x", "\x00ack 1", "ack \xff\xfe",
		"declare SEV2 \u00e9t\u00e9 \u2003 title", "note #", "#", "   "} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		c, err := slack.ParseCommand(in)
		if err != nil {
			var ue *slack.UsageError
			var uv *slack.UnknownVerbError
			if !errors.As(err, &ue) && !errors.As(err, &uv) {
				t.Fatalf("%q: %T %v, want a usage error", in, err, err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("%q: the error is not valid UTF-8", in)
			}
			return
		}
		if c.ID < 0 || !utf8.ValidString(c.Text) || !utf8.ValidString(c.Service) || strings.ContainsRune(c.Text, 0) {
			t.Fatalf("%q: %+v", in, c)
		}
		again, err := slack.ParseCommand(c.String())
		if err != nil || again != c {
			t.Fatalf("%q parsed as %+v, whose String %q reads back as %+v, %v", in, c, c.String(), again, err)
		}
	})
}
