package slack

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"firebreak/incidents"
	"firebreak/text"
)

// Verb is a subcommand of /incident.
type Verb string

// The subcommands of PRODUCT.md "Slack".
const (
	VerbDeclare    Verb = "declare"
	VerbList       Verb = "list"
	VerbShow       Verb = "show"
	VerbAck        Verb = "ack"
	VerbRemediate  Verb = "remediate"
	VerbMitigate   Verb = "mitigate"
	VerbResolve    Verb = "resolve"
	VerbNote       Verb = "note"
	VerbUpdate     Verb = "update"
	VerbRollback   Verb = "rollback"
	VerbPostmortem Verb = "postmortem"
	VerbMTTR       Verb = "mttr"
	VerbHelp       Verb = "help"
)

// usage is how each subcommand is written, for help and for errors.
var usage = map[Verb]string{
	VerbDeclare:    "/incident declare [sev1-4] <title>",
	VerbList:       "/incident list",
	VerbShow:       "/incident show <id>",
	VerbAck:        "/incident ack <id> [note]",
	VerbRemediate:  "/incident remediate <id> [note]",
	VerbMitigate:   "/incident mitigate <id> [note]",
	VerbResolve:    "/incident resolve <id> [note]",
	VerbNote:       "/incident note <id> <text>",
	VerbUpdate:     "/incident update <id> <public text>",
	VerbRollback:   "/incident rollback <id> [note]",
	VerbPostmortem: "/incident postmortem <id>",
	VerbMTTR:       "/incident mttr [service] [30d]",
	VerbHelp:       "/incident help",
}

// verbs lists the subcommands in the order help shows them.
var verbs = []Verb{VerbDeclare, VerbList, VerbShow, VerbAck, VerbRemediate, VerbMitigate, VerbResolve, VerbNote,
	VerbUpdate, VerbRollback, VerbPostmortem, VerbMTTR, VerbHelp}

// aliases are other spellings people type.
var aliases = map[string]Verb{"acknowledge": VerbAck, "ls": VerbList, "status": VerbUpdate}

// Command is a parsed /incident command.
type Command struct {
	Verb Verb
	// ID is the incident; 0 when the command named none (in an incident's own channel, that
	// channel's incident).
	ID int64
	// Severity is declare's severity; "" when not given.
	Severity incidents.Severity
	// Text is declare's title, note's and update's text, or the optional note of a state
	// change or a rollback.
	Text string
	// Service and Period narrow mttr; zero values mean every service and 30 days.
	Service string
	Period  time.Duration
}

// UsageError is a command written wrongly: what is wrong, and how to write it.
type UsageError struct {
	Problem string
	Usage   string
}

func (e *UsageError) Error() string {
	if e.Usage == "" {
		return e.Problem
	}
	return e.Problem + " Write it as `" + e.Usage + "`."
}

func usageError(v Verb, format string, args ...any) *UsageError {
	return &UsageError{Problem: fmt.Sprintf(format, args...), Usage: usage[v]}
}

// MaxPeriod bounds mttr's period.
const MaxPeriod = 5 * 366 * 24 * time.Hour

// ParseCommand parses the text after /incident. An empty text is help.
func ParseCommand(raw string) (Command, error) {
	rest := strings.TrimSpace(text.Clean(raw))
	word, rest := nextToken(rest)
	if word == "" {
		return Command{Verb: VerbHelp}, nil
	}
	v := Verb(strings.ToLower(word))
	if a, ok := aliases[string(v)]; ok {
		v = a
	}
	c := Command{Verb: v}
	switch v {
	case VerbHelp:
		return c, nil
	case VerbList:
		if rest != "" {
			return Command{}, usageError(v, "`list` takes nothing after it (it lists the open incidents).")
		}
		return c, nil
	case VerbDeclare:
		if tok, after := nextToken(rest); isSeverity(tok) {
			c.Severity, rest = incidents.Severity(strings.ToLower(tok)), after
		}
		c.Text = rest
		return c, nil
	case VerbMTTR:
		return parseMTTR(rest)
	case VerbShow, VerbPostmortem, VerbAck, VerbRemediate, VerbMitigate, VerbResolve, VerbNote, VerbUpdate, VerbRollback:
		id, after, err := parseID(v, rest)
		if err != nil {
			return Command{}, err
		}
		c.ID, c.Text = id, after
		switch {
		case (v == VerbShow || v == VerbPostmortem) && c.Text != "":
			if c.ID == 0 {
				return Command{}, usageError(v, "%q is not an incident id.", firstWord(c.Text))
			}
			return Command{}, usageError(v, "`%s` takes only an incident id.", v)
		case (v == VerbNote || v == VerbUpdate) && c.Text == "":
			return Command{}, usageError(v, "`%s` needs the text to add.", v)
		}
		return c, nil
	}
	return Command{}, &UnknownVerbError{Word: word}
}

