// Command firebreak is the whole platform in one binary: `firebreak serve` runs it, the
// other subcommands administer it. Each subcommand lives in its own file as a command
// value listed in commands (command.go); the usage texts are built from that list.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()})))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printMain(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		return runHelp(args[1:], stdout, stderr)
	case "--version", "-v":
		args = append([]string{"version"}, args[1:]...)
	}
	c, groupName, rest := resolve(args)
	switch {
	case c != nil:
		return c.execute(ctx, rest, stdout, stderr)
	case groupName != "" && len(rest) > 0 && isHelpFlag(rest[0]):
		printGroup(stdout, groupName)
		return exitOK
	case groupName != "" && len(rest) == 0:
		fmt.Fprintf(stderr, "firebreak %s: which one?\n\n", groupName)
		printGroup(stderr, groupName)
		return exitUsage
	case groupName != "":
		fmt.Fprintf(stderr, "firebreak %s: unknown command %q\n\n", groupName, rest[0])
		printGroup(stderr, groupName)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "firebreak: unknown command %q\n\n", args[0])
		printMain(stderr)
		return exitUsage
	}
}

// runHelp handles `firebreak help [COMMAND]`: the usage of the command named, of a group
// of commands, or of firebreak as a whole.
func runHelp(words []string, stdout, stderr io.Writer) int {
	if len(words) == 0 {
		printMain(stdout)
		return exitOK
	}
	c, groupName, rest := resolve(words)
	switch {
	case c != nil && len(rest) == 0:
		c.printUsage(stdout)
		return exitOK
	case groupName != "" && len(rest) == 0:
		printGroup(stdout, groupName)
		return exitOK
	}
	fmt.Fprintf(stderr, "firebreak help: no command %q\n\n", strings.Join(words, " "))
	printMain(stderr)
	return exitUsage
}

// logLevel reads FIREBREAK_LOG_LEVEL (debug, info, warn, error); info by default.
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("FIREBREAK_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}
