package alerts

import (
	"context"
	"fmt"
	"sort"
	"time"

	"firebreak/store"
)

// NameCount counts an incident's alerts of one alert name.
type NameCount struct {
	Alertname string
	Count     int
	// FirstStartsAt is the earliest startsAt among them.
	FirstStartsAt time.Time
}

// CountByName counts an incident's alerts by alert name, most numerous first (then by
// name), for reports that need no single alert: it reads two columns, not the labels.
func CountByName(ctx context.Context, q store.Querier, incidentID int64) (total int, counts []NameCount, err error) {
	var rows []struct {
		Alertname string    `db:"alertname"`
		StartsAt  time.Time `db:"starts_at"`
	}
	err = q.SelectContext(ctx, &rows, q.Rebind(`SELECT alertname, starts_at FROM alerts WHERE incident_id = ?`), incidentID)
	if err != nil {
		return 0, nil, fmt.Errorf("count alerts of incident %d: %w", incidentID, err)
	}
	byName := map[string]int{}
	counts = []NameCount{}
	for _, r := range rows {
		i, ok := byName[r.Alertname]
		if !ok {
			i = len(counts)
			byName[r.Alertname] = i
			counts = append(counts, NameCount{Alertname: r.Alertname, FirstStartsAt: r.StartsAt.UTC()})
		}
		c := &counts[i]
		c.Count++
		if r.StartsAt.Before(c.FirstStartsAt) {
			c.FirstStartsAt = r.StartsAt.UTC()
		}
	}
	sort.SliceStable(counts, func(i, j int) bool {
		if counts[i].Count != counts[j].Count {
			return counts[i].Count > counts[j].Count
		}
		return counts[i].Alertname < counts[j].Alertname
	})
	return len(rows), counts, nil
}
