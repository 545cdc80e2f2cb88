// Package webhook sends signed outbound HTTP requests (rollback hooks, status pushes) and
// verifies such signatures on the receiving side.
//
// The scheme: X-Firebreak-Timestamp carries Unix seconds, X-Firebreak-Signature carries
// "sha256=" + hex HMAC-SHA256 of timestamp + "." + body, keyed by the shared secret. Signing
// the timestamp with the body lets a receiver refuse replays outside a short window.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of the signature scheme.
const (
	HeaderTimestamp = "X-Firebreak-Timestamp"
	HeaderSignature = "X-Firebreak-Signature"
)

// DefaultTolerance is how far a signed timestamp may be from the receiver's clock.
const DefaultTolerance = 5 * time.Minute

// Verification errors.
var (
	ErrBadSignature = errors.New("signature does not match")
	ErrStale        = errors.New("timestamp outside the allowed window")
	ErrMalformed    = errors.New("signature headers are missing or malformed")
)

// Sign returns the X-Firebreak-Signature value for body sent at ts.
func Sign(secret []byte, ts time.Time, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(ts.Unix(), 10), body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks the two headers against body: the timestamp must be within tolerance of now
// and the signature must match, compared in constant time.
func Verify(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	secs, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not Unix seconds", ErrMalformed, HeaderTimestamp, timestamp)
	}
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(signature), "sha256=")
	if !ok {
		return fmt.Errorf("%w: %s must start with sha256=", ErrMalformed, HeaderSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrMalformed, HeaderSignature)
	}
	if !hmac.Equal(got, mac(secret, timestamp, body)) {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(secs, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed %s ago", ErrStale, d.Round(time.Second))
	}
	return nil
}
