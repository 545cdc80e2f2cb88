package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// runCLI runs the firebreak binary in dir with env on top of a FIREBREAK_*-free
// environment, and returns its stdout, stderr and exit code.
func runCLI(t *testing.T, dir string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FIREBREAK_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run firebreak %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// oneLine fails the test unless s is a single non-empty line containing every want.
func oneLine(t *testing.T, what, s string, want ...string) {
	t.Helper()
	s = strings.TrimSpace(s)
	if s == "" || strings.Contains(s, "\n") {
		t.Errorf("%s: want one line on stderr, got %q", what, s)
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s: stderr %q does not mention %q", what, s, w)
		}
	}
}

func TestDeployRecordFromACIPipeline(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, dir)
	if p.token == "" {
		t.Fatalf("serve wrote no admin token: %s", p.out.String())
	}

	// The platform team makes the pipeline a token while Firebreak runs.
	dbEnv := "FIREBREAK_DATABASE_URL=" + filepath.Join(dir, "data", "firebreak.db")
	out, errOut, code := runCLI(t, dir, []string{dbEnv}, "token", "create", "--name", "ci", "--scopes", "deploys:write")
	ci := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(ci, "fb_") || strings.Contains(ci, "\n") {
		t.Fatalf("token create: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	pipeline := []string{"FIREBREAK_URL=" + p.base, "FIREBREAK_TOKEN=" + ci}
	finished := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	started := finished.Add(-3 * time.Minute)
	out, errOut, code = runCLI(t, dir, pipeline, "deploy", "record", "--service", "checkout", "--env", "prod",
		"--version", "1.4.2", "--previous", "1.4.1", "--commit", "abc", "--author", "alice", "--url", "https://ci.example.com/runs/42",
		"--description", "faster cart", "--started-at", started.Format(time.RFC3339), "--finished-at", finished.Format(time.RFC3339))
	if code != 0 || !strings.Contains(out, "recorded deploy") {
		t.Fatalf("deploy record: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	m := regexp.MustCompile(`recorded deploy (\d+): checkout 1\.4\.2`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("deploy record printed %q, want the id, service and version", out)
	}

	status, list := p.call("GET", "/api/v1/deploys?service=checkout&env=prod", p.token, "")
	deploys, _ := list["deploys"].([]any)
	if status != 200 || len(deploys) != 1 {
		t.Fatalf("list: %d %v", status, list)
	}
	got := deploys[0].(map[string]any)
	want := map[string]any{"service": "checkout", "environment": "prod", "version": "1.4.2", "previous_version": "1.4.1",
		"commit": "abc", "author": "alice", "url": "https://ci.example.com/runs/42", "description": "faster cart",
		"started_at": started.Format(time.RFC3339), "finished_at": finished.Format(time.RFC3339)}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if id, _ := got["id"].(float64); m[1] != strconv.FormatInt(int64(id), 10) {
		t.Errorf("printed id %s, listed id %v", m[1], got["id"])
	}
	if len(got) != 17 {
		t.Errorf("deploy object has %d fields, want 17: %v", len(got), got)
	}

	// Without --previous: optional, recorded as null, finished now.
	out, errOut, code = runCLI(t, dir, pipeline, "deploy", "record", "--service", "search", "--env", "prod", "--version", "7")
	if code != 0 {
		t.Fatalf("minimal deploy record: exit %d, %q %q", code, out, errOut)
	}

	// Mistakes end in a non-zero exit and one line that says what is wrong; nothing is stored.
	_, errOut, code = runCLI(t, dir, pipeline, "deploy", "record", "--service", "checkout", "--env", "prod")
	if code == 0 {
		t.Error("missing --version: exit 0")
	}
	oneLine(t, "missing --version", errOut, "--version")

	_, errOut, code = runCLI(t, dir, []string{"FIREBREAK_URL=" + p.base, "FIREBREAK_TOKEN=fb_not_a_real_token"},
		"deploy", "record", "--service", "checkout", "--env", "prod", "--version", "1.4.3")
	if code == 0 {
		t.Error("bad token: exit 0")
	}
	oneLine(t, "bad token", errOut, "401")

	_, errOut, code = runCLI(t, dir, []string{"FIREBREAK_TOKEN=" + ci}, "deploy", "record", "--service", "checkout", "--env", "prod", "--version", "1.4.3")
	if code == 0 {
		t.Error("FIREBREAK_URL unset: exit 0")
	}
	oneLine(t, "FIREBREAK_URL unset", errOut, "FIREBREAK_URL", "FIREBREAK_TOKEN")

	_, errOut, code = runCLI(t, dir, pipeline, "deploy", "record", "--service", "checkout", "--env", "prod", "--version", "1.4.3",
		"--finished-at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	if code == 0 {
		t.Error("finished in the future: exit 0")
	}
	oneLine(t, "finished in the future", errOut, "400", "future")

	_, errOut, code = runCLI(t, dir, []string{"FIREBREAK_URL=http://" + freeAddr(t), "FIREBREAK_TOKEN=" + ci},
		"deploy", "record", "--service", "checkout", "--env", "prod", "--version", "1.4.3")
	if code == 0 {
		t.Error("Firebreak unreachable: exit 0")
	}
	oneLine(t, "Firebreak unreachable", errOut, "cannot reach")

	status, list = p.call("GET", "/api/v1/deploys", p.token, "")
	if all, _ := list["deploys"].([]any); status != 200 || len(all) != 2 {
		t.Fatalf("after the mistakes: %d deploys, want 2: %v", len(all), list)
	}
	p.stop()
}

// TestDeployRecordRefusesAMissingServiceEnvOrVersion: each of the three, missing or blank,
// is refused with one line naming it, exit 2, before any request reaches the API.
func TestDeployRecordRefusesAMissingServiceEnvOrVersion(t *testing.T) {
	var requests atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	defer api.Close()
	env := []string{"FIREBREAK_URL=" + api.URL, "FIREBREAK_TOKEN=fb_some_token"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--env", "prod", "--version", "1.4.2"}, "--service is required"},
		{[]string{"--service", "checkout", "--version", "1.4.2"}, "--env is required"},
		{[]string{"--service", "checkout", "--env", " ", "--version", "1.4.2"}, "--env is required"},
		{[]string{"--service", "checkout", "--env", "prod"}, "--version is required"},
		{[]string{"--env", "prod"}, "--service and --version are required"},
		{nil, "--service, --env and --version are required"},
	} {
		out, errOut, code := runCLI(t, t.TempDir(), env, append([]string{"deploy", "record"}, c.args...)...)
		if code != 2 || out != "" {
			t.Errorf("deploy record %q: exit %d, stdout %q; want 2 and nothing", c.args, code, out)
		}
		oneLine(t, strings.Join(c.args, " "), errOut, c.want)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests reached the API", n)
	}
	// Flags after nothing positional, in any order, still work.
	if out, errOut, code := runCLI(t, t.TempDir(), env, "deploy", "record", "--version", "1", "--env", "prod", "--service", "s"); code == 2 {
		t.Errorf("complete deploy record refused: %q %q", out, errOut)
	}
}

// TestDeployRecordSendsTheRolloutFields: a pipeline that starts a canary records its
// strategy, stage, weight, state, reversibility and flags in one command, and the API
// stores exactly them; without these flags a deploy is a promoted, reversible rolling one.
func TestDeployRecordSendsTheRolloutFields(t *testing.T) {
	dir := t.TempDir()
	p := startServe(t, dir)
	dbEnv := "FIREBREAK_DATABASE_URL=" + filepath.Join(dir, "data", "firebreak.db")
	out, errOut, code := runCLI(t, dir, []string{dbEnv}, "token", "create", "--name", "ci", "--scopes", "deploys:write")
	if code != 0 {
		t.Fatalf("token create: exit %d, %q %q", code, out, errOut)
	}
	pipeline := []string{"FIREBREAK_URL=" + p.base, "FIREBREAK_TOKEN=" + strings.TrimSpace(out)}

	out, errOut, code = runCLI(t, dir, pipeline, "deploy", "record", "--service", "checkout", "--env", "prod", "--version", "2.0.0",
		"--strategy", "canary", "--stage", "canary 10%", "--weight", "10", "--state", "in_progress", "--reversible=false",
		"--flag", "new-cart", "--flag", "fast-pay, dark-mode", "--flag", "new-cart")
	if code != 0 || !strings.Contains(out, "recorded deploy") {
		t.Fatalf("deploy record: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, dir, pipeline, "deploy", "record", "--service", "search", "--env", "prod", "--version", "7")
	if code != 0 {
		t.Fatalf("plain deploy record: exit %d, %q %q", code, out, errOut)
	}

	byService := map[string]map[string]any{}
	status, list := p.call("GET", "/api/v1/deploys", p.token, "")
	deploys, _ := list["deploys"].([]any)
	if status != 200 || len(deploys) != 2 {
		t.Fatalf("list: %d %v", status, list)
	}
	for _, d := range deploys {
		m := d.(map[string]any)
		byService[m["service"].(string)] = m
	}
	canary := byService["checkout"]
	for k, v := range map[string]any{"strategy": "canary", "stage": "canary 10%", "weight": float64(10),
		"state": "in_progress", "reversible": false, "finished_at": nil} {
		if canary[k] != v {
			t.Errorf("canary %s = %v, want %v", k, canary[k], v)
		}
	}
	if flags := fmt.Sprint(canary["flags"]); flags != "[new-cart fast-pay dark-mode]" {
		t.Errorf("canary flags = %s, want [new-cart fast-pay dark-mode]", flags)
	}
	plain := byService["search"]
	for k, v := range map[string]any{"strategy": "rolling", "stage": nil, "weight": nil, "state": "promoted", "reversible": true} {
		if plain[k] != v {
			t.Errorf("plain deploy %s = %v, want %v", k, plain[k], v)
		}
	}
	if flags := fmt.Sprint(plain["flags"]); flags != "[]" {
		t.Errorf("plain deploy flags = %s, want []", flags)
	}

	// A weight that is not a number is a command-line mistake; a strategy the API does not
	// know is its 400, passed on in one line. Neither is stored.
	_, errOut, code = runCLI(t, dir, pipeline, "deploy", "record", "--service", "checkout", "--env", "prod", "--version", "2.0.1", "--weight", "ten")
	if code != 2 {
		t.Errorf("--weight ten: exit %d, want 2", code)
	}
	oneLine(t, "--weight ten", errOut, "--weight")
	_, errOut, code = runCLI(t, dir, pipeline, "deploy", "record", "--service", "checkout", "--env", "prod", "--version", "2.0.1", "--strategy", "yolo")
	if code == 0 {
		t.Error("--strategy yolo: exit 0")
	}
	oneLine(t, "--strategy yolo", errOut, "400", "strategy")
	if _, list = p.call("GET", "/api/v1/deploys", p.token, ""); len(list["deploys"].([]any)) != 2 {
		t.Errorf("after the mistakes: %v, want 2 deploys", list)
	}
	p.stop()
}
