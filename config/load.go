package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environment variables that override the file, so that a container or a
// CI job can point Firebreak elsewhere without editing it.
const (
	// EnvListen overrides listen.
	EnvListen = "FIREBREAK_LISTEN"
	// EnvDatabaseURL overrides database.url and, from the URL's scheme,
	// database.driver.
	EnvDatabaseURL = "FIREBREAK_DATABASE_URL"
)

// Load reads the configuration at path ("" means no file: defaults only),
// applies the FIREBREAK_* overrides, reads every *_env secret through
// getenv (os.LookupEnv when nil; tests pass a map lookup, where "" means
// unset) and validates the result. Any problem stops the start: the error
// is an *Error listing every problem with the key, and the line when known.
func Load(path string, getenv func(string) string) (Config, error) {
	lookup := os.LookupEnv
	if getenv != nil {
		lookup = func(name string) (string, bool) {
			v := getenv(name)
			return v, v != ""
		}
	}
	return load(path, lookup, false)
}

// LoadEnv is Load with a lookup that tells an unset variable from an empty
// one (os.LookupEnv's shape), so the message can say which.
func LoadEnv(path string, lookup func(string) (string, bool)) (Config, error) {
	return load(path, lookup, false)
}

// LoadWithoutSecrets is Load for commands that use no secret (migrate,
// token, postmortem): every *_env key is read but none is required, so an
// operator can run them without exporting Slack or hook secrets.
func LoadWithoutSecrets(path string, lookup func(string) (string, bool)) (Config, error) {
	return load(path, lookup, true)
}

func load(path string, lookup func(string) (string, bool), skipSecrets bool) (Config, error) {
	getenv := func(name string) string {
		v, _ := lookup(name)
		return v
	}
	cfg := Default()
	// These defaults depend on other keys or must be replaced, not merged,
	// so they are filled in only after the file and overrides are known.
	cfg.PublicURL = ""
	cfg.Database.Driver = ""
	cfg.Alerts.SeverityMap = nil

	var lay *layout
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if problems := decode(data, &cfg); len(problems) > 0 {
			return Config{}, &Error{File: path, Problems: problems}
		}
		lay = newLayout(data)
	}

	overrides := applyOverrides(&cfg, getenv)
	if cfg.PublicURL == "" {
		cfg.PublicURL = publicURLFor(cfg.Listen)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Database.Driver == "" {
		cfg.Database.Driver = driverFor(cfg.Database.URL)
	}
	if cfg.Alerts.SeverityMap == nil {
		cfg.Alerts.SeverityMap = defaultSeverityMap()
	}
	cfg.env = secretEnv{set: map[string]bool{}, skip: skipSecrets}
	resolveSecrets(&cfg, func(name string) string {
		v, ok := lookup(name)
		if ok {
			cfg.env.set[name] = true
		}
		return v
	})

	if err := cfg.Validate(); err != nil {
		return Config{}, &Error{File: path, Problems: place(err, lay, overrides)}
	}
	return cfg, nil
}

// decode reads one YAML document into cfg strictly: unknown keys, values
// of the wrong type and bad durations are all reported, each naming its
// key and line. An empty file decodes to nothing and is fine.
func decode(data []byte, cfg *Config) []error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return translate(err, data)
	}
	// A second document would be silently ignored; say so instead.
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return translate(err, data)
	default:
		return []error{&FieldError{Line: extra.Line, Msg: "a second YAML document is not allowed; use one document"}}
	}
}

// UnmarshalYAML starts a rollback section from its defaults, so that only
// a section that is present gets them (a missing one means no rollback).
// The callback form keeps the decoder's strict unknown-key check.
func (r *Rollback) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Rollback // no methods: avoids recursing into this one
	p := plain(defaultRollback())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*r = Rollback(p)
	return nil
}

// UnmarshalYAML starts a webhook section from its defaults; see
// Rollback.UnmarshalYAML.
func (w *Webhook) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Webhook
	p := plain(defaultWebhook())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*w = Webhook(p)
	return nil
}

// UnmarshalYAML starts an incident_channels section from its defaults;
// see Rollback.UnmarshalYAML.
func (ic *IncidentChannels) UnmarshalYAML(unmarshal func(any) error) error {
	type plain IncidentChannels
	p := plain(defaultIncidentChannels())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*ic = IncidentChannels(p)
	return nil
}

// UnmarshalYAML starts a statuspage section from its defaults; see
// Rollback.UnmarshalYAML.
func (s *Statuspage) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Statuspage
	p := plain(defaultStatuspage())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*s = Statuspage(p)
	return nil
}

// UnmarshalYAML starts a statuspage component from its defaults; see
// Rollback.UnmarshalYAML.
func (c *Component) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Component
	p := plain(defaultComponent())
	if err := unmarshal(&p); err != nil {
		return err
	}
	*c = Component(p)
	return nil
}

// applyOverrides applies FIREBREAK_LISTEN and FIREBREAK_DATABASE_URL and
// returns which keys they replaced, so problems with those keys can point
// at the variable rather than at the file.
func applyOverrides(cfg *Config, getenv func(string) string) map[string]string {
	overrides := map[string]string{}
	if v := getenv(EnvListen); v != "" {
		cfg.Listen = v
		overrides["listen"] = EnvListen
	}
	if v := getenv(EnvDatabaseURL); v != "" {
		cfg.Database.URL = v
		cfg.Database.Driver = driverFor(v)
		overrides["database.url"] = EnvDatabaseURL
		overrides["database.driver"] = EnvDatabaseURL
	}
	return overrides
}

// driverFor picks the driver a database URL implies: PostgreSQL for its
// URL schemes, otherwise the URL is a SQLite file path.
func driverFor(url string) string {
	if isPostgresURL(url) {
		return DriverPostgres
	}
	return DriverSQLite
}

// isPostgresURL reports whether url uses one of the schemes libpq and pgx
// accept for PostgreSQL.
func isPostgresURL(url string) bool {
	u := strings.ToLower(url)
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// resolveSecrets reads every *_env variable into the field beside it. A
// variable that is unset or blank leaves the secret empty, which Validate
// reports under the *_env key.
func resolveSecrets(cfg *Config, getenv func(string) string) {
	read := func(name string) string {
		if name == "" {
			return ""
		}
		v := getenv(name)
		if strings.TrimSpace(v) == "" {
			return ""
		}
		return v
	}
	for i := range cfg.Tokens {
		cfg.Tokens[i].Token = read(cfg.Tokens[i].TokenEnv)
	}
	for _, svc := range cfg.Services {
		// Rollback and Webhook are pointers, so the map's copies share them.
		for _, a := range svc.Actions {
			if a != nil && a.Webhook != nil {
				a.Webhook.Secret = read(a.Webhook.SecretEnv)
			}
		}
		if svc.Rollback != nil && svc.Rollback.Webhook != nil {
			svc.Rollback.Webhook.Secret = read(svc.Rollback.Webhook.SecretEnv)
		}
	}
	if cfg.Slack != nil {
		cfg.Slack.BotToken = read(cfg.Slack.BotTokenEnv)
		cfg.Slack.SigningSecret = read(cfg.Slack.SigningSecretEnv)
	}
	if cfg.Statuspage != nil {
		for i := range cfg.Statuspage.Publish {
			p := &cfg.Statuspage.Publish[i]
			p.Secret = read(p.SecretEnv)
		}
	}
}
