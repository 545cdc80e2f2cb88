package outbox

import (
	"math/rand/v2"
	"slices"
	"time"
)

// KindOptions tune delivery of one job kind; zero fields take the outbox's Options.
type KindOptions struct {
	// Lease is how long a claimed job of this kind is reserved and how long its handler may
	// run: longer than the slowest call the handler makes (a command hook's timeout).
	Lease       time.Duration
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Coalesce makes the kind deliver only the newest job per coalesce key: a job enqueued
	// with EnqueueCoalescedTx supersedes the older pending jobs of its key, and jobs of one
	// key are delivered one at a time. For messages that are updated in place (a Slack
	// message, a status push), where only the latest state matters.
	Coalesce bool
}

// kind is a registered job kind: its handler and its options with the defaults filled in.
type kind struct {
	handler Handler
	opts    KindOptions
}

// Register sets the handler of a job kind, delivered with the outbox's default options.
func (o *Outbox) Register(kindName string, h Handler) {
	o.RegisterKind(kindName, h, KindOptions{})
}

// RegisterKind sets the handler of a job kind with options of its own. Call it while
// wiring, before Run.
func (o *Outbox) RegisterKind(kindName string, h Handler, opts KindOptions) {
	if opts.Lease <= 0 {
		opts.Lease = o.opts.Lease
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = o.opts.MaxAttempts
	}
	if opts.BaseBackoff <= 0 {
		opts.BaseBackoff = o.opts.BaseBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = o.opts.MaxBackoff
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.kinds[kindName] = kind{handler: h, opts: opts}
}

// Kinds lists the registered job kinds, sorted, for metrics whose series must exist for
// every kind from the start.
func (o *Outbox) Kinds() []string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]string, 0, len(o.kinds))
	for name := range o.kinds {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// kind returns a registered kind, or the defaults with no handler for an unknown one.
func (o *Outbox) kind(name string) kind {
	o.mu.RLock()
	k, ok := o.kinds[name]
	o.mu.RUnlock()
	if !ok {
		k.opts = KindOptions{Lease: o.opts.Lease, MaxAttempts: o.opts.MaxAttempts, BaseBackoff: o.opts.BaseBackoff, MaxBackoff: o.opts.MaxBackoff}
	}
	return k
}

// backoff is exponential from BaseBackoff, capped at MaxBackoff, with jitter between half
// and all of it so retries of many jobs do not arrive together.
func (k KindOptions) backoff(attempt int) time.Duration {
	d := k.BaseBackoff
	for i := 1; i < attempt && d < k.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, k.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}
