package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"firebreak/notify/webhook"
)

// The example must accept exactly what Firebreak's own client sends, and nothing forged.
func TestReceiverAcceptsFirebreakSignaturesOnce(t *testing.T) {
	calls := 0
	rc := &receiver{secret: []byte("s3cret"), done: map[string]bool{}, act: func(rollbackRequest) error { calls++; return nil }}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	body := []byte(`{"action":"rollback","service":"checkout","environment":"production","rollback_from":"1.4.2","rollback_to":"1.4.1"}`)
	c := webhook.NewClient()
	for i := 0; i < 2; i++ {
		resp, _, err := c.Post(context.Background(), srv.URL, []byte("s3cret"), body, map[string]string{"Idempotency-Key": "rollback-1-2"}, 5*time.Second)
		if err != nil || resp.Status != http.StatusOK {
			t.Fatalf("signed call %d: %v %+v", i, err, resp)
		}
	}
	if calls != 1 {
		t.Fatalf("acted %d times for one Idempotency-Key, want 1", calls)
	}
	resp, _, _ := c.Post(context.Background(), srv.URL, []byte("wrong"), body, map[string]string{"Idempotency-Key": "rollback-1-3"}, 5*time.Second)
	if resp.Status != http.StatusUnauthorized || calls != 1 {
		t.Fatalf("forged call answered %d (acted %d times)", resp.Status, calls)
	}
}

func TestVerifyRefusesStaleTimestamps(t *testing.T) {
	body := []byte(`{}`)
	old := time.Now().Add(-10 * time.Minute)
	sig := webhook.Sign([]byte("k"), old, body)
	ts := old.Unix()
	if err := verify([]byte("k"), itoa(ts), sig, body, time.Now()); err == nil {
		t.Fatal("a ten-minute-old signature was accepted")
	}
	if err := verify([]byte("k"), itoa(ts), sig, body, old); err != nil {
		t.Fatalf("a fresh signature was refused: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
