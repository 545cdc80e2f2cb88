package statuspage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ServerConfig is status.yaml, status-server's own configuration. It shares nothing with
// firebreak.yaml: the status server runs on another host.
type ServerConfig struct {
	// Listen is the address to serve on. Default 127.0.0.1:8081.
	Listen string `yaml:"listen"`
	// DataDir holds the last accepted snapshot. Default status-data (relative to the
	// working folder).
	DataDir string `yaml:"data_dir"`
	// PushSecretEnv names the environment variable holding the key shared with the
	// platform (its statuspage.publish[].secret_env). Default STATUS_PUSH_SECRET.
	PushSecretEnv string `yaml:"push_secret_env"`
	// Title is the page's title until a snapshot brings one. Default "Status".
	Title string `yaml:"title"`
	// PublicURL is the page's address (Statuspage's page.url) until a snapshot brings
	// one. Default http:// + Listen.
	PublicURL string `yaml:"public_url"`

	// PushSecret is read from PushSecretEnv by LoadConfig.
	PushSecret []byte `yaml:"-"`
}

// Defaults of status.yaml.
const (
	DefaultListen        = "127.0.0.1:8081"
	DefaultDataDir       = "status-data"
	DefaultPushSecretEnv = "STATUS_PUSH_SECRET"
	DefaultTitle         = "Status"
)

// LoadConfig reads status.yaml strictly (an unknown key is an error naming it), fills the
// defaults and reads the push secret from the environment through getenv; an unset or
// empty variable stops the start, naming push_secret_env. An empty path means no file:
// defaults only.
func LoadConfig(path string, getenv func(string) string) (ServerConfig, error) {
	var cfg ServerConfig
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return ServerConfig{}, fmt.Errorf("config: %w", err)
		}
		if err := decodeConfig(data, &cfg); err != nil {
			return ServerConfig{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := cfg.complete(getenv); err != nil {
		if path != "" {
			return ServerConfig{}, fmt.Errorf("config %s: %w", path, err)
		}
		return ServerConfig{}, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// unknownField matches yaml's message for an unknown key, to say it for a person.
var unknownField = regexp.MustCompile(`line (\d+): field (\S+) not found in type \S+`)

func decodeConfig(data []byte, cfg *ServerConfig) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(cfg)
	if errors.Is(err, io.EOF) {
		return nil // an empty file: defaults
	}
	if err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = unknownField.ReplaceAllString(m, `line $1: unknown key "$2"`)
			}
			return errors.New(strings.Join(msgs, "; "))
		}
		return err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return errors.New("a second YAML document is not allowed; use one document")
	}
	return nil
}

// complete fills defaults, checks values and reads the secret.
func (c *ServerConfig) complete(getenv func(string) string) error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.PushSecretEnv == "" {
		c.PushSecretEnv = DefaultPushSecretEnv
	}
	if strings.TrimSpace(c.Title) == "" {
		c.Title = DefaultTitle
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen: %q is not host:port", c.Listen)
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Listen
	} else if err := checkPageURL(c.PublicURL); err != nil {
		return fmt.Errorf("public_url: %w", err)
	}
	secret := getenv(c.PushSecretEnv)
	if strings.TrimSpace(secret) == "" {
		return fmt.Errorf("push_secret_env: environment variable %s is not set or empty", c.PushSecretEnv)
	}
	c.PushSecret = []byte(secret)
	return nil
}
