// Command firebreak is the whole platform in one binary: `firebreak serve` runs it, the
// other subcommands administer it. Each subcommand lives in its own file as a run function.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `firebreak: incident response and status pages for Alertmanager users

Usage:
  firebreak serve [--config firebreak.yaml]
  firebreak migrate [--config firebreak.yaml]
  firebreak token create --name N --scopes a,b [--config firebreak.yaml]
  firebreak deploy record --service S --env E --version V [--previous V0] [--commit SHA] [--url U] [--author A]
      (talks to the API: FIREBREAK_URL, FIREBREAK_TOKEN)
  firebreak version
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()})))
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], stdout)
	case "migrate":
		err = runMigrate(ctx, args[1:], stdout)
	case "token":
		err = runToken(ctx, args[1:], stdout)
	case "deploy":
		err = runDeploy(ctx, args[1:], stdout)
	case "version", "--version", "-v":
		err = runVersion(stdout)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "firebreak: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "firebreak %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// logLevel reads FIREBREAK_LOG_LEVEL (debug, info, warn, error); info by default.
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("FIREBREAK_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
