package mix

import (
	"fmt"
	"time"
)

// Prefill renders the traffic that fills the database before a measurement: chunks of
// PerRequest new alerts with unique fingerprints, each sent firing and then resolved, spread
// over Groups group keys (and as many services) so that the incidents stay as many as the
// groups: a group's incident resolves when its chunk resolves and the next chunk of the group
// reopens it. Its groups are named apart from the measured traffic's. Safe for concurrent use.
type Prefill struct {
	run        string
	groups     []*group
	perRequest int
	total      int
	now        func() time.Time
}

// NewPrefill prepares total alerts in chunks of perRequest over groups groups.
func NewPrefill(run string, total, perRequest, groups int, now func() time.Time) *Prefill {
	if now == nil {
		now = time.Now
	}
	p := &Prefill{run: run, perRequest: max(perRequest, 1), total: total, now: now}
	for i := range max(groups, 1) {
		p.groups = append(p.groups, newGroup("pf-", i, run))
	}
	return p
}

// Chunks is the number of chunks.
func (p *Prefill) Chunks() int { return (p.total + p.perRequest - 1) / p.perRequest }

// Render writes chunk k as a firing payload into firing and the same alerts resolved into
// resolved (both reused from the caller), and returns them with the number of alerts.
func (p *Prefill) Render(k int, firing, resolved []byte) ([]byte, []byte, int) {
	gr := p.groups[k%len(p.groups)]
	n := min(p.perRequest, p.total-k*p.perRequest)
	now := p.now()
	picks := make([]pick, n)
	for i := range picks {
		a := makeAlert(gr, fmt.Sprintf("%s-pf%d-%d.%s.svc:9100", gr.service, k, i, gr.name), now.Add(-time.Minute))
		picks[i] = pick{a: a, kind: New}
	}
	var r Generator
	r.buf = firing
	firing = r.render(Batch{g: gr, picks: picks})
	for i := range picks {
		picks[i].kind = Resolve
	}
	r.buf = resolved
	resolved = r.render(Batch{g: gr, picks: picks, ends: now.UTC().Truncate(time.Millisecond)})
	return firing, resolved, n
}
