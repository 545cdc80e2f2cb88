package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// runDeploy handles `firebreak deploy record ...`, the step a CI pipeline runs after a
// deploy. It talks to the API (FIREBREAK_URL, FIREBREAK_TOKEN with deploys:write), so it
// works from any runner that can reach Firebreak.
func runDeploy(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "record" {
		return errors.New("usage: firebreak deploy record --service S --env E --version V [--previous V0] [--commit SHA] [--url U] [--author A]")
	}
	fs := flag.NewFlagSet("deploy record", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	body := map[string]string{}
	for _, f := range []struct{ flag, field, help string }{
		{"service", "service", "service deployed (required)"},
		{"env", "environment", "environment deployed to"},
		{"version", "version", "version deployed (required)"},
		{"previous", "previous_version", "version it replaced, the rollback target"},
		{"commit", "commit", "commit SHA"},
		{"url", "url", "link to the pipeline or release"},
		{"author", "author", "who deployed"},
		{"description", "description", "free text"},
		{"started-at", "started_at", "RFC 3339 start time"},
		{"finished-at", "finished_at", "RFC 3339 finish time (default: now)"},
	} {
		fs.Func(f.flag, f.help, func(v string) error { body[f.field] = v; return nil })
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if body["service"] == "" || body["version"] == "" {
		return errors.New("--service and --version are required")
	}
	base, token := strings.TrimRight(os.Getenv("FIREBREAK_URL"), "/"), os.Getenv("FIREBREAK_TOKEN")
	if base == "" || token == "" {
		return errors.New("set FIREBREAK_URL and FIREBREAK_TOKEN (a token with the deploys:write scope)")
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/deploys", bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("FIREBREAK_URL %q: %w", base, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach Firebreak: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(answer, &e) == nil && e.Error != "" {
			return fmt.Errorf("HTTP %d: %s", resp.StatusCode, e.Error)
		}
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var d struct {
		ID      int64  `json:"id"`
		Service string `json:"service"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(answer, &d); err != nil {
		return fmt.Errorf("unexpected answer: %w", err)
	}
	fmt.Fprintf(stdout, "recorded deploy %d: %s %s\n", d.ID, d.Service, d.Version)
	return nil
}
