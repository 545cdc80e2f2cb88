package app

import (
	"context"
	"errors"
	"fmt"

	"firebreak/config"
	"firebreak/store"
	"firebreak/tokens"
)

// wireTokens loads the bootstrap tokens of the config file and, when neither they nor the
// database hold an admin-scoped token, creates one and writes it to the admin-token file
// (adminTokenPath). Build runs before the listener opens, so the file is there before
// /-/ready answers.
func wireTokens(ctx context.Context, db *store.DB, cfg config.Config, opts Options) (*tokens.Store, error) {
	ts := tokens.NewStore(db, opts.Now)
	for _, t := range cfg.Tokens {
		scopes, err := tokens.ParseScopes(t.Scopes)
		if err != nil {
			return nil, fmt.Errorf("token %q: %w", t.Name, err)
		}
		ts.AddStatic(t.Name, t.Token, scopes)
	}
	if ts.HasStaticAdmin() {
		return ts, nil
	}
	plain, created, err := ts.EnsureAdmin(ctx)
	if err != nil || !created {
		return ts, err
	}
	path, err := adminTokenPath(cfg, opts.WorkDir)
	if err == nil {
		err = writePrivateFile(path, []byte(plain+"\n"))
	}
	if err != nil {
		// Without the file nobody knows the token, and the next start would find it and
		// generate none: take it back so that start tries again.
		if rerr := ts.Revoke(ctx, tokens.AdminName); rerr != nil {
			err = errors.Join(err, fmt.Errorf("take back the admin token nobody can read: %w", rerr))
		}
		return nil, fmt.Errorf("write the generated admin token: %w", err)
	}
	opts.Log.Warn("generated an admin token: it is in the file named here, readable by this user only; "+
		"keep it somewhere safe, then delete the file", "file", path)
	return ts, nil
}
