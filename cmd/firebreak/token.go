package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"firebreak/config"
	"firebreak/tokens"
)

var tokenCreateCommand = &command{
	path:     "token create",
	summary:  "creates an API token and prints it once; only its hash is stored",
	required: []string{"name", "scopes"},
	about: `Scopes: ` + tokens.Scopes(tokens.Known()).String() + `. admin allows everything; no other scope implies
another (alerts:write cannot read). The token is printed on stdout, alone on its line.`,
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		name := fs.String("name", "", "the token's `NAME`, unique; timelines and logs show it")
		scopes := fs.String("scopes", "", "what it may do, comma-separated `SCOPES` (for example alerts:write)")
		return func(ctx context.Context, stdout io.Writer, _ []string) error {
			return runTokenCreate(ctx, *cfgPath, *name, *scopes, stdout)
		}
	},
}

var tokenListCommand = &command{
	path:    "token list",
	summary: "lists the API tokens: name, scopes, when created, when last used",
	about: `Last use is written every 30 seconds by each serve replica, so it may lag by that much.
Bootstrap tokens from the config file are not listed: they are managed there.`,
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		return func(ctx context.Context, stdout io.Writer, _ []string) error {
			return runTokenList(ctx, *cfgPath, stdout)
		}
	},
}

var tokenRevokeCommand = &command{
	path:    "token revoke",
	args:    "NAME",
	nargs:   1,
	summary: "revokes the API token called NAME; every replica stops accepting it within 10 s",
	flags: func(fs *flag.FlagSet) runFunc {
		cfgPath := configFlag(fs)
		return func(ctx context.Context, stdout io.Writer, args []string) error {
			return runTokenRevoke(ctx, *cfgPath, args[0], stdout)
		}
	},
}

// revokeDelay is how long a revoked token may still work on a running replica: the
// authentication cache's lifetime in package tokens.
const revokeDelay = "10 s"

func runTokenCreate(ctx context.Context, cfgPath, name, scopeList string, stdout io.Writer) error {
	scopes, err := tokens.ParseScopes(strings.Split(scopeList, ","))
	if err != nil {
		return usageError{fmt.Sprintf("--scopes: %v", err)}
	}
	_, ts, closeDB, err := openTokens(ctx, cfgPath)
	if err != nil {
		return err
	}
	defer closeDB()
	plain, err := ts.Create(ctx, strings.TrimSpace(name), scopes)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", plain)
	return nil
}

func runTokenList(ctx context.Context, cfgPath string, stdout io.Writer) error {
	_, ts, closeDB, err := openTokens(ctx, cfgPath)
	if err != nil {
		return err
	}
	defer closeDB()
	list, err := ts.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPES\tCREATED\tLAST USED")
	for _, t := range list {
		used := "never"
		if t.LastUsedAt != nil {
			used = formatTime(*t.LastUsedAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Scopes, formatTime(t.CreatedAt), used)
	}
	return tw.Flush()
}

func runTokenRevoke(ctx context.Context, cfgPath, name string, stdout io.Writer) error {
	cfg, ts, closeDB, err := openTokens(ctx, cfgPath)
	if err != nil {
		return err
	}
	defer closeDB()
	err = ts.Revoke(ctx, name)
	switch {
	case errors.Is(err, tokens.ErrNotFound) && inConfig(cfg, name):
		return fmt.Errorf("token %q is a bootstrap token of the config file; remove it there and restart serve", name)
	case errors.Is(err, tokens.ErrNotFound):
		return fmt.Errorf("no token named %q (`firebreak token list` shows them)", name)
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "revoked token %q; running replicas stop accepting it within %s\n", name, revokeDelay)
	return nil
}

// openTokens loads the config and opens the existing database's token store; closeDB
// closes the database.
func openTokens(ctx context.Context, cfgPath string) (_ config.Config, _ *tokens.Store, closeDB func(), _ error) {
	cfg, err := loadAdminConfig(cfgPath)
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	db, err := openExistingDatabase(ctx, cfg, cfgPath)
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	return cfg, tokens.NewStore(db, time.Now), func() { db.Close() }, nil
}

// inConfig reports whether the config file declares a bootstrap token called name.
func inConfig(cfg config.Config, name string) bool {
	for _, t := range cfg.Tokens {
		if t.Name == name {
			return true
		}
	}
	return false
}

// formatTime shows a time in UTC to the second, the same on every operator's terminal.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05Z")
}
