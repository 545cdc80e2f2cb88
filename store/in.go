package store

import "strings"

// In is the condition "is one of values", to follow a column in a query not yet bound, and
// its arguments: " = ANY(?::type[])" with one array parameter of sqlType on PostgreSQL,
// " IN (?, …)" with each value on SQLite. A PostgreSQL planner given hundreds of separate
// parameters on a table that grew since its last ANALYZE (an alert storm) may scan the
// table once per statement — a second for 250 fingerprints in 50,000 rows — where
// = ANY(array) keeps to the index. values must not be empty.
func In[T any](q Querier, sqlType string, values []T) (string, []any) {
	// The Querier knows its placeholders, not its dialect: "$1" is PostgreSQL's.
	if q.Rebind("?") == "$1" {
		return ` = ANY(?::` + sqlType + `[])`, []any{values}
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return ` IN (?` + strings.Repeat(", ?", len(values)-1) + `)`, args
}
