package alerts

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/alertmanager/template"
)

// Repeats are most of what Alertmanager sends (it resends every firing alert each
// repeat_interval) and change no incident. PRODUCT.md lets their bookkeeping (last_seen_at,
// repeats) live in memory for up to a second, so a payload of repeats of occurrences known
// to be stored is answered without waiting for the writer, and the counts reach the
// database in one statement per flush.
//
// What is known is only ever learned from committed transactions, and is a hint, not a
// truth: an occurrence is known by its fingerprint and its stored startsAt. A firing
// notification with that start is either a repeat of that occurrence (while it fires) or,
// once it has ended, a late delivery of it (a resolve never ends an occurrence before its
// stored start), which is counted and changes nothing as well. A new occurrence always
// carries a later start, and another start (the other Prometheus of an HA pair) may move
// the stored one back: both miss and take the writer. So an entry gone stale because
// another replica resolved the occurrence can only count a late delivery as a repeat, and
// entries expire so even that ends. Two cases are not covered by that argument and are
// bounded by the expiry: another replica moving the stored start back and then resolving
// before this one's entry expires, and an incident deleted through another replica (its
// alerts' next notifications are taken as repeats until a flush finds their rows gone).

// knownTTL is how long an occurrence stays known before the writer confirms it again; the
// jitter keeps the thousands learned by one storm from expiring in the same second.
const (
	knownTTL    = 45 * time.Second
	knownJitter = 30 * time.Second
	// maxKnown bounds the memory the known occurrences take (~200 bytes each).
	maxKnown = 1 << 18
	// maxUnwritten is the age past which counts not yet written stop repeats from being
	// answered from memory (a flush stuck behind a deep queue or a stalled database): then
	// they take the writer too, and a crash still loses at most about a second of counts.
	maxUnwritten = 900 * time.Millisecond
)

// knownOccurrence is a firing occurrence a committed transaction stored or counted.
type knownOccurrence struct {
	id         int64 // the alerts row
	incidentID int64
	start      time.Time // its stored startsAt
	expires    time.Time
}

// pendingRepeat is what is not yet written of an alert row's repeats.
type pendingRepeat struct {
	fp       string
	n        int
	lastSeen time.Time
}

// repeatBook keeps the known occurrences and the repeat counts waiting for their flush.
type repeatBook struct {
	mu      sync.Mutex
	known   map[string]knownOccurrence
	pending map[int64]pendingRepeat
	// failing is set while flushes fail (the database is unavailable): repeats then take
	// the writer too and are answered 503, rather than piling up where a crash loses them.
	failing bool
	// closed is set by the last flush at shutdown: nothing counted after it would be
	// written.
	closed bool
	// pendingSince is when the oldest count still pending was taken, flushingSince when the
	// oldest count the flush under way writes was; zero when there are none.
	pendingSince, flushingSince time.Time
	lastSweep                   time.Time
}

// setFailing records whether the last flush failed.
func (b *repeatBook) setFailing(f bool) {
	b.mu.Lock()
	b.failing = f
	b.mu.Unlock()
}

// close stops answering from memory and counting, for good.
func (b *repeatBook) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// answering reports whether repeats may be answered from memory now. Called with mu held.
func (b *repeatBook) answering(wall time.Time) bool {
	switch {
	case b.failing || b.closed:
		return false
	case !b.pendingSince.IsZero() && wall.Sub(b.pendingSince) > maxUnwritten:
		return false
	case !b.flushingSince.IsZero() && wall.Sub(b.flushingSince) > maxUnwritten:
		return false
	}
	return true
}

func newRepeatBook() *repeatBook {
	return &repeatBook{known: map[string]knownOccurrence{}, pending: map[int64]pendingRepeat{}}
}

// learned is an occurrence a transaction found firing or stored, with its stored start.
type learned struct {
	fp         string
	id         int64
	incidentID int64
	start      time.Time
}

// learn records occurrences of a committed transaction. It runs after the commit only:
// an occurrence of a rolled-back batch must never be known.
func (b *repeatBook) learn(ls []learned, now time.Time) {
	if len(ls) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.known)+len(ls) > maxKnown && time.Since(b.lastSweep) > time.Second {
		b.sweep(now) // at most once a second: it walks the whole map with mu held
		b.lastSweep = time.Now()
	}
	for _, l := range ls {
		if _, ok := b.known[l.fp]; !ok && len(b.known) >= maxKnown {
			continue // full of live entries: this one takes the writer until room frees
		}
		b.known[l.fp] = knownOccurrence{id: l.id, incidentID: l.incidentID, start: l.start,
			expires: now.Add(knownTTL + rand.N(knownJitter))}
	}
}

// forget drops occurrences a committed transaction resolved, so their next firing
// notification takes the writer (which tells a late delivery from a new occurrence).
func (b *repeatBook) forget(fps []string) {
	if len(fps) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, fp := range fps {
		delete(b.known, fp)
	}
}

// forgetAll drops every known occurrence (after alerts were deleted).
func (b *repeatBook) forgetAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.known)
}

// sweep drops expired entries. Called with mu held.
func (b *repeatBook) sweep(now time.Time) {
	for fp, k := range b.known {
		if now.After(k.expires) {
			delete(b.known, fp)
		}
	}
}

