// Package remedies_test runs the remedy scripts of this folder as Firebreak runs a command
// hook (argv without a shell, FIREBREAK_* variables, only PATH, HOME, LANG and TZ
// inherited) against fake kubectl and argocd programs that record their argv.
package remedies_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeTool writes an executable named name into dir that appends its argv, one bracketed
// argument each, as one line to a log, and exits with code when its first argument is
// failOn. It returns the log's path.
func fakeTool(t *testing.T, dir, name, failOn string, code int) string {
	t.Helper()
	log := filepath.Join(dir, name+".log")
	script := "#!/bin/sh\n{ printf '" + name + "'; printf ' [%s]' \"$@\"; echo; } >> '" + log + "'\n"
	if failOn != "" {
		script += "if [ \"$1\" = '" + failOn + "' ]; then echo '" + name + ": refused' >&2; exit " + strconv.Itoa(code) + "; fi\n"
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return log
}

// runHook runs argv with the environment Firebreak gives a command hook, the fake tools'
// dir first on PATH, and returns the combined output and exit code.
func runHook(t *testing.T, bin string, argv ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"FIREBREAK_ACTION=rollback", "FIREBREAK_INCIDENT_ID=42", "FIREBREAK_SERVICE=checkout", "FIREBREAK_ENVIRONMENT=prod",
		"FIREBREAK_DEPLOY_ID=7", "FIREBREAK_ROLLBACK_FROM=2.0.0", "FIREBREAK_ROLLBACK_TO=1.9.9"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", argv, err)
	}
	return out.String(), 0
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

func TestArgoRolloutsAbortCallsKubectlWithTheRollout(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"checkout-canary", "shop"}, "kubectl [argo] [rollouts] [abort] [checkout-canary] [--namespace] [shop]\n"},
		{nil, "kubectl [argo] [rollouts] [abort] [checkout]\n"}, // the service names the Rollout
		{[]string{"name with space; rm -rf /"}, "kubectl [argo] [rollouts] [abort] [name with space; rm -rf /]\n"},
	} {
		bin := t.TempDir()
		log := fakeTool(t, bin, "kubectl", "", 0)
		out, code := runHook(t, bin, append([]string{"sh", "argo-rollouts-abort.sh"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", c.args, code, out)
		}
		if got := readLog(t, log); got != c.want {
			t.Errorf("%q: kubectl got %q, want %q", c.args, got, c.want)
		}
	}
	// kubectl's failure is the hook's failure, so Firebreak marks the remedy failed.
	bin := t.TempDir()
	fakeTool(t, bin, "kubectl", "argo", 3)
	if out, code := runHook(t, bin, "sh", "argo-rollouts-abort.sh", "checkout"); code != 3 || !strings.Contains(out, "kubectl: refused") {
		t.Errorf("kubectl failing: exit %d, output %q", code, out)
	}
}

func TestArgoCDRollbackTurnsAutoSyncOffFirst(t *testing.T) {
	bin := t.TempDir()
	log := fakeTool(t, bin, "argocd", "", 0)
	out, code := runHook(t, bin, "sh", "argocd-rollback.sh", "checkout-prod")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	want := "argocd [app] [set] [checkout-prod] [--sync-policy] [none]\nargocd [app] [rollback] [checkout-prod]\n"
	if got := readLog(t, log); got != want {
		t.Errorf("argocd calls:\n%s\nwant, in this order:\n%s", got, want)
	}

	// When auto-sync cannot be turned off, nothing is rolled back: Argo CD would sync the
	// bad revision straight back.
	bin = t.TempDir()
	log = fakeTool(t, bin, "argocd", "app", 1)
	out, code = runHook(t, bin, "sh", "argocd-rollback.sh")
	if code == 0 {
		t.Errorf("argocd app set failing: exit 0, output %q", out)
	}
	if got := readLog(t, log); got != "argocd [app] [set] [checkout] [--sync-policy] [none]\n" {
		t.Errorf("after a failed set, argocd calls: %q, want only the set", got)
	}
}
