package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"firebreak/tokens"
)

// runToken handles `firebreak token create --name N --scopes a,b`.
func runToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: firebreak token create --name N --scopes a,b")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	name := fs.String("name", "", "token name, shown in timelines")
	scopeList := fs.String("scopes", "", "comma-separated: alerts:write, deploys:write, incidents:write, read, admin")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("--name is required")
	}
	scopes, err := tokens.ParseScopes(strings.Split(*scopeList, ","))
	if err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	plain, err := tokens.NewStore(db, time.Now).Create(ctx, *name, scopes)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", plain)
	return nil
}
