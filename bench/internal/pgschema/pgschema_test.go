package pgschema

import (
	"net/url"
	"testing"
)

func TestCheckLoopback(t *testing.T) {
	for raw, ok := range map[string]bool{
		"postgres://postgres@127.0.0.1:5432/test": true,
		"postgres://postgres@localhost/test":      true,
		"postgres://postgres@[::1]:5432/test":     true,
		"postgres:///test":                        true, // Unix socket
		"postgres://postgres@db.example.com/test": false,
		"postgres://postgres@10.0.0.5:5432/test":  false,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckLoopback(u); (err == nil) != ok {
			t.Errorf("CheckLoopback(%s) = %v, want ok=%v", raw, err, ok)
		}
	}
}
