package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/template"

	"firebreak/alerts"
	"firebreak/store"
	"firebreak/store/storetest"
)

// The storm: 50,000 new alerts over 200 groups, each group one notification (as
// Alertmanager sends a group), from 16 senders at once.
const (
	stormGroups   = 200
	stormPerGroup = 250
	stormSenders  = 16
)

// BenchmarkIngestStorm stores the storm in process, once per iteration on a fresh database,
// and reports seconds per storm and alerts/s.
//
//	go test ./bench -run '^$' -bench IngestStorm -benchtime 3x
func BenchmarkIngestStorm(b *testing.B) {
	benchStorm(b, "s/storm", func(_ *alerts.Ingester, storm []alerts.Payload) []alerts.Payload { return storm })
}

// BenchmarkIngestStormEnd stores the storm, then measures its end: the same notifications
// with every alert resolved, as Alertmanager sends them when the fleet recovers.
//
//	go test ./bench -run '^$' -bench IngestStormEnd -benchtime 3x
func BenchmarkIngestStormEnd(b *testing.B) {
	benchStorm(b, "s/end", func(in *alerts.Ingester, storm []alerts.Payload) []alerts.Payload {
		ingestConcurrently(b, in, storm, stormSenders)
		return stormEnd(storm)
	})
}

// benchStorm measures, on each database and a fresh one per iteration, the ingestion of the
// payloads measured returns (it may first store others, unmeasured), and reports seconds
// per iteration (as unit) and alerts/s.
func benchStorm(b *testing.B, unit string, measured func(in *alerts.Ingester, storm []alerts.Payload) []alerts.Payload) {
	for _, dialect := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				db := storetest.Open(b, dialect)
				in := newBenchIngester(b, db)
				ps := measured(in, stormPayloads(fmt.Sprintf("run%d", i)))
				b.StartTimer()
				start := time.Now()
				ingestConcurrently(b, in, ps, stormSenders)
				total += time.Since(start)
			}
			b.ReportMetric(total.Seconds()/float64(b.N), unit)
			b.ReportMetric(float64(stormGroups*stormPerGroup*b.N)/total.Seconds(), "alerts/s")
		})
	}
}

// stormEnd is the storm's notifications with every alert resolved now.
func stormEnd(ps []alerts.Payload) []alerts.Payload {
	now := time.Now().UTC()
	out := make([]alerts.Payload, len(ps))
	for g, p := range ps {
		p.Status = "resolved"
		p.Alerts = append([]template.Alert(nil), p.Alerts...)
		for i := range p.Alerts {
			p.Alerts[i].Status, p.Alerts[i].EndsAt = "resolved", now
		}
		out[g] = p
	}
	return out
}

// stormPayloads is one notification per group, every alert new.
func stormPayloads(run string) []alerts.Payload {
	now := time.Now().UTC()
	ps := make([]alerts.Payload, stormGroups)
	for g := range ps {
		svc := fmt.Sprintf("%s-svc-%d", run, g)
		p := alerts.Payload{Version: "4", GroupKey: fmt.Sprintf("{}:{service=%q}", svc)}
		p.Receiver, p.Status = "firebreak", "firing"
		for i := 0; i < stormPerGroup; i++ {
			p.Alerts = append(p.Alerts, template.Alert{Status: "firing", StartsAt: now,
				Labels: template.KV{"alertname": "InstanceDown", "service": svc, "env": "production",
					"instance": fmt.Sprintf("10.0.%d.%d:9100", i/256, i%256), "severity": "critical"},
				Annotations:  template.KV{"summary": "Instance is down", "description": "The instance has not answered its scrape for 5 minutes."},
				GeneratorURL: "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0"})
		}
		ps[g] = p
	}
	return ps
}

// ingestConcurrently ingests every payload from senders goroutines and fails on any error.
func ingestConcurrently(tb testing.TB, in *alerts.Ingester, ps []alerts.Payload, senders int) {
	next := make(chan alerts.Payload)
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for p := range next {
				if _, err := in.Ingest(context.Background(), p); err != nil {
					tb.Error(err)
				}
			}
		})
	}
	for _, p := range ps {
		next <- p
	}
	close(next)
	wg.Wait()
}