// repeatHit is a firing alert of a payload found to repeat a known occurrence.
type repeatHit struct {
	id         int64
	incidentID int64
	fp         string
}

// lookup returns the fingerprints of starts (each firing fingerprint of a payload with its
// starts) whose every start is the stored start of a known occurrence, with that
// occurrence. It returns none while counts cannot be kept in memory safely (see answering).
func (b *repeatBook) lookup(starts map[string][]time.Time, now time.Time) map[string]repeatHit {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.answering(time.Now()) {
		return nil
	}
	var hits map[string]repeatHit
	for fp, ss := range starts {
		k, ok := b.known[fp]
		if !ok || now.After(k.expires) {
			continue
		}
		all := true
		for _, s := range ss {
			if !s.Equal(k.start) {
				all = false
				break
			}
		}
		if all {
			if hits == nil {
				hits = make(map[string]repeatHit, len(starts))
			}
			hits[fp] = repeatHit{id: k.id, incidentID: k.incidentID, fp: fp}
		}
	}
	return hits
}

// count adds one repeat to each hit's row, seen at now. It runs only once the rest of the
// payload committed: a payload answered 5xx is sent again, and must not count twice. It
// reports false, counting nothing, once the last flush has run (a request outliving the
// shutdown's grace): the caller must then answer 503.
func (b *repeatBook) count(hits map[string]repeatHit, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	if len(b.pending) == 0 {
		b.pendingSince = time.Now()
	}
	for _, h := range hits {
		p := b.pending[h.id]
		p.n++
		p.fp = h.fp
		if now.After(p.lastSeen) {
			p.lastSeen = now
		}
		b.pending[h.id] = p
	}
	return true
}

// take removes and returns every pending count, for a flush, which calls done when it ends.
func (b *repeatBook) take() map[int64]pendingRepeat {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		return nil
	}
	out := b.pending
	b.pending = make(map[int64]pendingRepeat, len(out))
	b.flushingSince, b.pendingSince = b.pendingSince, time.Time{}
	return out
}

// flushed ends a flush: what it took is written, or given back.
func (b *repeatBook) flushed() {
	b.mu.Lock()
	b.flushingSince = time.Time{}
	b.mu.Unlock()
}

// giveBack returns counts a flush could not write, to be written by the next.
func (b *repeatBook) giveBack(ps map[int64]pendingRepeat) {
	if len(ps) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// Their age is that of the flush that took them.
	since := b.flushingSince
	if since.IsZero() {
		since = time.Now()
	}
	if b.pendingSince.IsZero() || since.Before(b.pendingSince) {
		b.pendingSince = since
	}
	for id, p := range ps {
		q := b.pending[id]
		q.fp = p.fp
		q.n += p.n
		if p.lastSeen.After(q.lastSeen) {
			q.lastSeen = p.lastSeen
		}
		b.pending[id] = q
	}
}

// overlay adds the unwritten repeats to alerts read from the database, so a read on this
// replica shows every repeat it answered.
func (b *repeatBook) overlay(list []Alert) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		return
	}
	for i := range list {
		if p, ok := b.pending[list[i].ID]; ok {
			list[i].Repeats += p.n
			if p.lastSeen.After(list[i].LastSeenAt) {
				list[i].LastSeenAt = p.lastSeen
			}
		}
	}
}

// unwritten is how many alert rows have repeats answered but not yet written.
func (b *repeatBook) unwritten() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// repeatHits are the alerts of a payload answered from memory.
type repeatHits struct {
	byFingerprint map[string]repeatHit
	alerts        int     // alerts among them (a payload may name one twice)
	incidents     []int64 // their incidents, in payload order
}

// splitRepeats sets apart the firing alerts of p (whose fingerprints are fps) that repeat a
// known occurrence with one of its known starts; rest is p with the others only, restFps
// their fingerprints. A fingerprint that also resolves in p stays with the writer.
func (in *Ingester) splitRepeats(p Payload, fps []string, now time.Time) (h repeatHits, rest Payload, restFps []string) {
	starts := make(map[string][]time.Time, len(p.Alerts))
	resolving := map[string]bool{}
	for i, a := range p.Alerts {
		if a.Status == "firing" {
			starts[fps[i]] = append(starts[fps[i]], dbTime(a.StartsAt))
		} else {
			resolving[fps[i]] = true
		}
	}
	for fp := range resolving {
		delete(starts, fp)
	}
	h.byFingerprint = in.repeats.lookup(starts, now)
	if len(h.byFingerprint) == 0 {
		return h, p, fps
	}
	rest = p
	rest.Alerts = make([]template.Alert, 0, len(p.Alerts)-len(h.byFingerprint))
	restFps = make([]string, 0, cap(rest.Alerts))
	for i, a := range p.Alerts {
		hit, ok := h.byFingerprint[fps[i]]
		if !ok {
			rest.Alerts = append(rest.Alerts, a)
			restFps = append(restFps, fps[i])
			continue
		}
		h.alerts++
		if !slices.Contains(h.incidents, hit.incidentID) {
			h.incidents = append(h.incidents, hit.incidentID)
		}
	}
	return h, rest, restFps
}
