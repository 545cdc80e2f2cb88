package deploys

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"firebreak/incidents"
	"firebreak/notify/webhook"
	"firebreak/text"
)

// Default hook timeouts, when the config names none.
const (
	defaultWebhookTimeout = 10 * time.Second
	defaultCommandTimeout = time.Minute
)

// isCommand reports whether the hook runs a command rather than calling a webhook.
func (h Hook) isCommand() bool { return len(h.Command) > 0 }

// timeout is how long one call of the hook may take.
func (h Hook) timeout() time.Duration {
	switch {
	case h.Timeout > 0:
		return h.Timeout
	case h.isCommand():
		return defaultCommandTimeout
	}
	return defaultWebhookTimeout
}

// hookRunner calls a rollback hook: a signed webhook or a command.
type hookRunner struct {
	client    *webhook.Client
	publicURL string
}

func newHookRunner(publicURL string) hookRunner {
	return hookRunner{client: webhook.NewClient(), publicURL: strings.TrimRight(publicURL, "/")}
}

// hookBody is the JSON a rollback webhook receives (PRODUCT.md).
type hookBody struct {
	Action       string       `json:"action"`
	Incident     hookIncident `json:"incident"`
	Service      string       `json:"service"`
	Environment  string       `json:"environment"`
	Deploy       Deploy       `json:"deploy"`
	RollbackFrom string       `json:"rollback_from"`
	RollbackTo   *string      `json:"rollback_to"`
	// Flag is the feature flag of a disable_flag.
	Flag string `json:"flag,omitempty"`
}

type hookIncident struct {
	ID       int64              `json:"id"`
	Title    string             `json:"title"`
	Severity incidents.Severity `json:"severity"`
	URL      string             `json:"url"`
}

// maxAnswer bounds the receiver's answer quoted in an error, in characters.
const maxAnswer = 200

// callWebhook posts the rollback to the hook and returns a short description of the success
// for the timeline. Its errors name the URL without its secrets.
func (h hookRunner) callWebhook(ctx context.Context, hook Hook, rb Rollback, inc incidents.Incident, d Deploy) (result string, retry bool, err error) {
	body, err := json.Marshal(hookBody{Action: rb.Action, Flag: rb.Flag, Service: d.Service, Environment: d.Environment, Deploy: d,
		RollbackFrom: d.Version, RollbackTo: d.PreviousVersion,
		Incident: hookIncident{ID: inc.ID, Title: inc.Title, Severity: inc.Severity, URL: h.publicURL + "/incidents/" + strconv.FormatInt(inc.ID, 10)}})
	if err != nil {
		return "", false, fmt.Errorf("encode %s body: %w", rb.Action, err)
	}
	resp, retry, err := h.client.Post(ctx, hook.WebhookURL, hook.Secret, body,
		map[string]string{"Idempotency-Key": idempotencyKey(rb)}, hook.timeout())
	if err != nil {
		if answer := text.OneLine(resp.Body, maxAnswer); answer != "" {
			err = fmt.Errorf("%w: %s", err, answer)
		}
		return "", retry, err
	}
	return fmt.Sprintf("the hook answered HTTP %d", resp.Status), false, nil
}

// maxOutput bounds the command output kept for the timeline, in characters.
const maxOutput = 2000

// inheritedVariables are the only variables of Firebreak's own environment a command hook
// gets (PRODUCT.md): none of Firebreak's secrets or database settings (PG*, tokens) leak.
var inheritedVariables = []string{"PATH", "HOME", "LANG", "TZ"}

// commandEnv is a command hook's whole environment: the rollback's facts and the few
// inherited variables.
func commandEnv(rb Rollback, inc incidents.Incident, d Deploy) []string {
	to := ""
	if d.PreviousVersion != nil {
		to = *d.PreviousVersion
	}
	env := []string{
		"FIREBREAK_ACTION=" + rb.Action,
		"FIREBREAK_INCIDENT_ID=" + strconv.FormatInt(inc.ID, 10),
		"FIREBREAK_SERVICE=" + d.Service,
		"FIREBREAK_ENVIRONMENT=" + d.Environment,
		"FIREBREAK_DEPLOY_ID=" + strconv.FormatInt(d.ID, 10),
		"FIREBREAK_ROLLBACK_FROM=" + d.Version,
		"FIREBREAK_ROLLBACK_TO=" + to,
	}
	if rb.Flag != "" {
		env = append(env, "FIREBREAK_FLAG="+rb.Flag)
	}
	for _, name := range inheritedVariables {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// runCommand runs the hook's argv directly (no shell, so nothing in an incident title can
// become a command) with the facts in FIREBREAK_* variables. Exit 0 is success. A command is
// never retried: it may have done half its work, and people should look. ctx is not ended by
// a shutdown (the outbox keeps a job in hand running): the hook's timeout bounds it.
func (h hookRunner) runCommand(ctx context.Context, hook Hook, rb Rollback, inc incidents.Incident, d Deploy) (string, error) {
	timeout := hook.timeout()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, hook.Command[0], hook.Command[1:]...)
	cmd.Env = commandEnv(rb, inc, d)
	out := limitedBuffer{max: 4 * maxOutput}
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	output := orNone(out.String())
	name := text.OneLine(hook.Command[0], maxAnswer)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", fmt.Errorf("command %s timed out after %s; output: %s", name, timeout, output)
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("command %s cannot be run: %s", name, text.Clean(err.Error()))
	case err != nil:
		return "", fmt.Errorf("command %s failed (%v); output: %s", name, err, output)
	}
	return fmt.Sprintf("command %s exited 0; output: %s", name, output), nil
}

// limitedBuffer keeps the first max bytes written and counts the rest.
type limitedBuffer struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	room := l.max - l.buf.Len()
	if room > 0 {
		n := min(room, len(p))
		l.buf.Write(p[:n])
		l.dropped += len(p) - n
	} else {
		l.dropped += len(p)
	}
	return len(p), nil
}

// String is what was kept as storable text: a character cut in two by the limit is left
// out, and bytes that are not UTF-8 (a tool printing Latin-1) become U+FFFD.
func (l *limitedBuffer) String() string {
	b := l.buf.Bytes()
	if l.dropped > 0 {
		b = dropPartialRune(b)
		return text.Clean(string(b)) + fmt.Sprintf(" … (%d more bytes)", l.dropped+l.buf.Len()-len(b))
	}
	return text.Clean(string(b))
}

// dropPartialRune removes an incomplete UTF-8 sequence from the end of b.
func dropPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// orNone is command output as one timeline-sized line.
func orNone(s string) string {
	if s = text.OneLine(s, maxOutput); s == "" {
		return "(none)"
	}
	return s
}
