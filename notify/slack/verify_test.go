package slack_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"firebreak/internal/testkit"
	slack "firebreak/notify/slack"
)

// Slack's documented example ("Verifying requests from Slack").
const (
	docSecret    = "8f742231b10e8888abcd99yyyzzz85a5"
	docTimestamp = 1531420618
	docBody      = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	docSignature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func docHeaders() http.Header {
	h := http.Header{}
	h.Set(slack.HeaderTimestamp, "1531420618")
	h.Set(slack.HeaderSignature, docSignature)
	return h
}

// Slack's own example request verifies against a clock set to its timestamp, and is refused
// once it is older than five minutes, or when one byte of its body or its signature changes.
func TestSlacksDocumentedExampleVerifies(t *testing.T) {
	clock := testkit.NewClock(time.Unix(docTimestamp, 0))
	v := slack.NewVerifier(docSecret, clock.Now)
	if err := v.VerifySlack(docHeaders(), []byte(docBody)); err != nil {
		t.Fatalf("Slack's example: %v", err)
	}
	clock.Advance(slack.SignatureWindow)
	if err := v.VerifySlack(docHeaders(), []byte(docBody)); err != nil {
		t.Errorf("exactly five minutes later: %v", err)
	}
	clock.Advance(time.Second)
	if err := v.VerifySlack(docHeaders(), []byte(docBody)); !errors.Is(err, slack.ErrNotFromSlack) {
		t.Errorf("five minutes and a second later: %v, want refused as stale", err)
	}
	clock.Set(time.Unix(docTimestamp, 0).Add(-slack.SignatureWindow - time.Second))
	if err := v.VerifySlack(docHeaders(), []byte(docBody)); !errors.Is(err, slack.ErrNotFromSlack) {
		t.Errorf("from the future: %v, want refused", err)
	}
	clock.Set(time.Unix(docTimestamp, 0))
	forged := []byte(docBody)
	forged[len("token=x")] = 'Y'
	if err := v.VerifySlack(docHeaders(), forged); !errors.Is(err, slack.ErrNotFromSlack) {
		t.Errorf("a changed body: %v, want refused", err)
	}
	h := docHeaders()
	h.Set(slack.HeaderSignature, docSignature[:len(docSignature)-1]+"0")
	if err := v.VerifySlack(h, []byte(docBody)); !errors.Is(err, slack.ErrNotFromSlack) {
		t.Errorf("a changed signature: %v, want refused", err)
	}
	if err := slack.NewVerifier("another-secret", clock.Now).VerifySlack(docHeaders(), []byte(docBody)); !errors.Is(err, slack.ErrNotFromSlack) {
		t.Errorf("another secret: %v, want refused", err)
	}
	for name, h := range map[string]http.Header{
		"no headers":        {},
		"no signature":      {slack.HeaderTimestamp: {"1531420618"}},
		"no timestamp":      {slack.HeaderSignature: {docSignature}},
		"timestamp not num": {slack.HeaderTimestamp: {"soon"}, slack.HeaderSignature: {docSignature}},
		"not v0":            {slack.HeaderTimestamp: {"1531420618"}, slack.HeaderSignature: {"v1=" + docSignature[3:]}},
		"not hex":           {slack.HeaderTimestamp: {"1531420618"}, slack.HeaderSignature: {"v0=zz"}},
	} {
		if err := v.VerifySlack(h, []byte(docBody)); !errors.Is(err, slack.ErrNotFromSlack) {
			t.Errorf("%s: %v, want refused", name, err)
		}
	}
}

// The verifier and slack-go's SecretsVerifier agree on a request signed now.
func TestVerifierAgreesWithSlackGo(t *testing.T) {
	body := []byte("command=%2Fincident&text=list")
	h := slack.SignatureHeaders("s3cret", time.Now(), body)
	sv, err := slackapi.NewSecretsVerifier(h, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	sv.Write(body)
	if err := sv.Ensure(); err != nil {
		t.Fatalf("slack-go refuses Firebreak's signature: %v", err)
	}
	if err := slack.NewVerifier("s3cret", nil).VerifySlack(h, body); err != nil {
		t.Fatalf("the verifier refuses what slack-go accepts: %v", err)
	}
}
