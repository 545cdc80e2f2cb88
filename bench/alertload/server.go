package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"

	"firebreak/alerts"
)

// decodeOnly serves, in this process, a webhook endpoint that reads the body, decodes and
// validates it with alerts.Decode and answers 200 {}: the floor under what HTTP and JSON
// cost, for the ratio.
type decodeOnly struct {
	srv  *http.Server
	base string
	done chan struct{}
}

func startDecodeOnly() (*decodeOnly, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/alerts/alertmanager", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 10<<20))
		if err != nil {
			http.Error(w, `{"error":"read body"}`, http.StatusBadRequest)
			return
		}
		if _, err := alerts.Decode(body); err != nil {
			msg, _ := json.Marshal(map[string]string{"error": err.Error()})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(msg)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})
	d := &decodeOnly{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, base: "http://" + ln.Addr().String(),
		done: make(chan struct{})}
	go func() {
		_ = d.srv.Serve(ln)
		close(d.done)
	}()
	return d, nil
}

func (d *decodeOnly) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.srv.Shutdown(ctx)
	<-d.done
}
