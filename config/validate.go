package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The values some keys accept, kept in one place so messages can list
// them.
var (
	validDrivers    = []string{DriverSQLite, DriverPostgres}
	validPolicies   = []string{PolicyAuto, PolicyConfirm, PolicyOff}
	validSeverities = []string{"sev1", "sev2", "sev3", "sev4"}
	validScopes     = []string{"alerts:write", "deploys:write", "incidents:write", "read", "admin"}
)

// problems collects validation failures, so Validate reports all of them
// at once rather than one per start.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks c as Load leaves it and returns every problem, joined
// with errors.Join; each is a *FieldError naming its key. Secrets must be
// resolved already: an empty one is reported under its *_env key.
func (c Config) Validate() error {
	var p problems
	// An empty public_url is derived from listen; when listen is broken
	// that is the one problem to report.
	if p.checkListen(c.Listen) || c.PublicURL != "" {
		p.checkURL("public_url", c.PublicURL, true)
	}
	p.checkDatabase(c.Database)
	p.checkTokens(c.Tokens, c.env)
	p.checkEnvironments(c.Environments)
	p.checkAlerts(c.Alerts)
	p.positive("incidents.ack_reminder", c.Incidents.AckReminder)
	p.positive("deploys.correlation_window", c.Deploys.CorrelationWindow)
	for _, name := range sortedKeys(c.Services) {
		p.checkService(name, c.Services[name], c.env)
	}
	if c.Slack != nil {
		p.checkSlack(*c.Slack, c.env)
	}
	if c.Statuspage != nil {
		p.checkStatuspage(*c.Statuspage, c.env)
	}
	p.positive("postmortem.due_after", c.Postmortem.DueAfter)
	if c.Outbox.MaxAttempts < 1 {
		p.add("outbox.max_attempts", "must be at least 1, is %d", c.Outbox.MaxAttempts)
	}
	p.positive("outbox.max_backoff", c.Outbox.MaxBackoff)
	p.positive("server.read_timeout", c.Server.ReadTimeout)
	p.positive("server.write_timeout", c.Server.WriteTimeout)
	p.positiveBytes("server.max_body_bytes", c.Server.MaxBodyBytes)
	p.positive("retention.delivered_jobs", c.Retention.DeliveredJobs)
	p.checkUI(c.UI)
	return errors.Join(p...)
}

// checkListen wants host:port with a numeric port; the host may be empty
// to listen on every interface. It reports whether listen is usable.
func (p *problems) checkListen(listen string) bool {
	_, port, err := net.SplitHostPort(listen)
	if err != nil {
		p.add("listen", "%q is not host:port (for example 127.0.0.1:8080 or :8080)", listen)
		return false
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		p.add("listen", "port %q is not a number from 0 to 65535", port)
		return false
	}
	return true
}

// checkURL wants an absolute http or https URL with a host, since these
// URLs are called or shown to people as they are.
func (p *problems) checkURL(key, raw string, required bool) {
	if raw == "" {
		if required {
			p.add(key, "is required")
		}
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(key, "%q is not an absolute http:// or https:// URL", raw)
	}
}

func (p *problems) checkDatabase(db Database) {
	if !slices.Contains(validDrivers, db.Driver) {
		p.add("database.driver", "unknown driver %q (one of %s)", db.Driver, strings.Join(validDrivers, ", "))
		return
	}
	switch {
	case db.URL == "":
		p.add("database.url", "is required")
	case db.Driver == DriverPostgres && !isPostgresURL(db.URL):
		p.add("database.url", "driver postgres needs a postgres:// or postgresql:// URL, not %q", db.URL)
	case db.Driver == DriverSQLite && isPostgresURL(db.URL):
		p.add("database.driver", "is sqlite but url is a PostgreSQL URL; set driver: postgres or leave driver out")
	case db.Driver == DriverSQLite && looksLikeOtherURL(db.URL):
		// Otherwise a mistyped URL would quietly become a SQLite file name.
		p.add("database.url", "%q is neither a SQLite file path nor a postgres:// or postgresql:// URL", db.URL)
	}
}

// checkEnvironments wants each alias to name one canonical environment, and no canonical
// name to be another's alias (which would make the mapping depend on order).
func (p *problems) checkEnvironments(envs map[string][]string) {
	owner := map[string]string{}
	for _, canonical := range sortedKeys(envs) {
		if strings.TrimSpace(canonical) == "" {
			p.add("environments", "an environment name is empty")
		}
		for i, a := range envs[canonical] {
			key := fmt.Sprintf("environments.%s[%d]", canonical, i)
			switch prev, dup := owner[a]; {
			case strings.TrimSpace(a) == "":
				p.add(key, "an alias is empty")
			case a == canonical:
				p.add(key, "%q is the environment's own name, not an alias", a)
			case dup:
				p.add(key, "%q is already an alias of %s", a, prev)
			default:
				owner[a] = canonical
			}
			if _, isCanonical := envs[a]; isCanonical && a != canonical {
				p.add(key, "%q is an environment of its own and cannot also be an alias of %s", a, canonical)
			}
		}
	}
}

