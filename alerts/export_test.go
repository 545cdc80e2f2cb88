package alerts

// Waiting is the number of payloads waiting for a batch, for tests that need several
// payloads in one batch.
func (in *Ingester) Waiting() int {
	in.queue.mu.Lock()
	defer in.queue.mu.Unlock()
	return len(in.queue.waiting)
}

// Retried is the number of batches that failed at first and were run again.
func (in *Ingester) Retried() int64 { return in.queue.retried.Load() }
