package store

// DefaultPageSize is the page size of list endpoints when the caller names none.
const DefaultPageSize = 100

// Page runs a newest-first keyset query for one page: fetch is asked for limit+1 rows, so
// the extra row tells whether another page follows without a COUNT. It returns the page and
// the cursor of the next one (the last id of this page), or 0 when this is the last.
func Page[T any](limit int, fetch func(limit int) ([]T, error), id func(T) int64) ([]T, int64, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	rows, err := fetch(limit + 1)
	if err != nil {
		return nil, 0, err
	}
	if len(rows) > limit {
		rows = rows[:limit]
		return rows, id(rows[limit-1]), nil
	}
	return rows, 0, nil
}
