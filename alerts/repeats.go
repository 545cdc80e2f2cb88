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
// truth: an occurrence is known by its fingerprint and the startsAt values seen for it. A
// firing notification with one of those starts is either a repeat of that occurrence (while
// it fires) or, once it has ended, a late delivery of it (its start is not after its end),
// which is counted and changes nothing as well. A new occurrence always carries a later
// start, and an earlier start (the other Prometheus of an HA pair) moves the stored one
// back: both miss and take the writer. So a stale entry — an occurrence another replica
// resolved, an incident deleted — can only count a late delivery as a repeat, and entries
// expire so even that ends.

// knownTTL is how long an occurrence stays known before the writer confirms it again; the
// jitter keeps the thousands learned by one storm from expiring in the same second.
const (
	knownTTL    = 45 * time.Second
	knownJitter = 30 * time.Second
	// maxKnown bounds the memory the known occurrences take (~200 bytes each).
	maxKnown = 1 << 18
	// knownStarts is how many distinct startsAt values are kept per occurrence: its stored
	// start and the one the other Alertmanager of an HA pair may keep sending.
	knownStarts = 2
)

// knownOccurrence is a firing occurrence a committed transaction stored or counted.
type knownOccurrence struct {
	id         int64 // the alerts row
	incidentID int64
	starts     [knownStarts]time.Time
	expires    time.Time
}

func (k *knownOccurrence) hasStart(t time.Time) bool {
	for _, s := range k.starts {
		if !s.IsZero() && s.Equal(t) {
			return true
		}
	}
	return false
}

// pendingRepeat is what is not yet written of an alert row's repeats.
type pendingRepeat struct {
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
}

// setFailing records whether the last flush failed.
func (b *repeatBook) setFailing(f bool) {
	b.mu.Lock()
	b.failing = f
	b.mu.Unlock()
}

func newRepeatBook() *repeatBook {
	return &repeatBook{known: map[string]knownOccurrence{}, pending: map[int64]pendingRepeat{}}
}

// learned is an occurrence a transaction found firing or stored, with the start this
// payload gave it.
type learned struct {
	fp          string
	id          int64
	incidentID  int64
	stored, got time.Time
}

// learn records occurrences of a committed transaction. It runs after the commit only:
// an occurrence of a rolled-back batch must never be known.
func (b *repeatBook) learn(ls []learned, now time.Time) {
	if len(ls) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.known)+len(ls) > maxKnown {
		b.sweep(now)
	}
	for _, l := range ls {
		k, ok := b.known[l.fp]
		if !ok || k.id != l.id {
			if !ok && len(b.known) >= maxKnown {
				continue // full of live entries: this one takes the writer until room frees
			}
			k = knownOccurrence{id: l.id, incidentID: l.incidentID}
		}
		k.starts[0] = l.stored
		if !l.got.Equal(l.stored) {
			k.starts[1] = l.got
		}
		k.expires = now.Add(knownTTL + rand.N(knownJitter))
		b.known[l.fp] = k
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
}

// lookup returns, for each fingerprint of fps that only fires in the payload, the known
// occurrence its every start matches. starts holds each firing fingerprint's starts.
func (b *repeatBook) lookup(starts map[string][]time.Time, now time.Time) map[string]repeatHit {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failing {
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
			if !k.hasStart(s) {
				all = false
				break
			}
		}
		if all {
			if hits == nil {
				hits = make(map[string]repeatHit, len(starts))
			}
			hits[fp] = repeatHit{id: k.id, incidentID: k.incidentID}
		}
	}
	return hits
}

// count adds one repeat to each hit's row, seen at now. It runs only once the rest of the
// payload committed: a payload answered 5xx is sent again, and must not count twice.
func (b *repeatBook) count(hits map[string]repeatHit, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, h := range hits {
		p := b.pending[h.id]
		p.n++
		if now.After(p.lastSeen) {
			p.lastSeen = now
		}
		b.pending[h.id] = p
	}
}

// take removes and returns every pending count, for a flush.
func (b *repeatBook) take() map[int64]pendingRepeat {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		return nil
	}
	out := b.pending
	b.pending = make(map[int64]pendingRepeat, len(out))
	return out
}

// giveBack returns counts a flush could not write, to be written by the next.
func (b *repeatBook) giveBack(ps map[int64]pendingRepeat) {
	if len(ps) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, p := range ps {
		q := b.pending[id]
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

// splitRepeats sets apart the firing alerts of p that repeat a known occurrence with one of
// its known starts; rest is p with the others only. A fingerprint that also resolves in p
// stays with the writer.
func (in *Ingester) splitRepeats(p Payload, now time.Time) (repeatHits, Payload) {
	fps := make([]string, len(p.Alerts))
	starts := make(map[string][]time.Time, len(p.Alerts))
	resolving := map[string]bool{}
	for i, a := range p.Alerts {
		fps[i] = Fingerprint(a)
		if a.Status == "firing" {
			starts[fps[i]] = append(starts[fps[i]], dbTime(a.StartsAt))
		} else {
			resolving[fps[i]] = true
		}
	}
	for fp := range resolving {
		delete(starts, fp)
	}
	var h repeatHits
	h.byFingerprint = in.repeats.lookup(starts, now)
	if len(h.byFingerprint) == 0 {
		return h, p
	}
	rest := p
	rest.Alerts = make([]template.Alert, 0, len(p.Alerts)-len(h.byFingerprint))
	for i, a := range p.Alerts {
		hit, ok := h.byFingerprint[fps[i]]
		if !ok {
			rest.Alerts = append(rest.Alerts, a)
			continue
		}
		h.alerts++
		if !slices.Contains(h.incidents, hit.incidentID) {
			h.incidents = append(h.incidents, hit.incidentID)
		}
	}
	return h, rest
}
