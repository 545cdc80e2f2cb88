package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is one subcommand: what the usage texts say about it and how to run it. Every
// command is listed in commands, so the usage texts, `firebreak help` and the dispatcher
// cannot disagree about what exists or which flags it takes.
type command struct {
	// path is how it is invoked after "firebreak": "serve", "token create".
	path string
	// args names its positional arguments in the usage line ("NAME"); nargs is how many it
	// takes, exactly.
	args  string
	nargs int
	// summary is its one line in the command lists; about is the paragraph its -h adds.
	summary string
	about   string
	// required lists the flags that must be given a non-blank value, in the order the
	// usage line shows them, before the optional ones.
	required []string
	// flags defines the command's flags on fs and returns the function that runs it with
	// their values and the positional arguments.
	flags func(fs *flag.FlagSet) runFunc
}

// runFunc runs a command with its positional arguments; its flags are already parsed.
type runFunc func(ctx context.Context, stdout io.Writer, args []string) error

// commands lists every subcommand, in the order the usage text shows them.
var commands = []*command{
	serveCommand,
	migrateCommand,
	tokenCreateCommand,
	tokenListCommand,
	tokenRevokeCommand,
	userCreateCommand,
	userListCommand,
	userDisableCommand,
	userSetPasswordCommand,
	deployRecordCommand,
	deployUpdateCommand,
	postmortemCommand,
	statusServerCommand,
	statuspageExportCommand,
	versionCommand,
}

// Exit codes: 2 is the convention for a command line that could not be understood, kept
// apart from a command that ran and failed so scripts can tell a typo from an outage.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// usageError is a mistake on the command line found after parsing (a missing required
// flag, a bad combination); it exits 2 with its one line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// find returns the command invoked as path, or nil.
func find(path string) *command {
	for _, c := range commands {
		if c.path == path {
			return c
		}
	}
	return nil
}

// group returns the commands invoked as "name SUBCOMMAND" (token create, token list, ...);
// none when name is not a group.
func group(name string) []*command {
	var out []*command
	for _, c := range commands {
		if strings.HasPrefix(c.path, name+" ") {
			out = append(out, c)
		}
	}
	return out
}

// resolve finds the command that args start with and returns it with the arguments left
// for it. When args name only a group ("token"), it returns the group's name instead.
func resolve(args []string) (c *command, groupName string, rest []string) {
	if len(args) >= 2 {
		if c := find(args[0] + " " + args[1]); c != nil {
			return c, "", args[2:]
		}
	}
	if len(args) >= 1 {
		if c := find(args[0]); c != nil {
			return c, "", args[1:]
		}
		if len(group(args[0])) > 0 {
			return nil, args[0], args[1:]
		}
	}
	return nil, "", args
}

// flagSet returns c's flags, defined on a new set that reports nothing itself: the
// dispatcher prints the messages and the usage.
func (c *command) flagSet() (*flag.FlagSet, runFunc) {
	fs := flag.NewFlagSet("firebreak "+c.path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var fn runFunc
	if c.flags != nil {
		fn = c.flags(fs)
	}
	return fs, fn
}

// execute parses c's flags and arguments and runs it, returning the exit code: -h prints
// the usage to stdout (0); an unknown flag or a wrong number of arguments prints the
// reason and the usage to stderr (2); a missing required flag prints one line (2); a
// failure prints one line (1).
func (c *command) execute(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, fn := c.flagSet()
	positional, err := parseInterleaved(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		c.printUsage(stdout)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "firebreak %s: %v\n\n", c.path, err)
		c.printUsage(stderr)
		return exitUsage
	case len(positional) != c.nargs:
		fmt.Fprintf(stderr, "firebreak %s: %s\n\n", c.path, c.argCountProblem(positional))
		c.printUsage(stderr)
		return exitUsage
	}
	if missing := c.missingRequired(fs); len(missing) > 0 {
		fmt.Fprintf(stderr, "firebreak %s: %s required (see `firebreak %s -h`)\n", c.path, listFlags(missing), c.path)
		return exitUsage
	}
	err = fn(ctx, stdout, positional)
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "firebreak %s: %v\n", c.path, err)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "firebreak %s: %v\n", c.path, err)
		return exitFail
	}
	return exitOK
}

// argCountProblem says what is wrong with the number of positional arguments.
func (c *command) argCountProblem(got []string) string {
	switch {
	case c.nargs == 0:
		return fmt.Sprintf("takes no arguments, got %q", got)
	case len(got) < c.nargs:
		return fmt.Sprintf("missing %s", c.args)
	default:
		return fmt.Sprintf("takes only %s, got %q", c.args, got)
	}
}

// missingRequired returns the required flags left unset or blank.
func (c *command) missingRequired(fs *flag.FlagSet) []string {
	var missing []string
	for _, name := range c.required {
		if strings.TrimSpace(fs.Lookup(name).Value.String()) == "" {
			missing = append(missing, "--"+name)
		}
	}
	return missing
}

// listFlags joins flag names as a sentence: "--env is", "--env and --version are".
func listFlags(names []string) string {
	switch len(names) {
	case 1:
		return names[0] + " is"
	default:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " are"
	}
}

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "--h", "-help", "--help":
		return true
	}
	return false
}