func (p *problems) checkTokens(tokens []Token, env secretEnv) {
	seen := map[string]int{}
	values := map[string]int{}
	for i, t := range tokens {
		key := fmt.Sprintf("tokens[%d]", i)
		switch first, dup := seen[t.Name]; {
		case t.Name == "":
			p.add(key+".name", "is required")
		case dup:
			p.add(key+".name", "%q is already used by tokens[%d]", t.Name, first)
		default:
			seen[t.Name] = i
		}
		p.secret(env, key+".token_env", t.TokenEnv, t.Token)
		if t.Token != "" {
			// A short token can be guessed; one given twice would make two names one principal.
			if n := utf8.RuneCountInString(t.Token); n < MinTokenLength {
				p.add(key+".token_env", "the token in %s is %d characters long; use at least %d (firebreak token create makes good ones)",
					t.TokenEnv, n, MinTokenLength)
			}
			if first, dup := values[t.Token]; dup {
				p.add(key+".token_env", "%s holds the same token as tokens[%d]; give each client its own", t.TokenEnv, first)
			} else {
				values[t.Token] = i
			}
		}
		if len(t.Scopes) == 0 {
			p.add(key+".scopes", "is required (one or more of %s)", strings.Join(validScopes, ", "))
		}
		for j, s := range t.Scopes {
			if !slices.Contains(validScopes, s) {
				p.add(fmt.Sprintf("%s.scopes[%d]", key, j), "unknown scope %q (one of %s)", s, strings.Join(validScopes, ", "))
			}
		}
	}
}

func (p *problems) checkAlerts(a Alerts) {
	for i, l := range a.ServiceLabels {
		if l == "" {
			p.add(fmt.Sprintf("alerts.service_labels[%d]", i), "must not be empty")
		}
	}
	for i, l := range a.EnvironmentLabels {
		if l == "" {
			p.add(fmt.Sprintf("alerts.environment_labels[%d]", i), "must not be empty")
		}
	}
	for _, k := range sortedKeys(a.SeverityMap) {
		p.severity("alerts.severity_map."+k, a.SeverityMap[k])
	}
	p.positive("alerts.reopen_window", a.ReopenWindow)
	p.positive("alerts.stale_after", a.StaleAfter)
	p.positiveBytes("alerts.max_body_bytes", a.MaxBodyBytes)
	if a.GroupBy != GroupByService && a.GroupBy != GroupByGroupKey {
		p.add("alerts.group_by", "unknown value %q (one of %s, %s)", a.GroupBy, GroupByService, GroupByGroupKey)
	}
}

func (p *problems) checkService(name string, s Service, env secretEnv) {
	key := "services." + name
	if strings.TrimSpace(name) == "" {
		p.add("services", "a service name must not be empty")
	}
	for action, a := range s.Actions {
		akey := key + ".actions." + action
		switch {
		case !validActionName(action):
			p.add(akey, "%q is not an action name: use lowercase letters, digits and _ (for example abort_canary)", action)
		case action == "rollback":
			p.add(akey, "rollback is configured under services.%s.rollback", name)
		case a == nil:
			p.add(akey, "needs a webhook or a command")
		default:
			p.checkHook(akey, *a, env)
		}
	}
	if s.Rollback == nil {
		return
	}
	p.checkHook(key+".rollback", *s.Rollback, env)
}

