// Command git-revert-receiver is an example of a Firebreak remedy webhook that rolls back by
// reverting the deploy's commit in a Git checkout, for teams whose deploys follow Git
// (GitOps): Firebreak calls it, it verifies the signature with the standard library only,
// and runs `git revert --no-edit <commit>` once per Idempotency-Key. Push the result (or let
// your GitOps tool pick it up) as your pipeline needs; -push does `git push` for you.
//
//	REVERT_SECRET=... go run ./docs/examples/remedies/git-revert-receiver -repo /srv/deploy-repo
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tolerance is how far the signed timestamp may be from this clock; older calls are
// refused so a captured request cannot be replayed later.
const tolerance = 5 * time.Minute

// verify checks X-Firebreak-Signature: "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." +
// body)), as docs/examples/rollback-receiver does (copied so this file stands alone).
func verify(secret []byte, timestamp, signature string, body []byte, now time.Time) error {
	secs, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("X-Firebreak-Timestamp is not Unix seconds")
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return errors.New("stale timestamp")
	}
	got, err := hex.DecodeString(strings.TrimPrefix(signature, "sha256="))
	if err != nil || !strings.HasPrefix(signature, "sha256=") {
		return errors.New("malformed X-Firebreak-Signature")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp + "."))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) { // constant time
		return errors.New("bad signature")
	}
	return nil
}

// revertRequest is the part of Firebreak's remedy body this receiver needs.
type revertRequest struct {
	Action string `json:"action"`
	Deploy struct {
		Commit *string `json:"commit"`
	} `json:"deploy"`
}

// commitID is what this receiver accepts as a commit: hex only, so nothing in the body can
// reach git as an option ("--exec=...").
var commitID = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// reverter reverts commits in one checkout, once per Idempotency-Key; one at a time, since
// Git allows one operation on a work tree.
type reverter struct {
	secret []byte
	repo   string
	// identity is the author of the revert commits ("-c user.name=... -c user.email=...").
	identity []string
	push     bool
	mu       sync.Mutex
	done     map[string]bool
}

func (rv *reverter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if err := verify(rv.secret, r.Header.Get("X-Firebreak-Timestamp"), r.Header.Get("X-Firebreak-Signature"), body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var req revertRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	// A 4xx tells Firebreak not to retry: these will not get better by themselves.
	if req.Action != "rollback" {
		http.Error(w, fmt.Sprintf("this receiver only rolls back, not %q", req.Action), http.StatusUnprocessableEntity)
		return
	}
	if req.Deploy.Commit == nil || !commitID.MatchString(*req.Deploy.Commit) {
		http.Error(w, "the deploy has no commit to revert (record it with --commit)", http.StatusUnprocessableEntity)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.done[key] {
		w.WriteHeader(http.StatusOK) // reverted already: say so again, do nothing
		return
	}
	out, err := rv.revert(*req.Deploy.Commit)
	if err != nil {
		// A conflict needs a person; 409 ends Firebreak's retries and shows this output.
		http.Error(w, fmt.Sprintf("%v: %s", err, out), http.StatusConflict)
		return
	}
	rv.done[key] = true
	fmt.Fprint(w, out)
}

// revert runs git revert, and git push when asked; a failed revert is aborted so the
// checkout is clean for the next call.
func (rv *reverter) revert(commit string) (string, error) {
	out, err := rv.git("revert", "--no-edit", commit)
	if err != nil {
		rv.git("revert", "--abort") //nolint:errcheck // best effort: there may be nothing to abort
		return out, fmt.Errorf("git revert %s failed", commit)
	}
	if rv.push {
		pushed, err := rv.git("push")
		if err != nil {
			return out + pushed, errors.New("git push failed")
		}
		out += pushed
	}
	return out, nil
}

// git runs git with args in the checkout, with this receiver's identity.
func (rv *reverter) git(args ...string) (string, error) {
	cmd := exec.Command("git", append(append([]string{"-C", rv.repo}, rv.identity...), args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func newReverter(secret []byte, repo, name, email string, push bool) *reverter {
	return &reverter{secret: secret, repo: repo, identity: []string{"-c", "user.name=" + name, "-c", "user.email=" + email},
		push: push, done: map[string]bool{}}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9001", "address to listen on")
	repo := flag.String("repo", "", "the Git checkout the deploys come from")
	name := flag.String("name", "Firebreak", "author name of the revert commits")
	email := flag.String("email", "firebreak@localhost", "author email of the revert commits")
	push := flag.Bool("push", false, "git push after each revert")
	flag.Parse()
	secret := os.Getenv("REVERT_SECRET")
	if secret == "" || *repo == "" {
		log.Fatal("set REVERT_SECRET to the secret Firebreak signs with and -repo to the checkout")
	}
	log.Fatal(http.ListenAndServe(*listen, newReverter([]byte(secret), *repo, *name, *email, *push)))
}
