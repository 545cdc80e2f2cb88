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

	"firebreak/incidents"
	"firebreak/notify/webhook"
)

// hookRunner calls a rollback hook: a signed webhook or a command.
type hookRunner struct {
	client    *webhook.Client
	publicURL string
	// hiddenEnv names environment variables a command hook must not inherit: Firebreak's
	// own secrets (bot tokens, signing secrets, the database URL).
	hiddenEnv map[string]bool
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
}

type hookIncident struct {
	ID       int64              `json:"id"`
	Title    string             `json:"title"`
	Severity incidents.Severity `json:"severity"`
	URL      string             `json:"url"`
}

// run calls the hook and returns a short description of the success for the timeline.
func (h hookRunner) run(ctx context.Context, hook Hook, inc incidents.Incident, d Deploy) (result string, retry bool, err error) {
	if len(hook.Command) > 0 {
		return h.runCommand(ctx, hook, inc, d)
	}
	body, err := json.Marshal(hookBody{Action: "rollback", Service: d.Service, Environment: d.Environment, Deploy: d,
		RollbackFrom: d.Version, RollbackTo: d.PreviousVersion,
		Incident: hookIncident{ID: inc.ID, Title: inc.Title, Severity: inc.Severity, URL: h.publicURL + "/incidents/" + strconv.FormatInt(inc.ID, 10)}})
	if err != nil {
		return "", false, fmt.Errorf("encode rollback body: %w", err)
	}
	timeout := hook.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	resp, retry, err := h.client.Post(ctx, hook.WebhookURL, hook.Secret, body,
		map[string]string{"Idempotency-Key": idempotencyKey(inc.ID, d.ID)}, timeout)
	if err != nil {
		if resp.Body != "" {
			err = fmt.Errorf("%w: %s", err, oneLine(resp.Body, 200))
		}
		return "", retry, err
	}
	return fmt.Sprintf("the hook answered HTTP %d", resp.Status), false, nil
}

// maxOutput bounds the command output kept for the timeline.
const maxOutput = 2000

// runCommand runs the hook's argv directly (no shell, so nothing in an incident title can
// become a command) with the facts in FIREBREAK_* variables. Exit 0 is success. A failing
// command is not retried: it may have done half its work, and people should look.
func (h hookRunner) runCommand(ctx context.Context, hook Hook, inc incidents.Incident, d Deploy) (string, bool, error) {
	timeout := hook.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, hook.Command[0], hook.Command[1:]...)
	to := ""
	if d.PreviousVersion != nil {
		to = *d.PreviousVersion
	}
	cmd.Env = append(h.inheritedEnv(),
		"FIREBREAK_ACTION=rollback",
		"FIREBREAK_INCIDENT_ID="+strconv.FormatInt(inc.ID, 10),
		"FIREBREAK_SERVICE="+d.Service,
		"FIREBREAK_ENVIRONMENT="+d.Environment,
		"FIREBREAK_DEPLOY_ID="+strconv.FormatInt(d.ID, 10),
		"FIREBREAK_ROLLBACK_FROM="+d.Version,
		"FIREBREAK_ROLLBACK_TO="+to,
	)
	var out limitedBuffer
	out.max = maxOutput
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	output := strings.TrimSpace(out.String())
	switch {
	case parent.Err() != nil:
		// Firebreak is shutting down: the command was cut off, not refused. Run it again
		// after the restart (the hook should be idempotent, as webhooks are by their key).
		return "", true, fmt.Errorf("command %s interrupted by shutdown", hook.Command[0])
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "", false, fmt.Errorf("command %s timed out after %s; output: %s", hook.Command[0], timeout, orNone(output))
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return "", false, fmt.Errorf("command %s cannot be run: %v", hook.Command[0], err)
	case err != nil:
		return "", false, fmt.Errorf("command %s failed (%v); output: %s", hook.Command[0], err, orNone(output))
	}
	return fmt.Sprintf("command %s exited 0; output: %s", hook.Command[0], orNone(output)), false, nil
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

func (l *limitedBuffer) String() string {
	if l.dropped > 0 {
		return l.buf.String() + fmt.Sprintf(" … (%d more bytes)", l.dropped)
	}
	return l.buf.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return oneLine(s, maxOutput)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// inheritedEnv is Firebreak's environment without its secrets, for command hooks: kubectl
// and friends need PATH, HOME and KUBECONFIG, not the Slack token.
func (h hookRunner) inheritedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if h.hiddenEnv[name] || strings.HasPrefix(name, "FIREBREAK_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
