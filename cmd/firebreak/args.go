package main

import (
	"flag"
	"fmt"
	"strings"
)

// parseInterleaved parses args into fs, taking flags before, between or after the
// positional arguments, and returns the positional arguments in order. Go's flag package
// stops at the first positional argument, so `postmortem 12 --format md` would leave
// --format unparsed; people type flags after the argument as often as before it.
//
// A flag that takes a value consumes the next argument even when it starts with "-" (as
// fs.Parse does), "--name=value" is one argument, and everything after a lone "--" is
// positional. -h or --help anywhere (before a "--") gives flag.ErrHelp, whatever else the
// line holds: someone asking for help should get it even with a mistake elsewhere. An
// unknown flag is handed to fs.Parse, which reports it.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			positional = append(positional, args[i+1:]...)
			i = len(args)
		case isHelpFlag(arg) && fs.Lookup(strings.TrimLeft(arg, "-")) == nil:
			return nil, flag.ErrHelp
		case len(arg) > 1 && arg[0] == '-':
			flags = append(flags, arg)
			if takesValue(fs, arg) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default: // includes "-", which by convention names standard input
			positional = append(positional, arg)
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 { // cannot happen: only flags and their values were passed
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return positional, nil
}

// takesValue reports whether the flag argument arg ("-x", "--x") is a known flag whose
// value is the next argument: not a boolean flag, and not written as --x=value.
func takesValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	if strings.Contains(name, "=") {
		return false
	}
	f := fs.Lookup(name)
	if f == nil {
		return false // unknown: fs.Parse reports it
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}
