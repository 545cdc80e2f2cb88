// Package migrations embeds the numbered schema migrations, one folder per dialect. Both
// folders hold the same numbers; a test checks it.
package migrations

import "embed"

// FS holds sqlite/NNNN_*.sql and postgres/NNNN_*.sql.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
