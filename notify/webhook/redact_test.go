package webhook_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"firebreak/notify/webhook"
)

func TestRedactHidesUserInfoAndQueryValues(t *testing.T) {
	cases := map[string]string{
		"https://deploy.example.com/rollback":                      "https://deploy.example.com/rollback",
		"https://bot:s3cret@deploy.example.com/rollback":           "https://xxxxx@deploy.example.com/rollback",
		"https://ghp_tok3n@api.example.com/hooks":                  "https://xxxxx@api.example.com/hooks",
		"http://127.0.0.1:9000/r?token=s3cret&team=shop":           "http://127.0.0.1:9000/r?token=xxxxx&team=xxxxx",
		"http://deployer.internal/r?s3cret":                        "http://deployer.internal/r?xxxxx",
		"http://deployer.internal/r#s3cret":                        "http://deployer.internal/r",
		"http://u:p@deployer.internal/r?sig=s3cret&sig=2#frag":     "http://xxxxx@deployer.internal/r?sig=xxxxx&sig=xxxxx",
		"http://deployer.internal/r?token=s3cret%20with%20a%20gap": "http://deployer.internal/r?token=xxxxx",
		"http://[::1]:namedport/s3cret":                            "(a URL that does not parse)",
	}
	for in, want := range cases {
		if got := webhook.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// Whatever goes wrong, the error names the receiver without the secrets its URL carries:
// errors reach logs, the outbox's last_error and incident timelines.
func TestPostErrorsNeverShowTheURLsSecrets(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer failing.Close()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	defer refusing.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release) // before Close, which waits for the handler

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	withSecrets := func(base string) string {
		return strings.Replace(base, "http://", "http://deploy-bot:pa55word@", 1) + "/rollback?token=s3cret-t0ken&sig=abc"
	}
	for name, url := range map[string]string{
		"5xx":         withSecrets(failing.URL),
		"4xx":         withSecrets(refusing.URL),
		"timeout":     withSecrets(slow.URL),
		"closed port": withSecrets(closed),
		"bad URL":     "http://deploy-bot:pa55word@[::1]:namedport/rollback?token=s3cret-t0ken",
	} {
		_, _, err := webhook.NewClient().Post(context.Background(), url, secret, body, nil, 200*time.Millisecond)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		for _, s := range []string{"pa55word", "deploy-bot", "s3cret-t0ken", "abc"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: the error shows %q: %v", name, s, err)
			}
		}
	}
}

// What a receiver answers is stored: Latin-1 text becomes valid UTF-8, and a character the
// 4 KiB limit cuts in two is dropped, not half kept.
func TestPostResponseBodyIsValidUTF8(t *testing.T) {
	for name, answer := range map[string]string{
		"latin-1":            "erreur: d\xe9ploiement refus\xe9\x00",
		"multibyte at limit": strings.Repeat("a", 4<<10-1) + "€ and more",
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = w.Write([]byte(answer))
		}))
		resp, _, _ := webhook.NewClient().Post(context.Background(), srv.URL, secret, body, nil, 5*time.Second)
		srv.Close()
		if !utf8.ValidString(resp.Body) || strings.ContainsRune(resp.Body, 0) {
			t.Errorf("%s: Body %.60q is not storable text", name, resp.Body)
		}
		switch name {
		case "latin-1":
			if resp.Body != "erreur: d\uFFFDploiement refus\uFFFD\uFFFD" {
				t.Errorf("%s: Body %q", name, resp.Body)
			}
		default:
			if resp.Body != strings.Repeat("a", 4<<10-1) {
				t.Errorf("%s: Body ends %q, want the whole characters before the limit", name, resp.Body[len(resp.Body)-8:])
			}
		}
	}
}