// UnknownVerbError is a subcommand /incident does not have.
type UnknownVerbError struct{ Word string }

func (e *UnknownVerbError) Error() string {
	return fmt.Sprintf("/incident has no subcommand %q. `/incident help` lists them.", text.Cut(e.Word, 40))
}

// parseID reads a leading incident id ("12" or "#12") and returns it with the rest; 0 and
// the whole text when the text does not start with one. A leading word that starts like a
// number but is not one is an error, so "ack 1O" is not read as a note.
func parseID(v Verb, s string) (int64, string, error) {
	tok, rest := nextToken(s)
	digits := strings.TrimPrefix(tok, "#")
	if digits == "" || !isDigit(rune(digits[0])) {
		return 0, s, nil
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	switch {
	case err != nil && allDigits(digits):
		return 0, "", usageError(v, "%q is too large for an incident id.", text.Cut(tok, 30))
	case err != nil:
		return 0, "", usageError(v, "%q is not an incident id.", text.Cut(tok, 30))
	case id <= 0:
		return 0, "", usageError(v, "Incident ids start at 1.")
	}
	return id, rest, nil
}

// parseMTTR reads mttr's optional service and period, in either order.
func parseMTTR(rest string) (Command, error) {
	c := Command{Verb: VerbMTTR}
	for rest != "" {
		var tok string
		tok, rest = nextToken(rest)
		if d, ok := parsePeriod(tok); ok {
			if c.Period != 0 {
				return Command{}, usageError(VerbMTTR, "Give one period, not %q and %q.", formatPeriod(c.Period), tok)
			}
			if d <= 0 || d > MaxPeriod {
				return Command{}, usageError(VerbMTTR, "The period %q must be more than nothing and at most 5 years.", tok)
			}
			c.Period = d
			continue
		}
		if looksLikePeriod(tok) {
			return Command{}, usageError(VerbMTTR, "%q is not a period: write 30d, 12h or 2w.", text.Cut(tok, 30))
		}
		if c.Service != "" {
			return Command{}, usageError(VerbMTTR, "Give one service, not %q and %q.", c.Service, text.Cut(tok, 60))
		}
		if len([]rune(tok)) > incidents.MaxName {
			return Command{}, usageError(VerbMTTR, "The service name is longer than %d characters.", incidents.MaxName)
		}
		c.Service = tok
	}
	return c, nil
}

// parsePeriod reads 30d, 2w or a Go duration (12h, 90m).
func parsePeriod(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	unit := s[len(s)-1]
	if unit == 'd' || unit == 'w' {
		n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		if err != nil || !allDigits(s[:len(s)-1]) {
			return 0, false
		}
		day := int64(24 * time.Hour)
		if unit == 'w' {
			day *= 7
		}
		if n > math.MaxInt64/day {
			return MaxPeriod + 1, true
		}
		return time.Duration(n * day), true
	}
	if !isDigit(rune(s[0])) {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// looksLikePeriod is a word starting with a digit: a period written wrongly, never a service.
func looksLikePeriod(s string) bool { return s != "" && isDigit(rune(s[0])) }

// formatPeriod writes a period as people do: 30d, 2w, or a Go duration.
func formatPeriod(d time.Duration) string {
	day := 24 * time.Hour
	switch {
	case d%(7*day) == 0:
		return strconv.FormatInt(int64(d/(7*day)), 10) + "w"
	case d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}

// String writes the command back as it would be typed; ParseCommand reads it back the same.
func (c Command) String() string {
	parts := []string{string(c.Verb)}
	if c.ID != 0 {
		parts = append(parts, strconv.FormatInt(c.ID, 10))
	}
	if c.Severity != "" {
		parts = append(parts, string(c.Severity))
	}
	if c.Service != "" {
		parts = append(parts, c.Service)
	}
	if c.Period != 0 {
		parts = append(parts, formatPeriod(c.Period))
	}
	if c.Text != "" {
		parts = append(parts, c.Text)
	}
	return strings.Join(parts, " ")
}

// nextToken splits off the first whitespace-separated word; rest starts at the next word.
func nextToken(s string) (tok, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeftFunc(s[i:], unicode.IsSpace)
}

func firstWord(s string) string {
	w, _ := nextToken(s)
	return text.Cut(w, 30)
}

func isSeverity(s string) bool {
	_, err := incidents.ParseSeverity(strings.ToLower(s))
	return err == nil
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func allDigits(s string) bool {
	for _, r := range s {
		if !isDigit(r) {
			return false
		}
	}
	return s != ""
}
