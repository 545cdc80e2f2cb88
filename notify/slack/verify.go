package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Slack's request-signing headers and the window a request's timestamp must fall in.
const (
	HeaderSignature = "X-Slack-Signature"
	HeaderTimestamp = "X-Slack-Request-Timestamp"
	// SignatureWindow is how far a request's timestamp may be from now: older ones are
	// refused as possible replays.
	SignatureWindow = 5 * time.Minute
)

// Reasons a request is refused; each counts as ErrNotFromSlack.
var (
	ErrNotFromSlack = errors.New("not signed by Slack")
	errUnsigned     = fmt.Errorf("%w: the %s and %s headers are required", ErrNotFromSlack, HeaderSignature, HeaderTimestamp)
	errStale        = fmt.Errorf("%w: the request timestamp is more than %s away from now", ErrNotFromSlack, SignatureWindow)
	errSignature    = fmt.Errorf("%w: the signature does not match the body", ErrNotFromSlack)
)

// Verifier checks Slack's v0 request signatures: HMAC-SHA256 with the signing secret over
// "v0:" + timestamp + ":" + body, compared in constant time, with the timestamp within
// SignatureWindow of the clock. It is slack-go's SecretsVerifier with an injectable clock:
// that one reads the wall clock, which a test of Slack's documented example (signed in
// 2018) cannot move.
type Verifier struct {
	secret []byte
	clock  func() time.Time
}

// NewVerifier returns a Verifier for the signing secret; clock is time.Now when nil.
func NewVerifier(secret string, clock func() time.Time) *Verifier {
	if clock == nil {
		clock = time.Now
	}
	return &Verifier{secret: []byte(secret), clock: clock}
}

// VerifySlack returns nil for a request Slack signed, else an error wrapping ErrNotFromSlack
// that says what was wrong.
func (v *Verifier) VerifySlack(h http.Header, body []byte) error {
	sig, ts := h.Get(HeaderSignature), h.Get(HeaderTimestamp)
	if sig == "" || ts == "" {
		return errUnsigned
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: the request timestamp %q is not a number of seconds", ErrNotFromSlack, ts)
	}
	if d := v.clock().Sub(time.Unix(secs, 0)); d > SignatureWindow || d < -SignatureWindow {
		return errStale
	}
	hexSig, ok := strings.CutPrefix(sig, "v0=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: the signature is not v0=<64 hex digits>", ErrNotFromSlack)
	}
	if !hmac.Equal(got, Sign(v.secret, ts, body)) {
		return errSignature
	}
	return nil
}

// Sign computes the v0 signature of a request body sent at timestamp ts (seconds, as in the
// header). Tests and the benchmark sign their requests with it.
func Sign(secret []byte, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	return mac.Sum(nil)
}

// SignatureHeaders are the headers Slack would send with body at time at.
func SignatureHeaders(secret string, at time.Time, body []byte) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, "v0="+hex.EncodeToString(Sign([]byte(secret), ts, body)))
	return h
}
