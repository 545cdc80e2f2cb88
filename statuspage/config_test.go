package statuspage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadConfigFillsDefaults(t *testing.T) {
	env := map[string]string{DefaultPushSecretEnv: "k"}
	cfg, err := LoadConfig("", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := ServerConfig{Listen: DefaultListen, DataDir: DefaultDataDir, PushSecretEnv: DefaultPushSecretEnv, Title: DefaultTitle,
		PublicURL: "http://" + DefaultListen, PushSecret: []byte("k")}
	if cfg.Listen != want.Listen || cfg.DataDir != want.DataDir || cfg.Title != want.Title || cfg.PublicURL != want.PublicURL || string(cfg.PushSecret) != "k" {
		t.Errorf("defaults: %+v", cfg)
	}

	path := filepath.Join(t.TempDir(), "status.yaml")
	os.WriteFile(path, []byte("listen: 0.0.0.0:9000\ndata_dir: /var/lib/status\npush_secret_env: PUSH\ntitle: Acme\npublic_url: https://status.acme.test\n"), 0o600)
	cfg, err = LoadConfig(path, func(k string) string { return map[string]string{"PUSH": "s"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "0.0.0.0:9000" || cfg.DataDir != "/var/lib/status" || cfg.Title != "Acme" || cfg.PublicURL != "https://status.acme.test" || string(cfg.PushSecret) != "s" {
		t.Errorf("from the file: %+v", cfg)
	}
}

func TestLoadConfigRefusesWhatItCannotUse(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) string { return map[string]string{"PUSH": "s", "BLANK": "  "}[k] }
	for content, want := range map[string]string{
		"push_secret_env: PUSH\ntitel: Acme\n":                `line 2: unknown key "titel"`,
		"push_secret_env: PUSH\nlisten: [a]\n":                "line 2",
		"push_secret_env: PUSH\nlisten: nowhere\n":            `listen: "nowhere" is not host:port`,
		"push_secret_env: PUSH\npublic_url: ftp://x\n":        "public_url",
		"push_secret_env: MISSING\n":                          "push_secret_env: environment variable MISSING is not set or empty",
		"push_secret_env: BLANK\n":                            "push_secret_env",
		"push_secret_env: PUSH\n---\npush_secret_env: PUSH\n": "second YAML document",
	} {
		path := filepath.Join(dir, "status.yaml")
		os.WriteFile(path, []byte(content), 0o600)
		_, err := LoadConfig(path, env)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: %v, want an error naming the file and saying %q", content, err, want)
		}
	}
}
