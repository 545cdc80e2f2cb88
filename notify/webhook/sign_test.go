package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"firebreak/notify/webhook"
)

var (
	secret = []byte("checkout-rollback-secret")
	body   = []byte(`{"action":"rollback","service":"checkout","rollback_from":"v42","rollback_to":"v41"}`)
	signed = time.Unix(1_767_225_600, 0)
)

// The signature is "sha256=" + hex HMAC-SHA256 of timestamp + "." + body, as PRODUCT.md
// tells receivers; computed here independently of the package.
func TestSignatureIsHMACOfTimestampDotBody(t *testing.T) {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("1767225600." + string(body)))
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if got := webhook.Sign(secret, signed, body); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if got := webhook.Sign(secret, signed.Add(900*time.Millisecond), body); got != want {
		t.Errorf("Sign within the same second = %s, want %s (the timestamp is Unix seconds)", got, want)
	}
	if webhook.Sign([]byte("other"), signed, body) == want {
		t.Error("the signature does not depend on the secret")
	}
	if webhook.Sign(secret, signed.Add(time.Second), body) == want {
		t.Error("the signature does not depend on the timestamp")
	}
}

func TestVerify(t *testing.T) {
	ts := strconv.FormatInt(signed.Unix(), 10)
	sig := webhook.Sign(secret, signed, body)
	at := func(offset time.Duration) time.Time { return signed.Add(offset) }
	// signedAt signs body at now+offset, for the freshness cases, so only the time is wrong.
	signedAt := func(offset time.Duration) (string, string) {
		s := signed.Add(offset)
		return strconv.FormatInt(s.Unix(), 10), webhook.Sign(secret, s, body)
	}
	oldTS, oldSig := signedAt(-6 * time.Minute)
	newTS, newSig := signedAt(6 * time.Minute)
	edgeTS, edgeSig := signedAt(-5 * time.Minute)
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-3] = '0' // "v41" becomes "v40"

	cases := []struct {
		name      string
		secret    []byte
		ts, sig   string
		body      []byte
		now       time.Time
		want      error
		wantValid bool
	}{
		{name: "round trip", secret: secret, ts: ts, sig: sig, body: body, now: at(2 * time.Second), wantValid: true},
		{name: "exactly at the tolerance", secret: secret, ts: edgeTS, sig: edgeSig, body: body, now: signed, wantValid: true},
		{name: "received slightly before the sender's clock", secret: secret, ts: ts, sig: sig, body: body, now: at(-time.Minute), wantValid: true},
		{name: "tampered body", secret: secret, ts: ts, sig: sig, body: tampered, now: signed, want: webhook.ErrBadSignature},
		{name: "wrong secret", secret: []byte("guess"), ts: ts, sig: sig, body: body, now: signed, want: webhook.ErrBadSignature},
		{name: "timestamp swapped under a valid signature", secret: secret, ts: strconv.FormatInt(signed.Unix()+60, 10), sig: sig, body: body, now: signed, want: webhook.ErrBadSignature},
		{name: "truncated signature", secret: secret, ts: ts, sig: sig[:len(sig)-2], body: body, now: signed, want: webhook.ErrBadSignature},
		{name: "empty signature value", secret: secret, ts: ts, sig: "sha256=", body: body, now: signed, want: webhook.ErrBadSignature},
		{name: "6 minutes old", secret: secret, ts: oldTS, sig: oldSig, body: body, now: signed, want: webhook.ErrStale},
		{name: "6 minutes ahead", secret: secret, ts: newTS, sig: newSig, body: body, now: signed, want: webhook.ErrStale},
		{name: "replayed 6 minutes later", secret: secret, ts: ts, sig: sig, body: body, now: at(6 * time.Minute), want: webhook.ErrStale},
		{name: "missing sha256= prefix", secret: secret, ts: ts, sig: sig[len("sha256="):], body: body, now: signed, want: webhook.ErrMalformed},
		{name: "other algorithm", secret: secret, ts: ts, sig: "sha1=" + sig[len("sha256="):], body: body, now: signed, want: webhook.ErrMalformed},
		{name: "not hex", secret: secret, ts: ts, sig: "sha256=zz" + sig[len("sha256=")+2:], body: body, now: signed, want: webhook.ErrMalformed},
		{name: "timestamp not a number", secret: secret, ts: "2026-01-01T00:00:00Z", sig: sig, body: body, now: signed, want: webhook.ErrMalformed},
		{name: "timestamp missing", secret: secret, ts: "", sig: sig, body: body, now: signed, want: webhook.ErrMalformed},
		{name: "signature missing", secret: secret, ts: ts, sig: "", body: body, now: signed, want: webhook.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := webhook.Verify(c.secret, c.ts, c.sig, c.body, c.now, webhook.DefaultTolerance)
			if c.wantValid {
				if err != nil {
					t.Fatalf("Verify = %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
			for _, other := range []error{webhook.ErrBadSignature, webhook.ErrStale, webhook.ErrMalformed} {
				if other != c.want && errors.Is(err, other) {
					t.Errorf("Verify = %v, which is also %v", err, other)
				}
			}
		})
	}
}

// The tolerance is the caller's: a tighter window refuses what the default accepts.
func TestVerifyHonoursTolerance(t *testing.T) {
	ts := strconv.FormatInt(signed.Unix(), 10)
	sig := webhook.Sign(secret, signed, body)
	now := signed.Add(90 * time.Second)
	if err := webhook.Verify(secret, ts, sig, body, now, webhook.DefaultTolerance); err != nil {
		t.Fatalf("default tolerance: %v", err)
	}
	if err := webhook.Verify(secret, ts, sig, body, now, time.Minute); !errors.Is(err, webhook.ErrStale) {
		t.Fatalf("one-minute tolerance: %v, want ErrStale", err)
	}
}
