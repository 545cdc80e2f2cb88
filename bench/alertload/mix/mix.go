// Package mix generates the Alertmanager webhook traffic of Firebreak's ingestion benchmark:
// version-4 payloads of a fixed number of alerts, each alert a repeat of one already firing,
// a new alert, or the resolution of one firing, in fixed proportions (85/10/5 by default, or
// all new). The same batches render as Alertmanager's own API v2 postable alerts too, so
// that Alertmanager can be measured with the identical alerts, and a Storm is every alert
// new, one notification per group (and its end the same alerts resolved).
//
// A Generator owns a set of Alertmanager groups and keeps their firing alerts, the way one
// Alertmanager sends one group's notifications one after another. Give each concurrent
// sender a Generator of its own (disjoint groups): then what the server answers can be
// predicted exactly, which the smoke test checks. Payload bytes are built by appending
// pre-rendered pieces into a reused buffer, so the generator costs a few microseconds a
// payload and never is the bottleneck of the load.
package mix

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/prometheus/alertmanager/template"
	"github.com/prometheus/common/model"

	"firebreak/alerts"
)

// Mix is the share, in percent, of each kind of alert in the traffic; the three add to 100.
type Mix struct {
	Repeat, New, Resolve int
}

// Default is the mix: 85 % repeats, 10 % new alerts, 5 % resolves.
var Default = Mix{Repeat: 85, New: 10, Resolve: 5}

// AllNew is traffic of new alerts only: every alert a new fingerprint, none repeated or
// resolved, the worst case for a store.
var AllNew = Mix{New: 100}

// refersToFiring says whether the mix repeats or resolves firing alerts, so the generator
// must remember them.
func (m Mix) refersToFiring() bool { return m.Repeat > 0 || m.Resolve > 0 }

// Validate checks the percentages.
func (m Mix) Validate() error {
	if m.Repeat < 0 || m.New < 0 || m.Resolve < 0 || m.Repeat+m.New+m.Resolve != 100 {
		return fmt.Errorf("mix %d/%d/%d: want three non-negative percentages adding to 100", m.Repeat, m.New, m.Resolve)
	}
	return nil
}

// Kind is what one alert of a payload is.
type Kind uint8

// The three kinds of alert in the traffic.
const (
	Repeat  Kind = iota // a firing alert sent again: same fingerprint and startsAt
	New                 // a new alert: new fingerprint, firing
	Resolve             // a firing alert now resolved
)

// Counts adds up what a generator has produced.
type Counts struct {
	Payloads, Alerts         int64
	Repeats, New, Resolves   int64
	Downgraded               int64 // repeats or resolves sent as new because the group had too few firing alerts
	WarmupPayloads, WarmedUp int64 // warm-up traffic, not in the counts above
}

// Add sums two counts.
func (c Counts) Add(o Counts) Counts {
	return Counts{Payloads: c.Payloads + o.Payloads, Alerts: c.Alerts + o.Alerts, Repeats: c.Repeats + o.Repeats,
		New: c.New + o.New, Resolves: c.Resolves + o.Resolves, Downgraded: c.Downgraded + o.Downgraded,
		WarmupPayloads: c.WarmupPayloads + o.WarmupPayloads, WarmedUp: c.WarmedUp + o.WarmedUp}
}

// Alert kinds realistic enough for the labels and annotations to have the usual sizes.
var alertnames = []string{"HighRequestLatency", "HighErrorRate", "KubePodCrashLooping", "NodeFilesystemAlmostFull",
	"TargetDown", "KubeDeploymentReplicasMismatch", "PostgresReplicationLag", "CPUThrottlingHigh"}

var severities = []string{"critical", "error", "warning", "info"}

var envs = []string{"prod", "staging", "canary"}

// Addresses of the imaginary Alertmanager and Prometheus.
const (
	externalURL   = "http://alertmanager.bench.internal:9093"
	prometheusURL = "http://prometheus.bench.internal:9090"
	zeroTime      = `"0001-01-01T00:00:00Z"`
	timeLayout    = "2006-01-02T15:04:05.000Z07:00" // what Alertmanager sends: millisecond precision, UTC
)

