package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"firebreak/bench/alertload/mix"
	"firebreak/bench/internal/alertsend"
	"firebreak/bench/internal/serve"
)

// The background traffic's shape: bench/alertload's defaults (200 groups, 10 alerts a
// request, 50 firing alerts a group warmed up, the 85/10/5 mix). Its services are named
// bg-svc-000, bg-svc-001, … — none of them a measured service (svc-0, svc-1, …), none with
// a deploy or a rollback policy, so they open incidents but never call the hook.
const (
	backgroundGroups     = 200
	backgroundPerRequest = 10
	backgroundWarm       = 50
	backgroundPrefix     = "bg-"
)

// background is bench/alertload's mix traffic running against the server while the
// rollback latency is measured, as fast as the server answers.
type background struct {
	stop chan struct{}
	done chan *alertsend.Stats
}

// startBackground warms up o.backgroundSenders generators against srv (their firing alerts
// stored) and starts them; stopBackground ends them and returns what they did.
func startBackground(ctx context.Context, srv *serve.Child, o options, log io.Writer) (*background, error) {
	gens, err := backgroundGenerators(o.backgroundSenders)
	if err != nil {
		return nil, err
	}
	p := alertsend.NewPoster(srv.Base+"/api/v1/alerts/alertmanager", srv.Token, o.backgroundSenders)
	fmt.Fprintf(log, "rollbacklatency: background: warm-up of %d firing alerts\n", backgroundGroups*backgroundWarm)
	if err := alertsend.Warmup(ctx, p, gens, backgroundWarm); err != nil {
		p.Close()
		return nil, fmt.Errorf("background traffic: %w", err)
	}
	fmt.Fprintf(log, "rollbacklatency: background: %d senders of the 85/10/5 mix until the measurement ends\n", o.backgroundSenders)
	b := &background{stop: make(chan struct{}), done: make(chan *alertsend.Stats, 1)}
	go func() {
		defer p.Close()
		b.done <- alertsend.Measure(ctx, p, gens, b.stop, true)
	}()
	return b, nil
}

// backgroundGenerators makes one generator per sender over disjoint groups of the
// background's services.
func backgroundGenerators(senders int) ([]*mix.Generator, error) {
	run := make([]byte, 3)
	_, _ = rand.Read(run)
	gens := make([]*mix.Generator, senders)
	for i := range gens {
		g, err := mix.NewGenerator(mix.Config{Run: hex.EncodeToString(run), PerRequest: backgroundPerRequest,
			Groups: mix.Partition(backgroundGroups, senders, i), Mix: mix.Default, Seed: uint64(i + 1), Prefix: backgroundPrefix})
		if err != nil {
			return nil, err
		}
		gens[i] = g
	}
	return gens, nil
}

// stopBackground stops the senders (each finishes the request it is in) and returns the
// traffic's figures.
func (b *background) stopBackground() *alertsend.Stats {
	close(b.stop)
	return <-b.done
}
