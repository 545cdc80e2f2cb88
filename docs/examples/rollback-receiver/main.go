// Command rollback-receiver is a self-contained example of the receiving side of a
// Firebreak rollback webhook: it verifies the signature with the standard library only,
// refuses stale or forged calls, and acts once per Idempotency-Key.
//
//	ROLLBACK_SECRET=... go run ./docs/examples/rollback-receiver -listen 127.0.0.1:9000
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tolerance is how far the signed timestamp may be from this clock; older calls are
// refused so a captured request cannot be replayed later.
const tolerance = 5 * time.Minute

// verify checks X-Firebreak-Signature: "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." +
// body)). The secret is used as its raw bytes, exactly as set in the environment variable.
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

// rollbackRequest is the part of the body this receiver needs.
type rollbackRequest struct {
	Action       string  `json:"action"`
	Service      string  `json:"service"`
	Environment  string  `json:"environment"`
	RollbackFrom string  `json:"rollback_from"`
	RollbackTo   *string `json:"rollback_to"`
}

// receiver acts on verified calls, once per Idempotency-Key (Firebreak retries a webhook
// after a failure with the same key).
type receiver struct {
	secret []byte
	mu     sync.Mutex
	done   map[string]bool
	act    func(rollbackRequest) error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if err := verify(rc.secret, r.Header.Get("X-Firebreak-Timestamp"), r.Header.Get("X-Firebreak-Signature"), body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var req rollbackRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.done[key] {
		w.WriteHeader(http.StatusOK) // already done: say so again, do nothing
		return
	}
	if err := rc.act(req); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable) // 5xx: Firebreak retries
		return
	}
	rc.done[key] = true
	w.WriteHeader(http.StatusOK)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	secret := os.Getenv("ROLLBACK_SECRET")
	if secret == "" {
		log.Fatal("set ROLLBACK_SECRET to the secret Firebreak signs with")
	}
	rc := &receiver{secret: []byte(secret), done: map[string]bool{}, act: func(req rollbackRequest) error {
		to := "the previous version"
		if req.RollbackTo != nil {
			to = *req.RollbackTo
		}
		log.Printf("%s %s/%s from %s to %s", req.Action, req.Service, req.Environment, req.RollbackFrom, to)
		return nil // call your deployer here
	}}
	log.Fatal(http.ListenAndServe(*listen, rc))
}