// alert is one alert occurrence the generator knows.
type alert struct {
	// frag is its JSON object minus status and endsAt, without braces:
	// "labels":{…},"annotations":{…},"startsAt":"…","generatorURL":"…","fingerprint":"…"
	frag []byte
	// postable is the length of frag without its fingerprint: what Alertmanager's API v2
	// takes of the alert, but for endsAt.
	postable int
	tmpl     template.Alert // the same, as Alertmanager's Go type (status and endsAt unset)
	mark     uint64         // the last payload that used it, so no payload names it twice
}

// group is one Alertmanager group: one group key, alerts that share their labels but
// instance.
type group struct {
	name                        string // for instance names
	alertname, service, env, sv string
	key                         string // Alertmanager's group key
	tail                        []byte // "groupLabels":…,"truncatedAlerts":0}
	groupLabels, commonLabels   template.KV
	firing                      []*alert
	untracked                   int // new alerts of a mix that never refers back to them, not kept in firing
	next                        int // instances created so far
}

// pick is one alert of a payload.
type pick struct {
	a    *alert
	kind Kind
}

// Batch is one generated payload before rendering: valid until the generator's next call.
type Batch struct {
	g     *group
	picks []pick
	ends  time.Time // endsAt of the resolved alerts
}

// Len is the number of alerts in the batch.
func (b Batch) Len() int { return len(b.picks) }

// Kinds counts the alerts of the batch by kind: what the server should answer as new,
// deduplicated and resolved (on a fresh database, with every earlier payload stored).
func (b Batch) Kinds() (repeats, news, resolves int) {
	for _, p := range b.picks {
		switch p.kind {
		case Repeat:
			repeats++
		case New:
			news++
		case Resolve:
			resolves++
		}
	}
	return
}

// Config shapes a Generator.
type Config struct {
	// Run makes this run's alerts distinct from any other run's (instances, fingerprints).
	Run string
	// Groups are the indices of the groups this generator owns; disjoint between generators.
	Groups []int
	// PerRequest is the number of alerts in one payload.
	PerRequest int
	// Mix is the share of each kind; zero means Default.
	Mix Mix
	// Format is what Next and Warmup render: Webhook (the zero value) or PostableAlerts.
	// With the same Seed, two generators of different formats pick the same alerts.
	Format Format
	// Seed seeds the generator's random choices.
	Seed uint64
	// Prefix, when set, starts the names of the generator's groups and services, to keep
	// them apart from other traffic on the same server (svc-012 becomes <Prefix>svc-012).
	Prefix string
	// Now is the clock for startsAt and endsAt; nil means time.Now.
	Now func() time.Time
}

// Generator produces payloads for the groups it owns. Not safe for concurrent use.
type Generator struct {
	cfg    Config
	rng    *rand.Rand
	groups []*group
	seq    uint64
	picks  []pick
	buf    []byte
	counts Counts
}

// NewGenerator returns a generator; its groups have no firing alerts until Warmup or the
// first new alerts.
func NewGenerator(cfg Config) (*Generator, error) {
	if cfg.Mix == (Mix{}) {
		cfg.Mix = Default
	}
	if err := cfg.Mix.Validate(); err != nil {
		return nil, err
	}
	if cfg.PerRequest < 1 {
		return nil, fmt.Errorf("per request %d: want at least 1", cfg.PerRequest)
	}
	if len(cfg.Groups) == 0 {
		return nil, fmt.Errorf("a generator needs at least one group")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	g := &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))}
	for _, i := range cfg.Groups {
		g.groups = append(g.groups, newGroup(cfg.Prefix, i, cfg.Run))
	}
	return g, nil
}

// Partition splits groups 0..groups-1 between n generators round-robin: generator i owns
// i, i+n, i+2n, …
func Partition(groups, n, i int) []int {
	var out []int
	for g := i; g < groups; g += n {
		out = append(out, g)
	}
	return out
}

