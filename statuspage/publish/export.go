package publish

import (
	"context"
	"fmt"

	"firebreak/statuspage"
)

// Export writes the page as static files into dir (statuspage.WriteSite): the same site a
// status-server would serve for the snapshot built now. It needs no secret and sends
// nothing.
func (s *Service) Export(ctx context.Context, dir string) (statuspage.Snapshot, error) {
	snap, err := s.Snapshot(ctx)
	if err != nil {
		return statuspage.Snapshot{}, err
	}
	// The export is not a push: it shows the last sequence taken, without taking one.
	if snap.Sequence, err = currentSequence(ctx, s.db.R); err != nil {
		return statuspage.Snapshot{}, err
	}
	snap.Sequence = max(snap.Sequence, 1)
	if err := statuspage.WriteSite(dir, snap); err != nil {
		return statuspage.Snapshot{}, fmt.Errorf("export the status page to %s: %w", dir, err)
	}
	return snap, nil
}
