package main

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
)

// TestParseInterleavedTakesFlagsAroundArguments: flags parse the same before, between and
// after positional arguments; a value is the argument after its flag even when it starts
// with "-"; "--" ends the flags.
func TestParseInterleavedTakesFlagsAroundArguments(t *testing.T) {
	for _, c := range []struct {
		args       []string
		format     string
		verbose    bool
		positional []string
	}{
		{[]string{"12", "--format", "md"}, "md", false, []string{"12"}},
		{[]string{"--format", "md", "12"}, "md", false, []string{"12"}},
		{[]string{"-format=md", "12", "-v"}, "md", true, []string{"12"}},
		{[]string{"12", "-v", "13", "--format=html"}, "html", true, []string{"12", "13"}},
		{[]string{"--format", "-x", "12"}, "-x", false, []string{"12"}},
		{[]string{"12", "--", "--format", "md"}, "json", false, []string{"12", "--format", "md"}},
		{[]string{"-", "--format", "md"}, "md", false, []string{"-"}},
		{nil, "json", false, nil},
	} {
		fs := flag.NewFlagSet("postmortem", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		format := fs.String("format", "json", "")
		verbose := fs.Bool("v", false, "")
		positional, err := parseInterleaved(fs, c.args)
		if err != nil || *format != c.format || *verbose != c.verbose || !slices.Equal(positional, c.positional) {
			t.Errorf("%q: format %q, v %v, positional %q, %v; want %q, %v, %q",
				c.args, *format, *verbose, positional, err, c.format, c.verbose, c.positional)
		}
	}
}

// TestParseInterleavedReportsHelpAndUnknownFlags wherever they stand.
func TestParseInterleavedReportsHelpAndUnknownFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		help bool
	}{
		{[]string{"12", "-h"}, true},
		{[]string{"--help", "12"}, true},
		{[]string{"--frmat", "md", "12", "-h"}, true},
		{[]string{"12", "--frmat", "md"}, false},
		{[]string{"12", "--format"}, false}, // needs a value
	} {
		fs := flag.NewFlagSet("postmortem", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.String("format", "json", "")
		_, err := parseInterleaved(fs, c.args)
		if err == nil || errors.Is(err, flag.ErrHelp) != c.help {
			t.Errorf("%q: %v; want an error, ErrHelp: %v", c.args, err, c.help)
		}
	}
}