// newGroup makes group i; prefix keeps the prefill's groups apart from the measured ones.
func newGroup(prefix string, i int, run string) *group {
	g := &group{
		name:      fmt.Sprintf("%sg%04d-%s", prefix, i, run),
		alertname: alertnames[i%len(alertnames)],
		service:   fmt.Sprintf("%ssvc-%03d", prefix, i),
		env:       envs[i%len(envs)],
		sv:        severities[i%len(severities)],
	}
	// Alertmanager's group key: the route's matchers, then the group-by labels.
	g.key = fmt.Sprintf(`{}/{severity=%q}:{alertname=%q, service=%q}`, g.sv, g.alertname, g.service)
	g.groupLabels = template.KV{"alertname": g.alertname, "service": g.service}
	g.commonLabels = template.KV{"alertname": g.alertname, "service": g.service, "env": g.env, "severity": g.sv}
	var t []byte
	t = append(t, `"groupLabels":`...)
	t = appendKV(t, g.groupLabels)
	t = append(t, `,"commonLabels":`...)
	t = appendKV(t, g.commonLabels)
	t = append(t, `,"commonAnnotations":{},"externalURL":`...)
	t = appendString(t, externalURL)
	t = append(t, `,"version":"4","groupKey":`...)
	t = appendString(t, g.key)
	t = append(t, `,"truncatedAlerts":0}`...)
	g.tail = t
	return g
}

// newAlert makes the next alert of group g, starting at startsAt.
func newAlert(g *group, startsAt time.Time) *alert {
	g.next++
	return makeAlert(g, fmt.Sprintf("%s-%d.%s.svc:9100", g.service, g.next, g.name), startsAt)
}

// makeAlert makes an alert of group g on instance.
func makeAlert(g *group, instance string, startsAt time.Time) *alert {
	labels := template.KV{"alertname": g.alertname, "service": g.service, "env": g.env, "severity": g.sv, "instance": instance}
	annots := template.KV{
		"summary":     g.alertname + " on " + instance,
		"description": fmt.Sprintf("%s has fired for %s in %s for more than 5 minutes; see the runbook for what to check first.", g.alertname, instance, g.env),
	}
	ls := make(model.LabelSet, len(labels))
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	fp := ls.Fingerprint().String()
	gen := prometheusURL + "/graph?g0.expr=" + g.alertname + "%7Bservice%3D%22" + g.service + "%22%7D&g0.tab=1"
	startsAt = startsAt.UTC().Truncate(time.Millisecond)

	var f []byte
	f = append(f, `"labels":`...)
	f = appendKV(f, labels)
	f = append(f, `,"annotations":`...)
	f = appendKV(f, annots)
	f = append(f, `,"startsAt":"`...)
	f = startsAt.AppendFormat(f, timeLayout)
	f = append(f, `","generatorURL":`...)
	f = appendString(f, gen)
	postable := len(f)
	f = append(f, `,"fingerprint":"`...)
	f = append(f, fp...)
	f = append(f, '"')
	return &alert{frag: f, postable: postable, tmpl: template.Alert{Labels: labels, Annotations: annots, StartsAt: startsAt,
		GeneratorURL: gen, Fingerprint: fp}}
}

// Warmup creates perGroup firing alerts in each group and hands them out as payloads of at
// most perRequest alerts, for the caller to send before measuring: the alerts the repeats
// and resolves of the measured traffic refer to. The body passed to send is reused.
func (g *Generator) Warmup(perGroup, perRequest int, send func(body []byte, b Batch) error) error {
	now := g.cfg.Now()
	for _, gr := range g.groups {
		for made := 0; made < perGroup; {
			n := min(perRequest, perGroup-made)
			g.seq++
			g.picks = g.picks[:0]
			for range n {
				a := newAlert(gr, now.Add(-time.Duration(g.rng.IntN(3600))*time.Second))
				a.mark = g.seq
				gr.firing = append(gr.firing, a)
				g.picks = append(g.picks, pick{a: a, kind: New})
			}
			made += n
			b := Batch{g: gr, picks: g.picks}
			g.counts.WarmupPayloads++
			g.counts.WarmedUp += int64(n)
			if err := send(g.render(b), b); err != nil {
				return err
			}
		}
	}
	return nil
}