// validActionName reports whether name can name a remedy in a URL and an Idempotency-Key.
func validActionName(name string) bool {
	if name == "" || len(name) > 50 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// checkHook checks one remedy hook (a rollback or another action) under key.
func (p *problems) checkHook(key string, r Rollback, env secretEnv) {
	if !slices.Contains(validPolicies, r.Policy) {
		p.add(key+".policy", "unknown policy %q (one of %s)", r.Policy, strings.Join(validPolicies, ", "))
	}
	p.severity(key+".min_severity", r.MinSeverity)
	p.positive(key+".timeout", r.Timeout)
	switch {
	case r.Webhook != nil && r.Command != nil:
		p.add(key, "has both webhook and command; keep one")
	case r.Webhook == nil && r.Command == nil && r.Policy != PolicyOff:
		p.add(key, "needs a webhook or a command (or policy: off)")
	}
	if r.Webhook != nil {
		p.checkURL(key+".webhook.url", r.Webhook.URL, true)
		p.secret(env, key+".webhook.secret_env", r.Webhook.SecretEnv, r.Webhook.Secret)
		p.positive(key+".webhook.timeout", r.Webhook.Timeout)
	}
	if r.Command != nil {
		if len(r.Command) == 0 || r.Command[0] == "" {
			p.add(key+".command", "must list the program and its arguments, e.g. [kubectl, rollout, undo, deployment/x]")
		}
	}
}

func (p *problems) checkSlack(s Slack, env secretEnv) {
	p.secret(env, "slack.bot_token_env", s.BotTokenEnv, s.BotToken)
	p.secret(env, "slack.signing_secret_env", s.SigningSecretEnv, s.SigningSecret)
	if s.Channel == "" {
		p.add("slack.channel", "is required: incidents of services without slack_channel are posted there")
	}
	p.checkURL("slack.api_url", s.APIURL, false)
	if ic := s.IncidentChannels; ic != nil {
		p.severity("slack.incident_channels.min_severity", ic.MinSeverity)
		if !validChannelPrefix(ic.Prefix) {
			p.add("slack.incident_channels.prefix", "%q is not a channel name start: use up to %d lowercase letters, digits, - or _ (for example inc-)",
				ic.Prefix, maxChannelPrefix)
		}
		p.positive("slack.incident_channels.archive_after", ic.ArchiveAfter)
	}
	for i, r := range s.Responders {
		if !validSlackID(r) {
			p.add(fmt.Sprintf("slack.responders[%d]", i), "%q is not a Slack user id (U…, W…) or user group id (S…); "+
				"a profile's ⋮ menu has \"Copy member ID\"", r)
		}
	}
}

// maxChannelPrefix keeps room in Slack's 80 characters for the incident's id and title.
const maxChannelPrefix = 20

// validChannelPrefix accepts what Slack allows in a channel name.
func validChannelPrefix(prefix string) bool {
	if prefix == "" || len(prefix) > maxChannelPrefix {
		return false
	}
	for _, r := range prefix {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validSlackID accepts a user (U…, W…) or user group (S…) id: upper-case letters and digits.
func validSlackID(id string) bool {
	if len(id) < 3 || len(id) > 30 || !strings.ContainsRune("UWS", rune(id[0])) {
		return false
	}
	for _, r := range id[1:] {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func (p *problems) checkStatuspage(s Statuspage, env secretEnv) {
	if s.Title == "" {
		p.add("statuspage.title", "must not be empty")
	}
	p.checkURL("statuspage.url", s.URL, false)
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil || s.TimeZone == "Local" {
			p.add("statuspage.time_zone", "%q is not an IANA time zone name (like Europe/Berlin)", s.TimeZone)
		}
	}
	p.severity("statuspage.min_severity", s.MinSeverity)
	seen := map[string]int{}
	for i, c := range s.Components {
		key := fmt.Sprintf("statuspage.components[%d]", i)
		switch first, dup := seen[c.Name]; {
		case c.Name == "":
			p.add(key+".name", "is required")
		case dup:
			p.add(key+".name", "%q is already used by statuspage.components[%d]", c.Name, first)
		default:
			seen[c.Name] = i
		}
		for j, svc := range c.Services {
			if svc == "" {
				p.add(fmt.Sprintf("%s.services[%d]", key, j), "must not be empty")
			}
		}
	}
	for i, pub := range s.Publish {
		key := fmt.Sprintf("statuspage.publish[%d]", i)
		p.checkURL(key+".url", pub.URL, true)
		p.secret(env, key+".secret_env", pub.SecretEnv, pub.Secret)
	}
}

// looksLikeOtherURL spots database URLs Firebreak cannot use: another
// scheme, or a mangled postgres one. SQLite "file:" URIs are paths.
func looksLikeOtherURL(raw string) bool {
	u := strings.ToLower(raw)
	if strings.HasPrefix(u, "file:") {
		return false
	}
	return strings.Contains(u, "://") || strings.HasPrefix(u, "postgres")
}

// secret checks a secret read from the environment, reporting it under
// its *_env key since that is what the person edits.
func (p *problems) secret(env secretEnv, key, envName, value string) {
	switch {
	case env.skip, value != "":
	case envName == "":
		p.add(key, "is required: name the environment variable that holds the secret")
	case env.set[envName]:
		p.add(key, "environment variable %s is set but empty", envName)
	default:
		p.add(key, "environment variable %s is not set", envName)
	}
}

// MinTokenLength is the shortest bootstrap token accepted.
const MinTokenLength = 16

func (p *problems) severity(key, sev string) {
	if !slices.Contains(validSeverities, sev) {
		p.add(key, "unknown severity %q (one of %s)", sev, strings.Join(validSeverities, ", "))
	}
}

func (p *problems) positive(key string, d Duration) {
	if d <= 0 {
		p.add(key, "must be a duration greater than zero, is %s", d)
	}
}

func (p *problems) positiveBytes(key string, n int64) {
	if n <= 0 {
		p.add(key, "must be a number of bytes greater than zero, is %d", n)
	}
}

// sortedKeys makes map-driven messages come out in a stable order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
