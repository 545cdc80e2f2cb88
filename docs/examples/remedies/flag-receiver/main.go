// Command flag-receiver is an example of Firebreak's disable_flag remedy as a webhook: it
// verifies the signature with the standard library only, then turns off the flag named in
// the body through a feature-flag service's HTTP API:
//
//	PATCH $FLAGS_API/flags/{flag}  {"enabled": false}   Authorization: Bearer $FLAGS_API_TOKEN
//
// Adapt call to your flag service (Unleash, Flagsmith, LaunchDarkly, your own); the rest
// stays. Turning a flag off is idempotent, so Firebreak's retries need no bookkeeping here.
//
//	FLAGS_SECRET=... FLAGS_API=http://flags.internal FLAGS_API_TOKEN=... go run ./docs/examples/remedies/flag-receiver
package main

import (
	"bytes"
	"context"
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
	"net/url"
	"os"
	"strconv"
	"strings"
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

// flagRequest is the part of Firebreak's remedy body this receiver needs.
type flagRequest struct {
	Action  string `json:"action"`
	Service string `json:"service"`
	Flag    string `json:"flag"`
}

// flagOff turns flags off through the flag service at api.
type flagOff struct {
	secret []byte
	api    string
	token  string
	client *http.Client
}

func (fo *flagOff) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if err := verify(fo.secret, r.Header.Get("X-Firebreak-Timestamp"), r.Header.Get("X-Firebreak-Signature"), body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var req flagRequest
	if err := json.Unmarshal(body, &req); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	if req.Action != "disable_flag" || req.Flag == "" {
		http.Error(w, fmt.Sprintf("this receiver only disables flags, not %q", req.Action), http.StatusUnprocessableEntity)
		return
	}
	status, err := fo.call(r.Context(), req.Flag)
	if err != nil {
		// The flag service's 5xx or an unreachable service is worth Firebreak's retry (502);
		// its 4xx (no such flag, bad token) is not (422).
		code := http.StatusBadGateway
		if status >= 400 && status < 500 {
			code = http.StatusUnprocessableEntity
		}
		http.Error(w, err.Error(), code)
		return
	}
	fmt.Fprintf(w, "flag %s is off\n", req.Flag)
}

// call asks the flag service to turn flag off and returns its status.
func (fo *flagOff) call(ctx context.Context, name string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, fo.api+"/flags/"+url.PathEscape(name), bytes.NewReader([]byte(`{"enabled":false}`)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fo.token)
	resp, err := fo.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("flag service: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return resp.StatusCode, fmt.Errorf("flag service: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return resp.StatusCode, nil
}

func newFlagOff(secret []byte, api, token string) *flagOff {
	return &flagOff{secret: secret, api: strings.TrimRight(api, "/"), token: token, client: &http.Client{Timeout: 10 * time.Second}}
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9002", "address to listen on")
	flag.Parse()
	secret, api := os.Getenv("FLAGS_SECRET"), os.Getenv("FLAGS_API")
	if secret == "" || api == "" {
		log.Fatal("set FLAGS_SECRET to the secret Firebreak signs with and FLAGS_API to the flag service")
	}
	log.Fatal(http.ListenAndServe(*listen, newFlagOff([]byte(secret), api, os.Getenv("FLAGS_API_TOKEN"))))
}
