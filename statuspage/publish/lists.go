package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"firebreak/incidents"
	"firebreak/store"
)

// StringList is a list of strings kept in one text column as a JSON array; empty is [] in
// JSON.
type StringList = store.JSONList[string]

// ResolveComponents turns references to components (a name as a JSON string, an id as a
// JSON number) into ids and names, in the order given, without repeats. An unknown one is
// ErrInvalid naming it.
func (s *Service) ResolveComponents(ctx context.Context, refs []json.RawMessage) (incidents.IDList, []string, error) {
	comps, err := listComponents(ctx, s.db.R)
	if err != nil {
		return nil, nil, err
	}
	return resolve(comps, refs)
}

func resolveTx(ctx context.Context, q store.Querier, refs []json.RawMessage) (incidents.IDList, []string, error) {
	comps, err := listComponents(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	return resolve(comps, refs)
}

func resolve(comps []Component, refs []json.RawMessage) (incidents.IDList, []string, error) {
	ids := incidents.IDList{}
	var names []string
	var unknown []string
	for _, raw := range refs {
		c, ok, shown, err := lookup(comps, raw)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			unknown = append(unknown, shown)
			continue
		}
		if !containsID(ids, c.ID) {
			ids = append(ids, c.ID)
			names = append(names, c.Name)
		}
	}
	if len(unknown) > 0 {
		return nil, nil, fmt.Errorf("%w: unknown component %s", ErrInvalid, strings.Join(unknown, ", "))
	}
	return ids, names, nil
}

// lookup finds the component one reference names; shown is the reference for a message.
func lookup(comps []Component, raw json.RawMessage) (c Component, ok bool, shown string, err error) {
	var name string
	if json.Unmarshal(raw, &name) == nil {
		for _, c := range comps {
			if c.Name == name {
				return c, true, "", nil
			}
		}
		return Component{}, false, strconv.Quote(name), nil
	}
	var id int64
	if json.Unmarshal(raw, &id) == nil {
		for _, c := range comps {
			if c.ID == id {
				return c, true, "", nil
			}
		}
		return Component{}, false, strconv.FormatInt(id, 10), nil
	}
	return Component{}, false, "", fmt.Errorf("%w: a component is named by its name (a string) or its id (a number), not %s", ErrInvalid, raw)
}

func containsID(ids incidents.IDList, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
