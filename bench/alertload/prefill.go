package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"firebreak/bench/alertload/mix"
	"firebreak/bench/internal/alertsend"
)

// prefill stores o.prefill alerts through the webhook before the measurement: each chunk
// of 100 new alerts is posted firing, then resolved. It returns how many alerts the server
// counted as new, and stops early (with an error) at o.prefillTimeout.
func prefill(ctx context.Context, p *alertsend.Poster, o options, run string, progress io.Writer) (int64, time.Duration, error) {
	pf := mix.NewPrefill(run, o.prefill, 100, o.prefillGroups, nil)
	chunks := pf.Chunks()
	pctx, cancel := context.WithTimeout(ctx, o.prefillTimeout)
	defer cancel()
	var next, stored atomic.Int64
	var firstErr error
	var errOnce sync.Once
	start := time.Now()
	done := make(chan struct{})
	go func() { // progress, so a long prefill is not silent
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				n := stored.Load()
				el := time.Since(start)
				fmt.Fprintf(progress, "alertload: prefill: %d of %d alerts stored after %s (%.0f alerts/s)\n",
					n, o.prefill, el.Round(time.Second), float64(n)/el.Seconds())
			}
		}
	}()
	var wg sync.WaitGroup
	for range o.prefillSenders {
		wg.Go(func() {
			var firing, resolved []byte
			var resp bytes.Buffer
			for pctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= chunks {
					return
				}
				var n int
				firing, resolved, n = pf.Render(k, firing[:0], resolved[:0])
				_, err := p.PostRetrying(pctx, firing, &resp, 50)
				if err == nil {
					var a alertsend.Answer
					if json.Unmarshal(resp.Bytes(), &a) == nil {
						stored.Add(a.New)
					}
					_, err = p.PostRetrying(pctx, resolved, &resp, 50)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("prefill chunk %d (%d alerts): %w", k, n, err) })
					cancel()
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	took := time.Since(start)
	if errors.Is(pctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		firstErr = fmt.Errorf("prefill stopped by -prefill-timeout %s", o.prefillTimeout)
	}
	return stored.Load(), took, firstErr
}
