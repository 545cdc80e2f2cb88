package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// The usage texts are built from the commands list and each command's flag set, so a flag
// added to a command appears in `firebreak help` and in the command's -h at once.

const intro = "firebreak: incident response and status pages for Alertmanager users\n"

const mainFooter = `
Flags may come before or after a command's arguments. -h or --help after any command
prints its usage and the meaning of each flag; so does ` + "`firebreak help COMMAND`" + `.

Environment:
  FIREBREAK_DATABASE_URL  database to use, over the config file (postgres:// selects PostgreSQL)
  FIREBREAK_LISTEN        address serve listens on, over the config file
  FIREBREAK_URL, FIREBREAK_TOKEN
                          the API deploy record talks to, and its token (deploys:write)
  FIREBREAK_LOG_LEVEL     debug, info (default), warn or error
  FIREBREAK_DEBUG_LISTEN  serve also serves Go's profiler here (for example 127.0.0.1:6060)

Exit status: 0 on success, 1 when the command failed, 2 when the command line was wrong.
`

// printMain prints the top-level usage: every command with its flags.
func printMain(w io.Writer) {
	fmt.Fprint(w, intro+"\nUsage:\n")
	for _, c := range commands {
		printEntry(w, c)
	}
	fmt.Fprint(w, "  firebreak help [COMMAND]\n      prints a command's usage and the meaning of each of its flags\n")
	fmt.Fprint(w, mainFooter)
}

// printGroup prints the usage of the commands under name (`firebreak token`).
func printGroup(w io.Writer, name string) {
	fmt.Fprint(w, "Usage:\n")
	cmds := group(name)
	for _, c := range cmds {
		printEntry(w, c)
	}
	fmt.Fprintf(w, "\nRun `firebreak help %s` for its flags and their meaning.\n", cmds[0].path)
}

// printEntry prints a command's usage line and summary, as the command lists show them.
func printEntry(w io.Writer, c *command) {
	fmt.Fprintf(w, "  %s\n      %s\n", wrap(c.synopsisParts(), usageWidth-2, "      "), c.summary)
}

// usageWidth is where usage lines wrap, to stay readable in an 80- to 100-column terminal.
const usageWidth = 96

// wrap joins words with spaces, breaking the line before a word that would pass width
// and indenting the lines after the first with indent.
func wrap(words []string, width int, indent string) string {
	var b strings.Builder
	line := 0
	for i, word := range words {
		switch {
		case i == 0:
		case line+1+len(word) > width:
			b.WriteString("\n" + indent)
			line = len(indent)
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(word)
		line += len(word)
	}
	return b.String()
}

// printUsage prints a command's full usage: its usage line, what it does, and every flag
// with its meaning.
func (c *command) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", wrap(c.synopsisParts(), usageWidth, "         "), capitalize(c.summary)+".")
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", c.about)
	}
	fs, _ := c.flagSet()
	where := ""
	if c.nargs > 0 {
		where = " (before or after " + c.args + ")"
	}
	fmt.Fprintf(w, "\nFlags%s:\n", where)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range c.orderedFlags(fs) {
		meta, help := flag.UnquoteUsage(f)
		if c.isRequired(f.Name) {
			help += " (required)"
		} else if f.DefValue != "" && f.DefValue != "false" {
			help += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(tw, "  --%s\t%s\n", strings.TrimSpace(f.Name+" "+metavar(f, meta)), help)
	}
	fmt.Fprintf(tw, "  -h, --help\tprint this help and exit\n")
	tw.Flush()
}

// synopsis is the command's usage line.
func (c *command) synopsis() string { return strings.Join(c.synopsisParts(), " ") }

// synopsisParts are the pieces of the usage line, each kept whole when the line wraps:
// the command, required flags, arguments, then optional flags.
func (c *command) synopsisParts() []string {
	fs, _ := c.flagSet()
	parts := []string{"firebreak " + c.path}
	var optional []string
	for _, f := range c.orderedFlags(fs) {
		meta, _ := flag.UnquoteUsage(f)
		one := strings.TrimSpace("--" + f.Name + " " + metavar(f, meta))
		if c.isRequired(f.Name) {
			parts = append(parts, one)
		} else {
			optional = append(optional, "["+one+"]")
		}
	}
	if c.args != "" {
		parts = append(parts, c.args)
	}
	return append(parts, optional...)
}

// orderedFlags returns the required flags in their listed order, then the others by name.
func (c *command) orderedFlags(fs *flag.FlagSet) []*flag.Flag {
	var out []*flag.Flag
	for _, name := range c.required {
		out = append(out, fs.Lookup(name))
	}
	fs.VisitAll(func(f *flag.Flag) {
		if !c.isRequired(f.Name) {
			out = append(out, f)
		}
	})
	return out
}

func (c *command) isRequired(name string) bool { return slices.Contains(c.required, name) }

// metavar is the placeholder for a flag's value in usage texts: the `QUOTED` word of its
// help, or none for a boolean flag.
func metavar(f *flag.Flag, unquoted string) string {
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return ""
	}
	if strings.Contains(f.Usage, "`") {
		return unquoted
	}
	return strings.ToUpper(f.Name)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
