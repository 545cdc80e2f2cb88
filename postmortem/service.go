package postmortem

import (
	"context"
	"fmt"

	"firebreak/alerts"
	"firebreak/deploys"
	"firebreak/incidents"
	"firebreak/store"
)

// KindPublished is the timeline event written when a postmortem is published.
const KindPublished incidents.EventKind = "postmortem_published"

// Service builds postmortems from the record and keeps the parts people write.
type Service struct {
	db        *store.DB
	incidents *incidents.Manager
	deploys   *deploys.Tracker
	rollbacks *deploys.Rollbacks
}

// New returns a Service. tracker and rollbacks may be nil: the report then has no
// suspects, or no rollbacks. Its clock is the incident manager's.
func New(db *store.DB, m *incidents.Manager, tracker *deploys.Tracker, rollbacks *deploys.Rollbacks) *Service {
	return &Service{db: db, incidents: m, deploys: tracker, rollbacks: rollbacks}
}

// Get builds the postmortem of incident id from what is recorded now; incidents.ErrNotFound
// when there is no such incident. It reads with a handful of queries whatever the size of
// the incident: one each for the incident, its timeline, its alerts, its suspects, its
// rollbacks, the human parts, the action items and the service's earlier incidents, plus
// one per rollback of a deploy that is not a suspect.
func (s *Service) Get(ctx context.Context, id int64) (Report, error) {
	q := s.db.R
	var f facts
	var err error
	if f.inc, err = s.incidents.GetTx(ctx, q, id); err != nil {
		return Report{}, err
	}
	if f.timeline, err = s.incidents.Timeline(ctx, id); err != nil {
		return Report{}, err
	}
	if f.alertCount, f.alertNames, err = alerts.CountByName(ctx, q, id); err != nil {
		return Report{}, err
	}
	if f.record, err = getRecord(ctx, q, id); err != nil {
		return Report{}, err
	}
	if f.parts, err = s.parts(ctx, q, f.record); err != nil {
		return Report{}, err
	}
	if err := s.readDeploys(ctx, &f); err != nil {
		return Report{}, err
	}
	if f.inc.Service != "" {
		// Ids below this one's were opened before it; comparable drops the rest.
		list, err := s.incidents.ListTx(ctx, q, incidents.Filter{Service: f.inc.Service,
			Since: f.inc.OpenedAt.Add(-ComparisonWindow), Before: f.inc.ID})
		if err != nil {
			return Report{}, fmt.Errorf("read earlier incidents of %s: %w", f.inc.Service, err)
		}
		f.earlier = comparable(f.inc, list)
	}
	return build(f), nil
}

// parts reads the human parts of a postmortem row.
func (s *Service) parts(ctx context.Context, q store.Querier, r record) (Parts, error) {
	p := Parts{RootCause: r.RootCause, ContributingFactors: r.ContributingFactors, WentWell: r.WentWell,
		WentBadly: r.WentBadly, GotLucky: r.GotLucky, ActionItems: []ActionItem{}}
	if r.UpdatedAt == nil {
		return p, nil // never edited: no action items either
	}
	var err error
	p.ActionItems, err = getActionItems(ctx, q, r.IncidentID)
	return p, err
}

// readDeploys reads the suspects, the rollbacks and the deploy of each rollback.
func (s *Service) readDeploys(ctx context.Context, f *facts) error {
	f.deploys = map[int64]deploys.Deploy{}
	if s.deploys == nil {
		return nil
	}
	var err error
	if f.suspects, err = s.deploys.Suspects(ctx, f.inc.ID); err != nil {
		return err
	}
	for _, m := range f.suspects {
		f.deploys[m.Deploy.ID] = m.Deploy
	}
	if s.rollbacks == nil {
		return nil
	}
	if f.rollbacks, err = s.rollbacks.ForIncident(ctx, f.inc.ID); err != nil {
		return err
	}
	for _, rb := range f.rollbacks {
		if _, ok := f.deploys[rb.DeployID]; ok {
			continue
		}
		// A rollback of a deploy named by id rather than suspected; rare.
		d, err := s.deploys.Get(ctx, rb.DeployID)
		if err != nil {
			return fmt.Errorf("read the deploy of rollback %d: %w", rb.ID, err)
		}
		f.deploys[d.ID] = d
	}
	return nil
}

// Update applies e to the human parts of incident id's postmortem, as actor, and returns
// the postmortem. A published postmortem stays published.
func (s *Service) Update(ctx context.Context, id int64, e Edit, actor string) (Report, error) {
	err := s.db.InTx(ctx, func(q store.Querier) error {
		if _, err := s.incidents.GetTx(ctx, q, id); err != nil {
			return err
		}
		return saveEdit(ctx, q, id, e, actor, s.incidents.Now())
	})
	if err != nil {
		return Report{}, err
	}
	return s.Get(ctx, id)
}

// Publish makes incident id's postmortem published, as actor, and records it on the
// timeline; publishing it again changes nothing. The postmortem of an incident still open
// is refused with ErrIncidentOpen: its times and timeline are not final yet.
func (s *Service) Publish(ctx context.Context, id int64, actor string) (Report, error) {
	err := s.db.InTx(ctx, func(q store.Querier) error {
		inc, err := s.incidents.GetTx(ctx, q, id)
		if err != nil {
			return err
		}
		r, err := getRecord(ctx, q, id)
		if err != nil {
			return err
		}
		if r.PublishedAt != nil {
			return nil
		}
		if inc.Open() {
			return fmt.Errorf("%w: incident %d is %s; resolve it before publishing its postmortem", ErrIncidentOpen, id, inc.Status)
		}
		now := s.incidents.Now()
		first, err := markPublished(ctx, q, id, actor, now)
		if err != nil || !first {
			return err
		}
		_, err = s.incidents.RecordTx(ctx, q, inc, incidents.Event{At: now, Actor: actor, Kind: KindPublished,
			Text: "Postmortem published by " + actor + "."})
		return err
	})
	if err != nil {
		return Report{}, err
	}
	return s.Get(ctx, id)
}
