package storetest

import (
	"context"
	"database/sql"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"

	"firebreak/store"
)

// Counting is a Querier that counts the statements run through it, so that a test can tell
// a batch of work done in a few statements from the same work done one row at a time.
type Counting struct {
	store.Querier
	mu         sync.Mutex
	statements []string
}

// Unwrap is the Querier underneath, whose transaction AfterCommit hooks into.
func (c *Counting) Unwrap() store.Querier { return c.Querier }

// N is the number of statements run so far.
func (c *Counting) N() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.statements)
}

// Matching is the number of statements run so far that contain part.
func (c *Counting) Matching(part string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.statements {
		if strings.Contains(s, part) {
			n++
		}
	}
	return n
}

func (c *Counting) count(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.statements = append(c.statements, query)
}

func (c *Counting) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.count(query)
	return c.Querier.ExecContext(ctx, query, args...)
}

func (c *Counting) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.count(query)
	return c.Querier.QueryContext(ctx, query, args...)
}

func (c *Counting) QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error) {
	c.count(query)
	return c.Querier.QueryxContext(ctx, query, args...)
}

func (c *Counting) QueryRowxContext(ctx context.Context, query string, args ...any) *sqlx.Row {
	c.count(query)
	return c.Querier.QueryRowxContext(ctx, query, args...)
}

func (c *Counting) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	c.count(query)
	return c.Querier.GetContext(ctx, dest, query, args...)
}

func (c *Counting) SelectContext(ctx context.Context, dest any, query string, args ...any) error {
	c.count(query)
	return c.Querier.SelectContext(ctx, dest, query, args...)
}
