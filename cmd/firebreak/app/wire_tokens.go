package app

import (
	"context"
	"fmt"

	"firebreak/config"
	"firebreak/store"
	"firebreak/tokens"
)

// wireTokens loads the bootstrap tokens of the config file and, when the database has no
// admin token yet, creates one and prints it once to opts.Stdout.
func wireTokens(ctx context.Context, db *store.DB, cfg config.Config, opts Options) (*tokens.Store, error) {
	ts := tokens.NewStore(db, opts.Now)
	for _, t := range cfg.Tokens {
		scopes, err := tokens.ParseScopes(t.Scopes)
		if err != nil {
			return nil, fmt.Errorf("token %q: %w", t.Name, err)
		}
		ts.AddStatic(t.Name, t.Token, scopes)
	}
	plain, created, err := ts.EnsureAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if created {
		fmt.Fprintf(opts.Stdout, "Generated an admin token; it is shown only this once:\n\n    %s\n\n", plain)
	}
	return ts, nil
}