// Next generates the next payload and returns its JSON (in a buffer reused by the next
// call) and its batch.
func (g *Generator) Next() ([]byte, Batch) {
	b := g.NextBatch()
	return g.render(b), b
}

// NextBatch generates the next payload without rendering it.
func (g *Generator) NextBatch() Batch {
	g.seq++
	now := g.cfg.Now()
	gr := g.groups[g.rng.IntN(len(g.groups))]
	g.picks = g.picks[:0]
	m := g.cfg.Mix
	for range g.cfg.PerRequest {
		r := g.rng.IntN(100)
		kind := New
		switch {
		case r < m.Repeat:
			kind = Repeat
		case r >= m.Repeat+m.New:
			kind = Resolve
		}
		var a *alert
		if kind != New {
			i := g.pickFiring(gr)
			if i < 0 {
				kind = New // too few firing alerts left to pick a distinct one
				g.counts.Downgraded++
			} else {
				a = gr.firing[i]
				if kind == Resolve {
					last := len(gr.firing) - 1
					gr.firing[i] = gr.firing[last]
					gr.firing[last] = nil
					gr.firing = gr.firing[:last]
				}
			}
		}
		if kind == New {
			a = newAlert(gr, now)
			if m.refersToFiring() {
				gr.firing = append(gr.firing, a)
			} else {
				gr.untracked++ // all new: keeping every alert would only grow the load program
			}
		}
		a.mark = g.seq
		g.picks = append(g.picks, pick{a: a, kind: kind})
		switch kind {
		case Repeat:
			g.counts.Repeats++
		case New:
			g.counts.New++
		case Resolve:
			g.counts.Resolves++
		}
	}
	g.counts.Payloads++
	g.counts.Alerts += int64(len(g.picks))
	return Batch{g: gr, picks: g.picks, ends: now.UTC().Truncate(time.Millisecond)}
}

// pickFiring returns the index of a random firing alert not yet in the current payload,
// or -1.
func (g *Generator) pickFiring(gr *group) int {
	n := len(gr.firing)
	if n == 0 {
		return -1
	}
	for range 16 {
		if i := g.rng.IntN(n); gr.firing[i].mark != g.seq {
			return i
		}
	}
	for i, a := range gr.firing { // small group: look at each
		if a.mark != g.seq {
			return i
		}
	}
	return -1
}

// Payload is the batch as the Go value alerts.Decode would return for its JSON, for
// calling the ingester without HTTP and JSON.
func (b Batch) Payload() alerts.Payload {
	p := alerts.Payload{Version: "4", GroupKey: b.g.key}
	p.Receiver = "firebreak"
	p.Status = "resolved"
	p.GroupLabels = b.g.groupLabels
	p.CommonLabels = b.g.commonLabels
	p.CommonAnnotations = template.KV{}
	p.ExternalURL = externalURL
	p.Alerts = make(template.Alerts, len(b.picks))
	for i, pk := range b.picks {
		a := pk.a.tmpl
		if pk.kind == Resolve {
			a.Status = "resolved"
			a.EndsAt = b.ends
		} else {
			a.Status = "firing"
			p.Status = "firing"
		}
		p.Alerts[i] = a
	}
	return p
}

// Counts returns what the generator has produced so far.
func (g *Generator) Counts() Counts { return g.counts }

// Firing returns how many alerts the generator's groups have firing now.
func (g *Generator) Firing() int {
	n := 0
	for _, gr := range g.groups {
		n += len(gr.firing) + gr.untracked
	}
	return n
}

// GroupKeys returns the group keys of the generator's groups.
func (g *Generator) GroupKeys() []string {
	out := make([]string, len(g.groups))
	for i, gr := range g.groups {
		out[i] = gr.key
	}
	return out
}
