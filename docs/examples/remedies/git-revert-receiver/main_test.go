package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gitIn runs git in dir with a fixed identity and returns its trimmed output.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=dev", "-c", "user.email=dev@example.com"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commitFile writes content to file in dir and commits it; it returns the commit id.
func commitFile(t *testing.T, dir, file, content, msg string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	gitIn(t, dir, "add", file)
	gitIn(t, dir, "commit", "-q", "-m", msg)
	return gitIn(t, dir, "rev-parse", "HEAD")
}

// send posts body to the receiver signed with secret, as Firebreak does.
func send(t *testing.T, url, secret, key, body string) (int, string) {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + body))
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Firebreak-Timestamp", ts)
	req.Header.Set("X-Firebreak-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func TestGitRevertReceiverRevertsTheDeploysCommitOnce(t *testing.T) {
	repo := t.TempDir()
	gitIn(t, repo, "init", "-q")
	commitFile(t, repo, "image.txt", "checkout:1.9.9\n", "deploy 1.9.9")
	bad := commitFile(t, repo, "image.txt", "checkout:2.0.0\n", "deploy 2.0.0")
	srv := httptest.NewServer(newReverter([]byte("s3cret"), repo, "Firebreak", "firebreak@localhost", false))
	defer srv.Close()
	body := `{"action":"rollback","service":"checkout","deploy":{"id":7,"commit":"` + bad + `"}}`

	// Forged or unsigned calls change nothing.
	if code, _ := send(t, srv.URL, "wrong", "rollback-42-7", body); code != http.StatusUnauthorized {
		t.Errorf("forged signature: %d, want 401", code)
	}
	if got := gitIn(t, repo, "rev-list", "--count", "HEAD"); got != "2" {
		t.Fatalf("after a forged call the repo has %s commits", got)
	}

	code, out := send(t, srv.URL, "s3cret", "rollback-42-7", body)
	if code != http.StatusOK {
		t.Fatalf("revert: %d %s", code, out)
	}
	content, _ := os.ReadFile(filepath.Join(repo, "image.txt"))
	if string(content) != "checkout:1.9.9\n" {
		t.Errorf("after the revert image.txt is %q", content)
	}
	if subject := gitIn(t, repo, "log", "-1", "--format=%s|%an"); subject != `Revert "deploy 2.0.0"|Firebreak` {
		t.Errorf("revert commit: %q", subject)
	}

	// Firebreak retries with the same key: acknowledged, not reverted twice.
	if code, _ := send(t, srv.URL, "s3cret", "rollback-42-7", body); code != http.StatusOK {
		t.Errorf("retry: %d", code)
	}
	if got := gitIn(t, repo, "rev-list", "--count", "HEAD"); got != "3" {
		t.Errorf("after a retry the repo has %s commits, want 3", got)
	}

	// What cannot work is refused with a 4xx, so Firebreak does not retry it.
	for _, c := range []struct{ body, why string }{
		{`{"action":"rollback","deploy":{"commit":null}}`, "no commit"},
		{`{"action":"rollback","deploy":{"commit":"--exec=touch pwned"}}`, "an option as commit"},
		{`{"action":"disable_flag","flag":"new-cart","deploy":{"commit":"` + bad + `"}}`, "another action"},
	} {
		if code, _ := send(t, srv.URL, "s3cret", "k-"+c.why, c.body); code != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", c.why, code)
		}
	}
	// A revert that conflicts is aborted, the checkout left clean, and a person told.
	commitFile(t, repo, "image.txt", "checkout:2.0.1\n", "deploy 2.0.1")
	if code, out := send(t, srv.URL, "s3cret", "rollback-43-7", body); code != http.StatusConflict || !strings.Contains(out, "git revert") {
		t.Errorf("conflicting revert: %d %s", code, out)
	}
	if status := gitIn(t, repo, "status", "--porcelain"); status != "" {
		t.Errorf("checkout left dirty: %s", status)
	}
}
